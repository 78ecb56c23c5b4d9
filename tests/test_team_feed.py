"""The supervisors' team feed: the snapshot-then-live rule checked against every interleaving
hypothesis finds (pure), and the ``watch_teams`` command on a live server (PostgreSQL, the
Cloud API stand-in, customers and agents on real sockets): a supervisor's view, built only
from the snapshot and the frames, ends equal to the database while conversations change
underneath it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.conversations import TeamFeed
from pytake.store import UserRole

from .agent_support import PASSWORD, Desk, running_desk

TEAMS = ("1", "2")


def _columns(team: str, owner: str, status: str = "open") -> dict[str, Any]:
    return {"team_id": int(team), "owner_state": owner, "assigned_agent_id": None,
            "priority": 0, "labels": [], "status": status}


def _shown(snapshot: dict[int, dict[str, Any]], frames: list[dict[str, Any]],
           team: str) -> dict[int, tuple[str | None, str | None]]:
    view = {cid: (row["team"], row["owner"]) for cid, row in snapshot.items()}
    for frame in frames:
        data = frame["data"]
        if data["team"] == team and data["status"] != "resolved":
            view[data["conversation_id"]] = (data["team"], data["owner"])
        else:
            view.pop(data["conversation_id"], None)
    return view


class _Watcher:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def offer(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)

    def cut(self, reason: str, code: int | None = None) -> None:
        raise AssertionError(f"cut: {reason}")


changes = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from(TEAMS),
              st.sampled_from(["queued", "offered", "assigned", "resolved"])),
    min_size=0, max_size=30)


@settings(max_examples=400, deadline=None)
@given(changes, st.data())
def test_snapshot_then_live_misses_nothing_in_any_interleaving(
    writes: list[tuple[int, str, str]], data: st.DataObject
) -> None:
    """Each write commits (the database changes) and is published later; the watcher
    subscribes, reads the snapshot and goes live at points hypothesis chooses, as
    asynchronous code may interleave them. At the end, what it shows equals the database."""
    feed = TeamFeed()
    watcher = _Watcher()
    database: dict[int, dict[str, Any]] = {}
    steps: list[tuple[str, Any]] = []
    for cid, team, owner in writes:
        steps.append(("commit", (cid, team, owner)))
    # Publishing happens after the commit, in commit order, at some later point.
    order: list[tuple[str, Any]] = []
    unpublished: list[tuple[int, dict[str, Any]]] = []
    for step in steps:
        order.append(step)
    watch_at = data.draw(st.integers(0, len(order)))
    snapshot_gap = data.draw(st.integers(0, len(order) - watch_at))
    live_gap = data.draw(st.integers(0, len(order) - watch_at - snapshot_gap))
    snapshot: dict[int, dict[str, Any]] = {}

    def publish_some() -> None:
        count = data.draw(st.integers(0, len(unpublished)))
        for _ in range(count):
            cid, columns = unpublished.pop(0)
            feed.publish(cid, columns)

    for index in range(len(order) + 1):
        if index == watch_at:
            feed.subscribe(watcher, ["1"])
        if index == watch_at + snapshot_gap:
            snapshot = {cid: {"team": row["team"], "owner": row["owner"]}
                        for cid, row in database.items()
                        if row["team"] == "1" and row["status"] != "resolved"}
        if index == watch_at + snapshot_gap + live_gap:
            feed.go_live(watcher, snapshot)
        if index < len(order):
            _, (cid, team, owner) = order[index]
            status = "resolved" if owner == "resolved" else "open"
            database[cid] = {"team": team, "owner": owner, "status": status}
            unpublished.append((cid, _columns(team, owner, status)))
            publish_some()
    while unpublished:
        cid, columns = unpublished.pop(0)
        feed.publish(cid, columns)
    expected = {cid: (row["team"], row["owner"]) for cid, row in database.items()
                if row["team"] == "1" and row["status"] != "resolved"}
    assert _shown(snapshot, watcher.frames, "1") == expected


def test_a_watcher_hears_of_a_conversation_leaving_its_team_once() -> None:
    feed = TeamFeed()
    watcher = _Watcher()
    feed.subscribe(watcher, ["1"])
    feed.go_live(watcher, [7])
    feed.publish(8, _columns("2", "queued"))  # never in team 1: not sent
    feed.publish(7, _columns("2", "queued"))  # leaves team 1: sent once
    feed.publish(7, _columns("2", "assigned"))  # not ours any more
    feed.publish(9, _columns("1", "queued"))
    feed.publish(9, _columns("1", "resolved", "resolved"))
    feed.publish(9, _columns("1", "resolved", "resolved"))
    sent = [(f["data"]["conversation_id"], f["data"]["team"], f["data"]["owner"])
            for f in watcher.frames]
    assert sent == [(7, "2", "queued"), (9, "1", "queued"), (9, "1", "resolved")]
    feed.unsubscribe(watcher)
    feed.publish(10, _columns("1", "queued"))
    assert len(watcher.frames) == 3


def test_an_overflowing_buffer_cuts_the_watcher() -> None:
    feed = TeamFeed(buffer_limit=3)
    cuts: list[str] = []

    class Slow(_Watcher):
        def cut(self, reason: str, code: int | None = None) -> None:
            cuts.append(reason)

    watcher = Slow()
    feed.subscribe(watcher, ["1"])
    for cid in range(5):
        feed.publish(cid, _columns("1", "queued"))
    assert cuts and "overflowed" in cuts[0]
    feed.go_live(watcher, [])
    assert watcher.frames == []


# --- on a live server ---------------------------------------------------------------------------


async def _supervisor(desk: Desk) -> str:
    email = f"sup-{secrets.token_hex(3)}@example.com"
    await desk.edge.engine.identity.create_user(email, "Sup", UserRole.SUPERVISOR, PASSWORD)
    return email


def _apply(view: dict[int, dict[str, Any]], frames: list[dict[str, Any]], team: str) -> None:
    for frame in frames:
        data = frame["data"]
        if data["team"] == team and data["status"] != "resolved":
            view[data["conversation_id"]] = data
        else:
            view.pop(data["conversation_id"], None)


async def _database_view(desk: Desk, team: str) -> dict[int, tuple[str, str | None]]:
    from pytake.conversations import team_conversations

    rows, _ = await desk.edge.engine.db.run(team_conversations, [int(team)], 5000)
    return {int(c.id): (str(c.owner_state), None if c.assigned_agent_id is None
                        else str(c.assigned_agent_id)) for c, _customer in rows}


async def test_a_supervisor_watches_a_team_change_under_it(pg_url: str, tmp_path: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=2, PYTAKE_AGENT_OFFLINE_GRACE="30") as desk:
        team = str(desk.team_id)
        agent_email = next(iter(desk.agents))
        async with desk.connect(await _supervisor(desk)) as sup, \
                desk.connect(agent_email) as agent:
            await agent.event("presence", status="online")
            assert "watch_teams" in sup.frames[0]["commands"]
            # Agents may not watch; bad input is named.
            refused = await agent.send("watch_teams", teams=[team])
            assert refused["type"] == "rejected" and refused["code"] == "forbidden"
            for teams, code in (("x", "invalid"), ([True], "invalid"), (["999999"], "not_found")):
                bad = await sup.send("watch_teams", teams=teams)
                assert bad["type"] == "rejected" and bad["code"] == code, bad

            customer = desk.customer("Ana")
            await desk.sim.send_text(customer, "antes")
            first = await agent.event("conversation.offered")
            first_id = first["data"]["conversation_id"]

            snapshot = await sup.command("watch_teams", teams=[team])
            assert [row["conversation_id"] for row in snapshot["conversations"]] == [first_id]
            row = snapshot["conversations"][0]
            assert row["owner"] == "offered" and row["customer"]["name"] == "Ana"
            start = len(sup.frames)

            await agent.command("accept", conversation_id=first_id)
            assigned = await sup.wait_for(
                lambda f: f.get("type") == "team.conversation"
                and f["data"]["owner"] == "assigned", start=start)
            assert assigned["data"]["agent"] == str(desk.agents[agent_email])
            assert "seq" not in assigned
            await agent.command("resolve", conversation_id=first_id)
            await sup.wait_for(lambda f: f.get("type") == "team.conversation"
                               and f["data"]["status"] == "resolved", start=start)

            # Many customers at once while the supervisor watches again and again: the view
            # from the last snapshot and the frames after it equals the database.
            async def write(i: int) -> None:
                c = desk.customer(f"Cliente {i} 🌵")
                for n in range(3):
                    await desk.sim.send_text(c, f"mensagem {n}")

            async def accept_offers() -> None:
                seen = 0
                while True:
                    offers = agent.events_of("conversation.offered")
                    for offer in offers[seen:]:
                        await agent.send("accept", conversation_id=offer["data"]["conversation_id"])
                    seen = len(offers)
                    await trio.sleep(0.05)

            views: list[tuple[int, dict[int, dict[str, Any]]]] = []
            async with trio.open_nursery() as nursery:
                nursery.start_soon(accept_offers)
                async with trio.open_nursery() as writers:
                    for i in range(12):
                        writers.start_soon(write, i)
                    for _ in range(4):
                        answer = await sup.command("watch_teams", teams=[team])
                        views.append((len(sup.frames), {r["conversation_id"]: r
                                                        for r in answer["conversations"]}))
                        await trio.sleep(0.1)
                await trio.sleep(1.0)  # let offers be accepted and committed
                nursery.cancel_scope.cancel()
            await trio.sleep(0.5)
            frames_at, view = views[-1]
            _apply(view, [f for f in sup.frames[frames_at:]
                          if f.get("type") == "team.conversation"], team)
            shown = {cid: (d["owner"], d["agent"]) for cid, d in view.items()}
            assert shown == await _database_view(desk, team)
            assert len(shown) >= 12

            stop = await sup.command("watch_teams", teams=[])
            assert stop == {"teams": [], "conversations": [], "truncated": False}
            before = len(sup.frames)
            await desk.sim.send_text(desk.customer("Depois"), "oi")
            with trio.fail_after(10):
                while len(await _database_view(desk, team)) == len(shown):
                    await trio.sleep(0.05)
            await trio.sleep(0.3)
            assert not [f for f in sup.frames[before:] if f.get("type") == "team.conversation"]


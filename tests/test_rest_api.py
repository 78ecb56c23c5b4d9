"""The REST read side (conversations) and team administration, over real HTTP on loopback.

The app is the real one (``create_app`` around a running engine); data is seeded straight
into the database. PostgreSQL is shared by the whole test run, so every test makes its own
teams, users, labels and names and filters by them.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.routing import BusinessHours, QueuePolicy
from pytake.store import (
    AuditLog,
    Conversation,
    ConversationEvent,
    Customer,
    FlowExecution,
    FlowVersion,
    Message,
    Team,
    TeamMember,
    User,
)
from pytake.store import Flow as FlowRecord
from pytake.web import create_app

from ._support import brief, serving
from .test_auth_http import PASSWORD, FakeClock, bearer, make_identity

PHONE_NUMBER_ID = "420000000000099"
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- the app under test ----------------------------------------------------------------------


@attrs.define
class Api:
    engine: Engine
    client: httpx.AsyncClient
    team_changes: list[int]
    online: set[int]

    async def run(self, fn: Any, *args: Any) -> Any:
        return await self.engine.db.run(fn, *args)

    async def user(self, role: str, name: str | None = None) -> tuple[int, dict[str, str]]:
        """A new user of ``role``, signed in: its id and Authorization header."""
        email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
        info = await self.engine.identity.create_user(email, name or role.title(), role, PASSWORD)
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return info.id, bearer(response.json()["access_token"])

    async def get(self, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=headers, params=params)


@asynccontextmanager
async def rest_api(url: str, *, fail_team_changes: bool = False) -> AsyncIterator[Api]:
    engine = Engine(load_settings(environ={"PYTAKE_DATABASE_URL": url}))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            # Cheap password hashing: the tests sign many users in.
            engine.identity = make_identity(engine.db, FakeClock(datetime.now(UTC).timestamp()))
            changes: list[int] = []
            online: set[int] = set()

            async def on_team_changed(team_id: int) -> None:
                changes.append(team_id)
                if fail_team_changes:
                    raise RuntimeError("queue actor unavailable")

            def presence(user_id: int) -> str:
                return "online" if user_id in online else "offline"

            # Observe the team-change callback and choose presence (create_app wires both).
            engine.team_changed = on_team_changed  # type: ignore[method-assign]
            engine.presence = presence  # type: ignore[method-assign]
            app = create_app(engine)
            async with serving(app) as client:
                yield Api(engine, client, changes, online)
        finally:
            await engine.aclose()
            nursery.cancel_scope.cancel()


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url"))


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Api]:
    async with rest_api(db_url) as api:
        yield api


@pytest.fixture
async def pg_api(pg_url: str) -> AsyncIterator[Api]:
    async with rest_api(pg_url) as api:
        yield api


# --- seeding ---------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def make_team(session: Session, name: str | None = None) -> int:
    team = Team(name=name or unique("team"))
    session.add(team)
    session.flush()
    return team.id


def add_member(session: Session, team_id: int, user_id: int) -> None:
    session.add(TeamMember(team_id=team_id, user_id=user_id, skills=[], max_concurrent=3))


def make_conversation(
    session: Session,
    *,
    name: str | None = None,
    phone: str | None = None,
    status: str = "open",
    owner: str = "flow",
    team_id: int | None = None,
    agent_id: int | None = None,
    labels: list[str] | None = None,
    updated_at: datetime = BASE,
) -> int:
    wa_id = "55" + str(secrets.randbelow(10**11)).zfill(11)
    customer = Customer(
        business_phone_number_id=PHONE_NUMBER_ID,
        wa_id=wa_id,
        phone=phone or "+" + wa_id,
        name=name or unique("Customer"),
    )
    session.add(customer)
    session.flush()
    conversation = Conversation(
        customer_id=customer.id,
        business_phone_number_id=PHONE_NUMBER_ID,
        status=status,
        owner_state=owner,
        team_id=team_id,
        assigned_agent_id=agent_id,
        labels=labels or [],
        opened_at=BASE - timedelta(hours=1),
        resolved_at=BASE if status == "resolved" else None,
        last_customer_message_at=BASE - timedelta(minutes=5),
        updated_at=updated_at,
    )
    session.add(conversation)
    session.flush()
    return conversation.id


def ids(response: httpx.Response, key: str = "conversations") -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()[key]]


# --- conversations: listing and filters ----------------------------------------------------


async def test_list_and_filters(api: Api) -> None:
    _, admin = await api.user("admin")
    agent_id, _ = await api.user("agent")
    label = unique("vip")
    token = secrets.token_hex(4)
    digits = str(secrets.randbelow(10**4)).zfill(4)

    def seed(s: Session) -> dict[str, int]:
        team, other = make_team(s), make_team(s)
        return {
            "queued": make_conversation(
                s, owner="queued", team_id=team, labels=[label, "x"], name=f"Ana {token} Souza"
            ),
            "assigned": make_conversation(
                s, owner="assigned", team_id=team, agent_id=agent_id, labels=["x"],
                phone=f"+55 (11) 98765-{digits}",
            ),
            "resolved": make_conversation(
                s, status="resolved", owner="resolved", team_id=team, labels=[f"{label}%"]
            ),
            "other_team": make_conversation(s, owner="queued", team_id=other, labels=[label]),
            "team": team,
            "other": other,
        }

    seeded = await api.run(seed)
    team = seeded["team"]

    everything = await api.get("/api/v1/conversations", admin, team=team)
    assert set(ids(everything)) == {seeded["queued"], seeded["assigned"], seeded["resolved"]}

    item = next(
        c for c in everything.json()["conversations"] if c["id"] == seeded["assigned"]
    )
    assert item["owner"] == "assigned"
    assert item["status"] == "open"
    assert item["team_id"] == team
    assert item["assigned_agent_id"] == agent_id
    assert item["labels"] == ["x"]
    assert item["business_phone_number_id"] == PHONE_NUMBER_ID
    assert set(item["customer"]) == {"id", "name", "phone", "wa_id"}
    assert item["opened_at"] == (BASE - timedelta(hours=1)).isoformat()
    assert item["last_customer_message_at"] == (BASE - timedelta(minutes=5)).isoformat()
    assert item["resolved_at"] is None
    assert item["priority"] == 0

    open_ = await api.get("/api/v1/conversations", admin, team=team, status="open")
    assert set(ids(open_)) == {seeded["queued"], seeded["assigned"]}
    resolved = await api.get("/api/v1/conversations", admin, team=team, status="resolved")
    assert ids(resolved) == [seeded["resolved"]]
    assert resolved.json()["conversations"][0]["resolved_at"] == BASE.isoformat()
    queued = await api.get("/api/v1/conversations", admin, team=team, owner="queued")
    assert ids(queued) == [seeded["queued"]]
    by_agent = await api.get("/api/v1/conversations", admin, agent=agent_id)
    assert ids(by_agent) == [seeded["assigned"]]

    # Labels match whole elements: "vip-…%" is another label, and "%" is no wildcard.
    labelled = await api.get("/api/v1/conversations", admin, label=label)
    assert set(ids(labelled)) == {seeded["queued"], seeded["other_team"]}
    both = await api.get("/api/v1/conversations", admin, label=label, team=team)
    assert ids(both) == [seeded["queued"]]
    literal = await api.get("/api/v1/conversations", admin, label=f"{label}%")
    assert ids(literal) == [seeded["resolved"]]

    # Text search: the name, case-insensitively, and the phone with or without punctuation.
    by_name = await api.get("/api/v1/conversations", admin, q=f"ana {token.upper()}")
    assert ids(by_name) == [seeded["queued"]]
    by_phone = await api.get("/api/v1/conversations", admin, q=f"98765-{digits}")
    assert ids(by_phone) == [seeded["assigned"]]
    by_digits = await api.get("/api/v1/conversations", admin, q=f"11 98765{digits}")
    assert ids(by_digits) == [seeded["assigned"]]
    wildcard = await api.get("/api/v1/conversations", admin, q="%", team=team)
    assert ids(wildcard) == []  # "%" is searched for literally

    one = await api.get(f"/api/v1/conversations/{seeded['queued']}", admin)
    assert one.status_code == 200
    assert one.json()["customer"]["name"] == f"Ana {token} Souza"
    assert one.json()["labels"] == [label, "x"]


async def test_list_arguments_are_checked(api: Api) -> None:
    _, admin = await api.user("admin")
    cases = {
        (("status", "closed"),): "status must be one of open, resolved; got 'closed'",
        (("owner", "bot"),): (
            "owner must be one of assigned, flow, offered, queued, resolved; got 'bot'"
        ),
        (("team", "sales"),): "team must be an integer id, got 'sales'",
        (("agent", "0"),): f"agent must be an id from 1 to {2**63 - 1}, got '0'",
        (("team", str(2**63)),): f"team must be an id from 1 to {2**63 - 1}, got '{2**63}'",
        (("limit", "0"),): "limit must be between 1 and 200, got 0",
        (("limit", "201"),): "limit must be between 1 and 200, got 201",
        (("cursor", "bm9wZQ"),): "cursor is not a cursor this API handed out",
        (("cursor", "!!"),): "cursor is not a cursor this API handed out",
    }
    for params, reason in cases.items():
        response = await api.client.get(
            "/api/v1/conversations", headers=admin, params=dict(params)
        )
        assert (response.status_code, brief(response)) == (400, {"error": reason}), params

    unknown = await api.get("/api/v1/conversations/999999999", admin)
    assert (unknown.status_code, brief(unknown)) == (
        404,
        {"error": "conversation 999999999 not found"},
    )
    for path in ("messages", "events"):
        response = await api.get(f"/api/v1/conversations/999999999/{path}", admin)
        assert response.status_code == 404
    assert (await api.client.get("/api/v1/conversations")).status_code == 401


async def test_cursor_pagination_without_duplicates_or_gaps(api: Api) -> None:
    _, supervisor = await api.user("supervisor")

    def seed(s: Session) -> tuple[int, list[int]]:
        team = make_team(s)
        made = []
        for i in range(23):
            # Groups of three share a time, so the id must break ties.
            made.append(
                make_conversation(s, team_id=team, updated_at=BASE + timedelta(seconds=i // 3))
            )
        return team, made

    team, made = await api.run(seed)
    if api.engine.db.backend == "sqlite":
        # Rows written by SQL (the inbox) carry CURRENT_TIMESTAMP's format, without
        # microseconds; the ORM writes them with. Mix both at the same instants.
        def plain_text_times(s: Session) -> None:
            for conversation_id in made[::2]:
                s.execute(
                    sa.text("UPDATE conversations SET updated_at = :t WHERE id = :id"),
                    {"t": (BASE + timedelta(seconds=made.index(conversation_id) // 3))
                     .strftime("%Y-%m-%d %H:%M:%S"), "id": conversation_id},
                )

        await api.run(plain_text_times)

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"team": team, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        response = await api.get("/api/v1/conversations", supervisor, **params)
        page = ids(response)
        seen += page
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        assert len(page) == 5
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    # Newest activity first; equal times by id, highest first.
    expected = sorted(made, key=lambda c: (made.index(c) // 3, c), reverse=True)
    assert seen == expected

    exact = await api.get("/api/v1/conversations", supervisor, team=team, limit=23)
    assert (len(ids(exact)), exact.json()["next_cursor"]) == (23, None)


# --- conversations: messages and events ------------------------------------------------------


async def test_message_history_pages_back_in_time(api: Api) -> None:
    agent_id, agent = await api.user("agent")

    def seed(s: Session) -> tuple[int, list[int]]:
        conversation_id = make_conversation(s, owner="assigned", agent_id=agent_id)
        made = []
        for i in range(12):
            outbound = i % 3 == 2
            message = Message(
                conversation_id=conversation_id,
                whatsapp_message_id=f"wamid.{secrets.token_hex(10)}",
                direction="out" if outbound else "in",
                type="text",
                payload={"text": {"body": f"message {i}"}},
                status="delivered" if outbound else "received",
                sent_by_user_id=agent_id if outbound else None,
                sent_at=BASE if outbound else None,
                delivered_at=BASE if outbound else None,
                whatsapp_timestamp=BASE + timedelta(seconds=i),
                created_at=BASE + timedelta(seconds=i // 4),  # ties of four
            )
            s.add(message)
            s.flush()
            made.append(message.id)
        return conversation_id, made

    conversation_id, made = await api.run(seed)
    path = f"/api/v1/conversations/{conversation_id}/messages"
    first = await api.get(path, agent, limit=5)
    assert first.status_code == 200
    newest = first.json()["messages"][0]
    assert newest["id"] == made[-1]
    assert newest["payload"] == {"text": {"body": "message 11"}}
    assert (newest["direction"], newest["sent_by_user_id"]) == ("out", agent_id)
    assert (newest["status"], newest["type"]) == ("delivered", "text")
    assert newest["delivered_at"] == BASE.isoformat()
    assert newest["created_at"] == (BASE + timedelta(seconds=2)).isoformat()
    assert newest["whatsapp_timestamp"] == (BASE + timedelta(seconds=11)).isoformat()
    assert newest["whatsapp_message_id"].startswith("wamid.")
    inbound = first.json()["messages"][1]
    assert (inbound["direction"], inbound["status"]) == ("in", "received")
    assert (inbound["sent_by_user_id"], inbound["sent_at"], inbound["read_at"]) == (None,) * 3
    assert {"played_at", "failed_at", "error_code", "error_details"} <= set(inbound)

    seen = ids(first, "messages")
    cursor = first.json()["next_cursor"]
    while cursor:
        response = await api.get(path, agent, limit=5, before=cursor)
        seen += ids(response, "messages")
        cursor = response.json()["next_cursor"]
    assert seen == list(reversed(made))

    bad = await api.get(path, agent, before="xyz")
    assert brief(bad) == {"error": "before is not a cursor this API handed out"}


async def test_events_in_seq_order_with_notes(api: Api) -> None:
    _, admin = await api.user("admin")

    def seed(s: Session) -> int:
        conversation_id = make_conversation(s, owner="assigned")
        kinds = ["handoff", "offered", "accepted", "note", "labelled"]
        for seq, kind in reversed(list(enumerate(kinds, start=1))):
            s.add(
                ConversationEvent(
                    conversation_id=conversation_id,
                    seq=seq,
                    type=kind,
                    payload={"text": "call back after 5"} if kind == "note" else {},
                    at=BASE + timedelta(seconds=seq),
                )
            )
        return conversation_id

    conversation_id = await api.run(seed)
    path = f"/api/v1/conversations/{conversation_id}/events"
    everything = await api.get(path, admin)
    assert everything.status_code == 200
    events = everything.json()["events"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert events[3]["type"] == "note"
    assert events[3]["payload"] == {"text": "call back after 5"}
    assert events[0]["at"] == (BASE + timedelta(seconds=1)).isoformat()
    assert everything.json()["has_more"] is False

    page = await api.get(path, admin, after_seq=1, limit=2)
    assert ([e["seq"] for e in page.json()["events"]], page.json()["has_more"]) == ([2, 3], True)
    rest = await api.get(path, admin, after_seq=3)
    assert [e["seq"] for e in rest.json()["events"]] == [4, 5]
    bad = await api.get(path, admin, after_seq=-1)
    assert brief(bad) == {"error": "after_seq must be between 0 and 4611686018427387904, got -1"}


# --- conversations: who sees what ------------------------------------------------------------


async def test_agents_see_only_their_own_and_their_teams_waiting(pg_api: Api) -> None:
    api = pg_api
    agent_id, agent = await api.user("agent")
    other_agent, _ = await api.user("agent")
    _, supervisor = await api.user("supervisor")

    def seed(s: Session) -> dict[str, int]:
        mine, foreign = make_team(s), make_team(s)
        add_member(s, mine, agent_id)
        add_member(s, mine, other_agent)
        return {
            "assigned_to_me_elsewhere": make_conversation(
                s, owner="assigned", team_id=foreign, agent_id=agent_id
            ),
            "resolved_by_me": make_conversation(
                s, status="resolved", owner="resolved", team_id=foreign, agent_id=agent_id
            ),
            "queued_in_my_team": make_conversation(s, owner="queued", team_id=mine),
            "offered_in_my_team": make_conversation(
                s, owner="offered", team_id=mine, agent_id=None
            ),
            "colleagues": make_conversation(
                s, owner="assigned", team_id=mine, agent_id=other_agent
            ),
            "queued_elsewhere": make_conversation(s, owner="queued", team_id=foreign),
            "in_flow": make_conversation(s, owner="flow"),
            "mine": mine,
            "foreign": foreign,
        }

    seeded = await api.run(seed)
    visible = {
        seeded[k]
        for k in (
            "assigned_to_me_elsewhere",
            "resolved_by_me",
            "queued_in_my_team",
            "offered_in_my_team",
        )
    }
    hidden = {seeded[k] for k in ("colleagues", "queued_elsewhere", "in_flow")}

    listed = await api.get("/api/v1/conversations", agent, limit=200)
    assert set(ids(listed)) == visible
    # Filters narrow what the agent may see, never widen it.
    foreign_team = await api.get("/api/v1/conversations", agent, team=seeded["foreign"])
    assert set(ids(foreign_team)) == {
        seeded["assigned_to_me_elsewhere"],
        seeded["resolved_by_me"],
    }
    assert ids(await api.get("/api/v1/conversations", agent, agent=other_agent)) == []

    for conversation_id in visible:
        for suffix in ("", "/messages", "/events"):
            response = await api.get(f"/api/v1/conversations/{conversation_id}{suffix}", agent)
            assert response.status_code == 200, (conversation_id, suffix)
    for conversation_id in hidden:
        for suffix in ("", "/messages", "/events"):
            response = await api.get(f"/api/v1/conversations/{conversation_id}{suffix}", agent)
            assert response.status_code == 403
            assert brief(response) == {
                "error": f"conversation {conversation_id} is neither assigned to you "
                "nor waiting in one of your teams",
                "code": "forbidden",
            }

    everything = await api.get(
        "/api/v1/conversations", supervisor, team=seeded["mine"], limit=200
    )
    assert set(ids(everything)) == {
        seeded["queued_in_my_team"],
        seeded["offered_in_my_team"],
        seeded["colleagues"],
    }
    colleague = await api.get(f"/api/v1/conversations/{seeded['colleagues']}", supervisor)
    assert colleague.status_code == 200

    no_token = await api.client.get(f"/api/v1/conversations/{seeded['colleagues']}/messages")
    assert (no_token.status_code, no_token.json()["code"]) == (401, "missing_token")


# --- customers -------------------------------------------------------------------------------


async def test_a_customer_profile_lists_past_conversations_and_what_flows_collected(
        api: Api) -> None:
    agent_id, agent = await api.user("agent")
    _, stranger = await api.user("agent")
    _, supervisor = await api.user("supervisor")

    def seed(s: Session) -> dict[str, int]:
        team = make_team(s)
        add_member(s, team, agent_id)
        earlier = make_conversation(s, name="Zoë Ñandú 🌵", status="resolved",
                                    owner="resolved", team_id=team)
        customer_id = s.get_one(Conversation, earlier).customer_id
        now = Conversation(customer_id=customer_id, business_phone_number_id=PHONE_NUMBER_ID,
                           status="open", owner_state="assigned", team_id=team,
                           assigned_agent_id=agent_id, labels=["vip"], opened_at=BASE)
        s.add(now)
        s.flush()
        version = _flow_version(s)
        for step, variables in enumerate(({"cpf": "111"}, {"cpf": "529.982.247-25",
                                                           "topic": "boleto"})):
            s.add(FlowExecution(conversation_id=earlier, flow_version_id=version,
                                node_key=f"n{step}", step_type="answered",
                                variables=variables))
        return {"customer": customer_id, "earlier": earlier, "now": now.id}

    seeded = await api.run(seed)
    path = f"/api/v1/customers/{seeded['customer']}"
    for headers in (agent, supervisor):
        response = await api.get(path, headers)
        assert response.status_code == 200, response.text
        profile = response.json()
        assert profile["name"] == "Zoë Ñandú 🌵" and profile["id"] == seeded["customer"]
        assert [c["id"] for c in profile["conversations"]] == [seeded["now"], seeded["earlier"]]
        latest, earlier = profile["conversations"]
        assert latest["labels"] == ["vip"] and latest["collected"] == {}
        # The variables after the last flow step, not the first.
        assert earlier["collected"] == {"cpf": "529.982.247-25", "topic": "boleto"}
        assert earlier["status"] == "resolved"
    refused = await api.get(path, stranger)
    assert refused.status_code == 403 and "customer" in brief(refused)["error"]
    missing = await api.get("/api/v1/customers/999999999", supervisor)
    assert missing.status_code == 404 and "999999999" in brief(missing)["error"]
    assert (await api.client.get(path)).status_code == 401


def _flow_version(s: Session) -> int:
    flow = FlowRecord(name=unique("flow"))
    s.add(flow)
    s.flush()
    version = FlowVersion(flow_id=flow.id, version=1, graph={}, status="published")
    s.add(version)
    s.flush()
    return version.id


# --- teams -----------------------------------------------------------------------------------


def audit_rows(team_id: int) -> Any:
    def read(s: Session) -> list[tuple[str, int | None, dict[str, Any]]]:
        rows = s.execute(
            sa.select(AuditLog.action, AuditLog.actor_user_id, AuditLog.details)
            .where(AuditLog.target_type == "team", AuditLog.target_id == str(team_id))
            .order_by(AuditLog.id)
        )
        return [(r.action, r.actor_user_id, r.details) for r in rows]

    return read


HOURS = {
    "weekly": {"monday": [["13:00", "18:00"], ["09:00", "12:00"]], "fri": [["22:00", "02:00"]]},
    "holidays": ["2026-12-25"],
    "exceptions": {"2026-12-24": [["09:00", "12:00"]]},
}


async def test_team_lifecycle_and_audit(api: Api) -> None:
    admin_id, admin = await api.user("admin")
    name = unique("Sales")
    created = await api.client.post(
        "/api/v1/teams",
        headers=admin,
        json={
            "name": f"  {name} ",
            "timezone": "America/Sao_Paulo",
            "routing_strategy": "skills",
            "business_hours": HOURS,
            "settings": {"reservation_timeout": 45, "sticky_hours": 12, "offline_policy": "keep"},
        },
    )
    assert created.status_code == 201, created.text
    team = created.json()
    team_id = team["id"]
    assert created.headers["Location"] == f"/api/v1/teams/{team_id}"
    assert team["name"] == name
    assert team["timezone"] == "America/Sao_Paulo"
    assert team["routing_strategy"] == "skills"
    # Normalized: short day names in week order, ranges sorted.
    assert team["business_hours"] == {
        "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "fri": [["22:00", "02:00"]]},
        "holidays": ["2026-12-25"],
        "exceptions": {"2026-12-24": [["09:00", "12:00"]]},
    }
    assert team["settings"] == {
        "reservation_timeout": 45.0,
        "sticky_hours": 12.0,
        "aging_per_minute": 0.0,
        "offline_policy": "keep",
        "after_hours": {"message": "", "action": "wait", "redirect_to": None},
    }
    assert team["member_count"] == 0
    assert api.team_changes == [team_id]

    # What is stored rebuilds the routing objects as they are.
    row = await api.run(lambda s: s.get(Team, team_id))
    hours = BusinessHours(timezone=row.timezone, **row.business_hours)
    assert hours.is_open(datetime(2026, 3, 2, 12, 30, tzinfo=UTC))  # Monday 09:30 in São Paulo
    policy_keys = {"reservation_timeout", "sticky_hours", "aging_per_minute"}
    QueuePolicy(**{k: v for k, v in row.settings.items() if k in policy_keys})

    duplicate = await api.client.post("/api/v1/teams", headers=admin, json={"name": name.upper()})
    assert (duplicate.status_code, brief(duplicate)) == (
        409,
        {"error": f"a team named {name.upper()!r} already exists"},
    )

    _, agent = await api.user("agent")
    listed = await api.get("/api/v1/teams", agent)
    assert team_id in [t["id"] for t in listed.json()["teams"]]
    assert (await api.get(f"/api/v1/teams/{team_id}", agent)).json() == team

    redirect_target = await api.client.post(
        "/api/v1/teams", headers=admin, json={"name": unique("Night shift")}
    )
    target_id = redirect_target.json()["id"]
    patched = await api.client.patch(
        f"/api/v1/teams/{team_id}",
        headers=admin,
        json={
            "routing_strategy": "least_busy",
            "settings": {
                "aging_per_minute": 0.5,
                "after_hours": {
                    "message": "Back at 9",
                    "action": "redirect",
                    "redirect_to": target_id,
                },
            },
        },
    )
    assert patched.status_code == 200, patched.text
    settings = patched.json()["settings"]
    assert settings["aging_per_minute"] == 0.5
    assert settings["reservation_timeout"] == 45.0  # kept
    assert settings["after_hours"] == {
        "message": "Back at 9",
        "action": "redirect",
        "redirect_to": target_id,
    }
    assert patched.json()["routing_strategy"] == "least_busy"
    assert api.team_changes == [team_id, target_id, team_id]

    unchanged = await api.client.patch(
        f"/api/v1/teams/{team_id}", headers=admin, json={"routing_strategy": "least_busy"}
    )
    assert unchanged.status_code == 200
    assert api.team_changes == [team_id, target_id, team_id]  # nothing changed, nobody told

    still_referenced = await api.client.delete(f"/api/v1/teams/{target_id}", headers=admin)
    assert still_referenced.status_code == 409
    assert f"team {team_id} ({name}) redirects to team {target_id}" in (
        still_referenced.json()["error"]
    )

    conversation_id = await api.run(lambda s: make_conversation(s, owner="queued", team_id=team_id))
    busy = await api.client.delete(f"/api/v1/teams/{team_id}", headers=admin)
    assert (busy.status_code, brief(busy)) == (
        409,
        {
            "error": f"team {team_id} has 1 open conversation(s); "
            "transfer or resolve them before deleting the team"
        },
    )

    def resolve(s: Session) -> None:
        conversation = s.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status, conversation.owner_state = "resolved", "resolved"

    await api.run(resolve)
    deleted = await api.client.delete(f"/api/v1/teams/{team_id}", headers=admin)
    assert deleted.status_code == 204
    assert api.team_changes[-1] == team_id
    gone = await api.get(f"/api/v1/teams/{team_id}", admin)
    assert (gone.status_code, brief(gone)) == (404, {"error": f"team {team_id} not found"})
    assert (await api.client.delete(f"/api/v1/teams/{team_id}", headers=admin)).status_code == 404

    rows = await api.run(audit_rows(team_id))
    assert [r[0] for r in rows] == ["team.create", "team.update", "team.delete"]
    assert all(r[1] == admin_id for r in rows)
    assert rows[0][2]["name"] == name
    assert rows[1][2]["before"]["routing_strategy"] == "skills"
    assert rows[1][2]["after"]["routing_strategy"] == "least_busy"
    assert rows[2][2] == {"name": name, "members": 0}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {"business_hours": {"weekly": {"mon": [["09:00", "25:00"]]}}},
            "business_hours: weekly[mon]: '25:00' is not a valid time of day",
        ),
        (
            {"business_hours": {"weekly": {"tue": [["09:00", "12:00"], ["11:00", "14:00"]]}}},
            "business_hours: weekly[tue]: ranges 09:00-12:00 and 11:00-14:00 overlap",
        ),
        (
            {"business_hours": {"weekly": {"funday": [["09:00", "12:00"]]}}},
            "business_hours: weekly: 'funday' is not a weekday "
            "(use mon..sun, monday..sunday or 0..6)",
        ),
        (
            {"business_hours": {"holidays": ["2026-02-30"]}},
            "business_hours: holidays: '2026-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            {"business_hours": {"weekly": {"mon": [{"from": "09:00"}]}}},
            "business_hours.weekly[mon]: {'from': '09:00'} is not a [\"HH:MM\", \"HH:MM\"] range",
        ),
        (
            {"business_hours": {"mon": [["09:00", "18:00"]]}},
            "business_hours: unknown field 'mon' (known: exceptions, holidays, weekly)",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
        (
            {"routing_strategy": "random"},
            "routing_strategy must be one of round_robin, least_busy, skills; got 'random'",
        ),
        (
            {"settings": {"reservation_timeout": 0}},
            "settings.reservation_timeout must be a number of seconds greater than 0 "
            "and at most 86400; got 0",
        ),
        (
            {"settings": {"reservation_timeout": "30"}},
            "settings.reservation_timeout must be a number of seconds greater than 0 "
            "and at most 86400; got '30'",
        ),
        (
            {"settings": {"sticky_hours": -1}},
            "settings.sticky_hours must be null or a number >= 0; got -1",
        ),
        (
            {"settings": {"aging_per_minute": True}},
            "settings.aging_per_minute must be a number >= 0; got True",
        ),
        (
            {"settings": {"offline_policy": "drop"}},
            "settings.offline_policy must be requeue or keep; got 'drop'",
        ),
        (
            {"settings": {"after_hours": {"action": "redirect"}}},
            "settings.after_hours: redirect_to is required with action 'redirect' and only then",
        ),
        (
            {"settings": {"after_hours": {"action": "wait", "redirect_to": 999999999}}},
            "settings.after_hours: redirect_to is required with action 'redirect' and only then",
        ),
        (
            {"settings": {"after_hours": {"action": "redirect", "redirect_to": 999999999}}},
            "settings.after_hours.redirect_to: team 999999999 not found",
        ),
        (
            {"settings": {"max_wait": 5}},
            "settings: unknown field 'max_wait' (known: after_hours, aging_per_minute, "
            "offline_policy, reservation_timeout, sticky_hours)",
        ),
        (
            {"colour": "blue"},
            "unknown field 'colour' (known: business_hours, name, routing_strategy, "
            "settings, timezone)",
        ),
        ({"name": "   "}, "name must be a non-empty string"),
    ],
)
async def test_team_validation(pg_api: Api, body: dict[str, Any], reason: str) -> None:
    api = pg_api
    _, admin = await api.user("admin")
    created = await api.client.post("/api/v1/teams", headers=admin, json={"name": unique("T")})
    team_id = created.json()["id"]
    api.team_changes.clear()

    create = await api.client.post(
        "/api/v1/teams", headers=admin, json={"name": unique("T"), **body}
    )
    update = await api.client.patch(f"/api/v1/teams/{team_id}", headers=admin, json=body)
    for response in (create, update):
        assert (response.status_code, brief(response)) == (422, {"error": reason})
        assert reason.startswith(response.json()["field"]) and response.json()["field"]
    assert api.team_changes == []
    assert [r[0] for r in await api.run(audit_rows(team_id))] == ["team.create"]


async def test_team_routes_check_roles_and_bodies(pg_api: Api) -> None:
    api = pg_api
    _, admin = await api.user("admin")
    _, supervisor = await api.user("supervisor")
    _, agent = await api.user("agent")
    team_id = (
        await api.client.post("/api/v1/teams", headers=admin, json={"name": unique("T")})
    ).json()["id"]

    for headers in (supervisor, agent):
        post = await api.client.post("/api/v1/teams", headers=headers, json={"name": "x"})
        assert post.status_code == 403
        patch = await api.client.patch(f"/api/v1/teams/{team_id}", headers=headers, json={})
        assert patch.status_code == 403
        delete = await api.client.delete(f"/api/v1/teams/{team_id}", headers=headers)
        assert delete.status_code == 403
    assert (await api.client.get("/api/v1/teams")).status_code == 401
    assert brief(await api.get("/api/v1/agents", agent)) == {
        "error": "this action needs role admin or supervisor; you are agent",
        "code": "forbidden",
    }
    member = await api.client.put(f"/api/v1/teams/{team_id}/members/1", headers=agent, json={})
    assert member.status_code == 403

    not_json = await api.client.post(
        "/api/v1/teams", headers={**admin, "Content-Type": "application/json"}, content=b"{"
    )
    assert (not_json.status_code, brief(not_json)) == (400, {"error": "request body must be JSON"})
    a_list = await api.client.post("/api/v1/teams", headers=admin, json=["x"])
    assert brief(a_list) == {"error": "request body must be a JSON object"}
    missing = await api.client.post("/api/v1/teams", headers=admin, json={})
    assert brief(missing) == {"error": "name must be a non-empty string"}
    unknown = await api.client.patch("/api/v1/teams/999999999", headers=admin, json={})
    assert (unknown.status_code, brief(unknown)) == (404, {"error": "team 999999999 not found"})


# --- members and agents ----------------------------------------------------------------------


async def test_members_and_agents(api: Api) -> None:
    _, admin = await api.user("admin")
    supervisor_id, supervisor = await api.user("supervisor")
    agent_id, agent = await api.user("agent", name="Zoe Agent")
    team_name = unique("Support")
    team_id = (
        await api.client.post("/api/v1/teams", headers=admin, json={"name": team_name})
    ).json()["id"]
    api.team_changes.clear()
    path = f"/api/v1/teams/{team_id}/members/{agent_id}"

    added = await api.client.put(
        path, headers=supervisor, json={"skills": ["billing", " pt-BR", "billing"]}
    )
    assert added.status_code == 201, added.text
    assert added.json()["skills"] == ["billing", "pt-BR"]
    assert added.json()["max_concurrent"] == 5
    assert (added.json()["user_id"], added.json()["role"]) == (agent_id, "agent")

    updated = await api.client.put(path, headers=admin, json={"max_concurrent": 8})
    assert updated.status_code == 200
    assert (updated.json()["skills"], updated.json()["max_concurrent"]) == (["billing", "pt-BR"], 8)
    assert api.team_changes == [team_id, team_id]

    for value, shown in ((0, "0"), (101, "101"), (2.5, "2.5"), ("3", "'3'"), (True, "True")):
        bad = await api.client.put(path, headers=admin, json={"max_concurrent": value})
        assert (bad.status_code, brief(bad)) == (
            422,
            {"error": f"max_concurrent must be an integer from 1 to 100; got {shown}"},
        )
    bad_skills = await api.client.put(path, headers=admin, json={"skills": "billing"})
    assert brief(bad_skills) == {
        "error": "skills must be a list of non-empty strings of at most 64 characters"
    }
    extra = await api.client.put(path, headers=admin, json={"role": "admin"})
    assert brief(extra) == {"error": "unknown field 'role' (known: max_concurrent, skills)"}
    no_user = await api.client.put(
        f"/api/v1/teams/{team_id}/members/999999999", headers=admin, json={}
    )
    assert (no_user.status_code, brief(no_user)) == (404, {"error": "user 999999999 not found"})
    no_team = await api.client.put(
        f"/api/v1/teams/999999999/members/{agent_id}", headers=admin, json={}
    )
    assert (no_team.status_code, brief(no_team)) == (404, {"error": "team 999999999 not found"})
    assert api.team_changes == [team_id, team_id]

    members = await api.get(f"/api/v1/teams/{team_id}/members", agent)
    assert members.status_code == 200
    assert [(m["user_id"], m["name"], m["max_concurrent"]) for m in members.json()["members"]] == [
        (agent_id, "Zoe Agent", 8)
    ]
    assert (await api.get(f"/api/v1/teams/{team_id}", agent)).json()["member_count"] == 1

    api.online.add(agent_id)
    agents = await api.get("/api/v1/agents", supervisor)
    assert agents.status_code == 200
    by_id = {a["id"]: a for a in agents.json()["agents"]}
    assert by_id[agent_id]["presence"] == "online"
    assert by_id[agent_id]["teams"] == [
        {"team_id": team_id, "team_name": team_name, "skills": ["billing", "pt-BR"],
         "max_concurrent": 8}
    ]
    assert by_id[supervisor_id]["presence"] == "offline"
    assert by_id[supervisor_id]["role"] == "supervisor"
    assert all(a["role"] in ("agent", "supervisor") for a in by_id.values())

    removed = await api.client.delete(path, headers=supervisor)
    assert removed.status_code == 204
    again = await api.client.delete(path, headers=supervisor)
    assert (again.status_code, brief(again)) == (
        404,
        {"error": f"user {agent_id} is not a member of team {team_id}"},
    )
    assert api.team_changes == [team_id, team_id, team_id]

    def memberships(s: Session) -> int:
        return len(s.scalars(sa.select(TeamMember).where(TeamMember.team_id == team_id)).all())

    assert await api.run(memberships) == 0
    rows = await api.run(audit_rows(team_id))
    assert [(r[0], r[1]) for r in rows] == [
        ("team.create", rows[0][1]),
        ("team.member_add", supervisor_id),
        ("team.member_update", rows[2][1]),
        ("team.member_remove", supervisor_id),
    ]
    assert rows[1][2] == {"user_id": agent_id, "skills": ["billing", "pt-BR"], "max_concurrent": 5}
    assert rows[2][2] == {"user_id": agent_id, "max_concurrent": 8}


async def test_a_failing_change_hook_does_not_undo_the_change(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with rest_api(sqlite_url, fail_team_changes=True) as api:
        _, admin = await api.user("admin")
        agent_id, _ = await api.user("agent")
        name = unique("T")
        created = await api.client.post("/api/v1/teams", headers=admin, json={"name": name})
        assert created.status_code == 201
        team_id = created.json()["id"]
        member = await api.client.put(
            f"/api/v1/teams/{team_id}/members/{agent_id}", headers=admin, json={}
        )
        assert member.status_code == 201
        assert api.team_changes == [team_id, team_id]
        listed = await api.get(f"/api/v1/teams/{team_id}/members", admin)
        assert [m["user_id"] for m in listed.json()["members"]] == [agent_id]

        def deactivate(s: Session) -> None:
            s.execute(sa.update(User).where(User.id == agent_id).values(active=False))

        await api.run(deactivate)
        other = (await api.client.post("/api/v1/teams", headers=admin, json={"name": unique("T")}))
        refused = await api.client.put(
            f"/api/v1/teams/{other.json()['id']}/members/{agent_id}", headers=admin, json={}
        )
        assert (refused.status_code, brief(refused)) == (
            422,
            {"error": f"user {agent_id} is deactivated and cannot join a team"},
        )
        agents = await api.get("/api/v1/agents", admin)
        assert agent_id not in [a["id"] for a in agents.json()["agents"]]
        everyone = await api.get("/api/v1/agents", admin, include_inactive="true")
        assert agent_id in [a["id"] for a in everyone.json()["agents"]]
    assert f"on_team_changed({team_id}) failed after a committed change" in caplog.text

"""Operator routes over a real engine that runs actors: tree, metrics and dead letters."""

from __future__ import annotations

import trio

from pytake.config import Settings
from pytake.engine import Engine, actor_kind
from pytake.store import Database, GroupCommitter, SqlSnapshotStore
from pytake.web import create_app

from ._support import admin_headers, serving
from .actor_fixtures import Apply, CrashOn, LogActor


async def test_tree_metrics_and_dead_letters_over_http(settings: Settings) -> None:
    engine = Engine(settings, kinds=[actor_kind(settings, LogActor, poison_threshold=2)])
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        async with serving(create_app(engine)) as client:
            admin = await admin_headers(engine)
            ref = engine.router.ref("log", "5511999990000")
            await ref.tell(Apply(1))
            await ref.tell(CrashOn(2, times=99))
            await ref.tell(Apply(3))
            with trio.fail_after(10):
                while engine.router.runtime("log").stats.handled < 2:
                    await trio.sleep(0.01)

            tree = (await client.get("/api/v1/ops/supervision", headers=admin)).json()
            assert tree["kind"] == "supervisor" and tree["id"] == "pytake"
            names = [c["id"] for c in tree["children"]]
            assert names == [
                "database-writer", "webhook-writer", "events-writer", "runtime-settings",
                "account-checks", "whatsapp-numbers", "actors", "timers", "queues", "journal",
                "whatsapp-inbox", "whatsapp-outbox", "whatsapp-media", "webhook-events",
                "data-requests", "ops-sampler",
            ]
            actors = tree["children"][names.index("actors")]
            kinds = {c["id"]: c for c in actors["children"]}
            assert set(kinds) == {"conversation", "agent", "queue", "log"}
            log_kind = kinds["log"]
            assert log_kind["kind"] == "actor-kind" and log_kind["id"] == "log"
            (actor,) = log_kind["children"]
            assert actor["id"] == "log/5511999990000"
            assert actor["restarts"] == 2 and actor["mailbox_depth"] == 0

            metrics = (await client.get("/metrics")).text
            assert 'pytake_actor_dead_letters_total{kind="log"} 1.0' in metrics
            assert 'pytake_actor_crashes_total{kind="log"} 2.0' in metrics

            body = (await client.get("/api/v1/ops/dead-letters", params={"kind": "log"},
                                      headers=admin)).json()
            (letter,) = body["dead_letters"]
            assert letter["message_type"] == "CrashOn" and letter["attempts"] == 2
            assert "RuntimeError: boom on 2" in letter["traceback"]
            other = await client.get("/api/v1/ops/dead-letters?kind=other", headers=admin)
            assert other.json()["dead_letters"] == []
            bad = await client.get("/api/v1/ops/dead-letters?limit=-1", headers=admin)
            assert bad.status_code == 400 and "limit must be between" in bad.json()["error"]
        await engine.aclose()
        nursery.cancel_scope.cancel()


async def test_clean_shutdown_drains_before_stopping(settings: Settings) -> None:
    engine = Engine(settings, kinds=[actor_kind(settings, LogActor)])
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        for n in range(500):
            engine.router.tell_nowait("log", f"c{n % 7}", Apply(n))
        await engine.aclose()
        assert not engine.ready
        assert engine.router.runtime("log").stats.handled == 500
    # the final snapshots are in the database, for the next start
    async with Database(settings.database_url) as db:
        store = SqlSnapshotStore(db, GroupCommitter(db))
        snaps = [await store.load("log", f"c{i}") for i in range(7)]
    assert sum(s.seq for s in snaps if s is not None) == 500
    assert sorted(snaps[0].data["applied"]) == list(range(0, 500, 7))  # type: ignore[union-attr]


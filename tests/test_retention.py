"""Retention: each data class is deleted once older than its limit and nothing younger is
touched (messages, media files, raw inbox bodies, agent events, webhook delivery logs, audit
rows); a message whose send is pending stays; each agent keeps its newest event; pruning the
audit log keeps its chain verifiable; batches are small; the sweeper runs every interval
(MockClock). Real PostgreSQL and SQLite, a database of each test's own."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
import trio
import trio.testing
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session

from pytake.store import (
    Actor,
    AgentEvent,
    AuditLog,
    Conversation,
    Customer,
    Database,
    InboxEntry,
    InboxState,
    Message,
    OutboxEntry,
    OutboxState,
    RetentionSweeper,
    WebhookDelivery,
    WebhookSubscription,
    record_audit,
    utcnow,
    verify_audit_chain,
)

from .test_users_api import Site, fresh_url, site  # noqa: F401  (fixtures)

OLD = timedelta(days=40)
YOUNG = timedelta(days=5)


def _seed(session: Session, agent_id: int, lone_agent_id: int) -> dict[str, list[int]]:
    now = utcnow()
    ids: dict[str, list[int]] = {}
    customer = Customer(business_phone_number_id="pn", wa_id="5511999990000", name="Zoë")
    session.add(customer)
    session.flush()
    conversation = Conversation(customer_id=customer.id, business_phone_number_id="pn")
    session.add(conversation)
    session.flush()

    def message(age: timedelta, text: str) -> Message:
        m = Message(conversation_id=conversation.id, direction="in", type="text",
                    payload={"text": {"body": text}}, status="received", created_at=now - age)
        session.add(m)
        return m

    old, young, pending = message(OLD, "velha"), message(YOUNG, "nova"), message(OLD, "fila")
    session.flush()
    session.add(OutboxEntry(message_id=pending.id, business_phone_number_id="pn",
                            recipient="5511999990000", payload={"type": "text"},
                            state=OutboxState.PENDING, created_at=now - OLD))
    ids["messages"] = [old.id, young.id, pending.id]
    inbox = [InboxEntry(body=b"{}", state=state, received_at=now - age)
             for state, age in ((InboxState.PROCESSED, OLD), (InboxState.PROCESSED, YOUNG),
                                (InboxState.PENDING, OLD))]
    session.add_all(inbox)
    # An agent's old event goes, its newest stays; an agent whose only event is old keeps it.
    events = [AgentEvent(agent_id=agent, seq=seq, type="presence", payload={}, at=now - age)
              for agent, seq, age in ((agent_id, 1, OLD), (agent_id, 2, YOUNG),
                                      (lone_agent_id, 1, OLD))]
    session.add_all(events)
    hook = WebhookSubscription(url="https://example.com/h", secret="s", events=["*"])
    session.add(hook)
    session.flush()
    deliveries = [WebhookDelivery(webhook_id=hook.id, event_type="x", event_id=f"e{i}",
                                  payload={}, at=now - age) for i, age in enumerate((OLD, YOUNG))]
    session.add_all(deliveries)
    session.flush()
    ids["inbox"] = [e.id for e in inbox]
    ids["agent_events"] = [e.id for e in events]
    ids["deliveries"] = [d.id for d in deliveries]
    return ids


def _existing(session: Session, model: Any, ids: list[int]) -> list[int]:
    return sorted(session.scalars(sa.select(model.id).where(model.id.in_(ids))))


async def test_each_class_loses_only_what_is_older_than_its_limit(
        site: Site, tmp_path: Path) -> None:  # noqa: F811
    db = site.engine.db
    lone, _, _, _ = await site.user("agent")
    ids = await db.run(_seed, site.admin_id, lone)
    media = tmp_path / "media"
    media.mkdir()
    old_file, young_file = media / "111.jpg", media / "222.jpg"
    for path in (old_file, young_file):
        path.write_bytes(b"\xff\xd8")
    stale = time.time() - OLD.total_seconds()
    os.utime(old_file, (stale, stale))

    def audit(session: Session) -> None:
        for i in range(7):
            record_audit(session, "test.old", Actor(role="cli"), target_type="n", target_id=i,
                         at=utcnow() - OLD)
        record_audit(session, "test.young", Actor(role="cli"), target_type="n", target_id=0,
                     at=utcnow() - YOUNG)

    await db.run(audit)
    registry = CollectorRegistry()
    sweeper = RetentionSweeper(db, media, lambda: dict.fromkeys(
        ("messages", "media", "inbox", "agent_events", "deliveries", "audit"), 30),
        registry=registry, batch=2, pause=0)
    # The admin's sign-in rows and the test's young row are younger than 30 days: the old
    # ones written after them are not a prefix of the chain, so the audit keeps them. A
    # database whose oldest rows are old loses them: see the next test.
    counts = await sweeper.sweep()
    assert counts["messages"] == 1 and counts["inbox"] == 1 and counts["agent_events"] == 1
    assert counts["deliveries"] == 1 and counts["media"] == 1

    def left(session: Session) -> dict[str, list[int]]:
        return {"messages": _existing(session, Message, ids["messages"]),
                "inbox": _existing(session, InboxEntry, ids["inbox"]),
                "agent_events": _existing(session, AgentEvent, ids["agent_events"]),
                "deliveries": _existing(session, WebhookDelivery, ids["deliveries"])}

    kept = await db.run(left, readonly=True)
    assert kept["messages"] == ids["messages"][1:]  # the young one, and the pending send
    assert kept["inbox"] == ids["inbox"][1:]  # the young one, and the one not processed yet
    assert kept["agent_events"] == ids["agent_events"][1:]
    assert kept["deliveries"] == ids["deliveries"][1:]
    assert not old_file.exists() and young_file.exists()
    assert registry.get_sample_value("pytake_retention_removed_total",
                                     {"data_class": "messages"}) == 1
    assert (await sweeper.sweep()) == dict.fromkeys(counts, 0)


async def test_pruning_the_audit_log_keeps_its_chain_verifiable(site: Site) -> None:  # noqa: F811
    db = site.engine.db

    def age_everything(session: Session) -> None:
        # Rows of a database that has run for a long time: the oldest are old.
        for i in range(9):
            record_audit(session, "test.more", Actor(role="cli"), target_type="n",
                         target_id=i)

    await db.run(age_everything)
    total = len(await db.run(lambda s: list(s.scalars(sa.select(AuditLog.id))), readonly=True))
    newest = utcnow()
    sweeper = RetentionSweeper(db, Path("/nonexistent"), lambda: {"audit": 1}, batch=3,
                               pause=0, clock=lambda: newest.timestamp() + 86400 + 1)
    # One day and a second later, every row is older than a day.
    counts = await sweeper.sweep()
    assert counts == {"audit": total}
    report = await db.run(verify_audit_chain, readonly=True)
    assert report.intact and report.rows == 0, report.problems

    await db.run(age_everything)
    report = await db.run(verify_audit_chain, readonly=True)
    assert report.intact and report.rows == 9, report.problems


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


async def test_the_sweeper_runs_every_interval(clock: trio.testing.MockClock) -> None:
    # Every class kept for ever: the sweeps touch no database.
    sweeper = RetentionSweeper(cast(Database, None), Path("/nonexistent"),
                               lambda: {"inbox": 0}, interval=60.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sweeper.run)
        await trio.sleep(150)
        nursery.cancel_scope.cancel()
    assert sweeper.sweeps == 2  # a minute after the start, then every minute

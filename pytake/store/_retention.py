"""Retention: each class of data deleted once older than its maximum age
(`pytake.config.RetentionSettings`), by `RetentionSweeper`, a supervised service that sweeps
every ``interval`` seconds in small batches (one short transaction each, with a pause between
them), so the message path never waits long behind it.

=================  =========================================================================
class              what goes
=================  =========================================================================
``messages``       ``messages`` rows (with their outbox rows) and finished ``outbox`` rows;
                   never a message whose send is still pending
``media``          files in the media directory, by modification time
``inbox``          raw webhook bodies once processed (``processed`` or ``dead``)
``agent_events``   agents' desk events, except each agent's newest (its seq numbering goes on)
``deliveries``     outbound webhook delivery logs
``audit``          audit rows, oldest first (``chain_seq`` order): the chain's head records
                   the last one pruned, so `verify_audit_chain` still checks what is left
=================  =========================================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs
import sqlalchemy as sa
import trio
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.orm import Session, aliased

from pytake.store._audit import GENESIS
from pytake.store._database import Database
from pytake.store._dialect import is_postgresql
from pytake.store._enums import InboxState, OutboxState
from pytake.store._models_accounts import AuditChain, AuditLog
from pytake.store._models_conversations import AgentEvent, Message
from pytake.store._models_integrations import WebhookDelivery
from pytake.store._models_runtime import InboxEntry, OutboxEntry

__all__ = ["DATA_CLASSES", "RetentionSweeper", "prune"]

log = logging.getLogger("pytake.store")

DATA_CLASSES: Final = ("messages", "media", "inbox", "agent_events", "deliveries", "audit")
_FINISHED: Final = (OutboxState.SENT, OutboxState.FAILED)
_DONE: Final = (InboxState.PROCESSED, InboxState.DEAD)
#: Seconds after start before the first sweep.
FIRST_SWEEP_AFTER: Final = 60.0


def _delete_ids(session: Session, model: Any, ids: list[int]) -> int:
    if not ids:
        return 0
    session.execute(sa.delete(model).where(model.id.in_(ids)))
    return len(ids)


def _prune_messages(session: Session, cutoff: datetime, batch: int) -> int:
    busy = sa.select(OutboxEntry.id).where(
        OutboxEntry.message_id == Message.id,
        OutboxEntry.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
    ids = list(session.scalars(
        sa.select(Message.id).where(Message.created_at < cutoff, ~sa.exists(busy))
        .order_by(Message.id).limit(batch)))
    # Their outbox rows go with them (the foreign key cascades); read receipts have none.
    outbox = list(session.scalars(
        sa.select(OutboxEntry.id).where(
            OutboxEntry.created_at < cutoff, OutboxEntry.state.in_(_FINISHED),
            sa.or_(OutboxEntry.message_id.is_(None), OutboxEntry.message_id.in_(ids)))
        .order_by(OutboxEntry.id).limit(batch)))
    _delete_ids(session, OutboxEntry, outbox)
    return _delete_ids(session, Message, ids)


def _prune_inbox(session: Session, cutoff: datetime, batch: int) -> int:
    return _delete_ids(session, InboxEntry, list(session.scalars(
        sa.select(InboxEntry.id).where(InboxEntry.received_at < cutoff,
                                       InboxEntry.state.in_(_DONE))
        .order_by(InboxEntry.id).limit(batch))))


def _prune_agent_events(session: Session, cutoff: datetime, batch: int) -> int:
    newer = aliased(AgentEvent)
    has_newer = sa.select(newer.id).where(newer.agent_id == AgentEvent.agent_id,
                                          newer.seq > AgentEvent.seq)
    return _delete_ids(session, AgentEvent, list(session.scalars(
        sa.select(AgentEvent.id).where(AgentEvent.at < cutoff, sa.exists(has_newer))
        .order_by(AgentEvent.id).limit(batch))))


def _prune_deliveries(session: Session, cutoff: datetime, batch: int) -> int:
    return _delete_ids(session, WebhookDelivery, list(session.scalars(
        sa.select(WebhookDelivery.id).where(WebhookDelivery.at < cutoff)
        .order_by(WebhookDelivery.id).limit(batch))))


def _prune_audit(session: Session, cutoff: datetime, batch: int) -> int:
    # Oldest first and only a prefix of the chain: what is left still verifies from the
    # head's record of the last row removed.
    rows = session.execute(
        sa.select(AuditLog.id, AuditLog.chain_seq, AuditLog.hash, AuditLog.at)
        .order_by(AuditLog.chain_seq).limit(batch)).all()
    prefix = []
    for row in rows:
        if row.at >= cutoff:
            break
        prefix.append(row)
    if not prefix:
        return 0
    if is_postgresql(session):
        session.execute(sa.text("SET LOCAL pytake.audit_prune = 'on'"))
    session.execute(sa.delete(AuditLog).where(AuditLog.id.in_([r.id for r in prefix])))
    chain = session.get(AuditChain, 1)
    if chain is None:  # a database whose chain was never started
        chain = AuditChain(id=1, rows=prefix[-1].chain_seq, head=prefix[-1].hash,
                           pruned_seq=0, pruned_hash=GENESIS)
        session.add(chain)
    chain.pruned_seq = prefix[-1].chain_seq
    chain.pruned_hash = prefix[-1].hash
    return len(prefix)


_PRUNERS: Final[dict[str, Callable[[Session, datetime, int], int]]] = {
    "messages": _prune_messages,
    "inbox": _prune_inbox,
    "agent_events": _prune_agent_events,
    "deliveries": _prune_deliveries,
    "audit": _prune_audit,
}


def prune(session: Session, data_class: str, cutoff: datetime, batch: int) -> int:
    """Delete up to ``batch`` rows of ``data_class`` older than ``cutoff``; how many."""
    return _PRUNERS[data_class](session, cutoff, batch)


def _prune_media(folder: Path, cutoff: float, batch: int) -> int:
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        if removed >= batch:
            break
        try:
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@attrs.define
class RetentionSweeper:
    """Deletes what is older than its class's maximum age (module docstring). ``max_age``
    gives each class's age in days (0: kept for ever); ``clock`` the wall time."""

    db: Database
    media_dir: Path
    max_age: Callable[[], dict[str, int]]
    registry: CollectorRegistry | None = None
    interval: float = 3600.0
    batch: int = 500
    #: Pause between two batches: other transactions get the database in between.
    pause: float = 0.05
    clock: Callable[[], float] = time.time
    removed: Counter = attrs.field(init=False)
    sweeps: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self.removed = Counter("pytake_retention_removed", "Rows (or media files) deleted "
                               "by retention, by data class", ["data_class"],
                               registry=self.registry)
        for name in DATA_CLASSES:
            self.removed.labels(name)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
                  ) -> None:
        task_status.started()
        # Not at once: the first minute after a start belongs to the backlog it may find.
        await trio.sleep(min(self.interval, FIRST_SWEEP_AFTER))
        while True:
            await self.sweep()
            await trio.sleep(self.interval)

    async def sweep(self) -> dict[str, int]:
        """One pass over every class with a limit; what each lost."""
        self.sweeps += 1
        counts: dict[str, int] = {}
        for name, days in self.max_age().items():
            if days <= 0:
                continue
            counts[name] = await self._sweep_class(name, days)
        if any(counts.values()):
            log.info("retention removed %s", ", ".join(f"{n} {c}" for n, c in counts.items()
                                                        if c))
        return counts

    async def _sweep_class(self, name: str, days: int) -> int:
        total = 0
        while True:
            cutoff_s = self.clock() - days * 86400
            if name == "media":
                done = await trio.to_thread.run_sync(_prune_media, self.media_dir, cutoff_s,
                                                     self.batch)
            else:
                cutoff = datetime.fromtimestamp(cutoff_s, UTC)
                done = await self.db.run(prune, name, cutoff, self.batch)
            total += done
            self.removed.labels(name).inc(done)
            if done < self.batch:
                return total
            await trio.sleep(self.pause)

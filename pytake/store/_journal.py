"""The actor journal in the database: accepted messages, replayed after a crash.

This module is the one writer of ``actor_journal``: `SqlActorJournal.append` for a message
journaled on its own, `journal_in` / `journal_many_in` for one that must commit in the same
transaction as the caller's other writes.

See :mod:`pytake.actors._journal` for the contract.  Messages are attrs classes, stored as
their cattrs-unstructured form plus their importable type name (``module:QualName``); the
types a journal may load are those registered with :meth:`SqlActorJournal.register` (so a
row cannot make PyTake import arbitrary code).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import trio
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from pytake.actors import Router, converter
from pytake.store._base import JSONValueType
from pytake.store._bulk import execute_returning, insert_returning_ids
from pytake.store._database import Database
from pytake.store._group_commit import GroupCommitter, Write
from pytake.store._models_runtime import ActorJournalEntry, ActorSnapshotRecord

log = logging.getLogger("pytake.store")

_journal: sa.Table = ActorJournalEntry.__table__  # type: ignore[assignment]
_snapshots: sa.Table = ActorSnapshotRecord.__table__  # type: ignore[assignment]


def type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


class _AppendJournal:
    name = "actor_journal.append"

    def apply_many(
        self, session: Session, params: Sequence[tuple[str, str, str, Any, Any]]
    ) -> list[int]:
        rows = [
            {"kind": kind, "actor_id": id, "message_type": name, "message": data}
            for kind, id, name, data, _ in params
        ]
        return insert_returning_ids(session, _journal, rows, frozenset({"message"}))

    def writer_params(
        self, params: tuple[str, str, str, Any, Any]
    ) -> tuple[str, str, str, Any, None]:
        # The message object is for the after-commit delivery only; its class may not be
        # importable in the writer process (an application's own ``__main__``).
        kind, id, name, data, _ = params
        return (kind, id, name, data, None)


APPEND_JOURNAL = _AppendJournal()

_INSERT_ONE = sa.text(
    "INSERT INTO actor_journal (kind, actor_id, message_type, message, created_at) "
    "VALUES (:kind, :actor_id, :message_type, :message, CURRENT_TIMESTAMP) RETURNING id"
).bindparams(sa.bindparam("message", type_=JSONValueType))
_PG_INSERT = (
    "INSERT INTO actor_journal (kind, actor_id, message_type, message, created_at) "
    "VALUES (%s, %s, %s, %s, now()) RETURNING id"
)


def journal_in(session: Session, kind: str, actor_id: str, message: Any) -> int:
    """Journal ``message`` for ``(kind, actor_id)`` in the caller's transaction (a write that
    must commit with it, such as the inbox storing a customer message); return its id.  The
    caller delivers it after the commit (`Router.deliver_journaled`)."""
    return int(session.execute(_INSERT_ONE, {
        "kind": kind, "actor_id": actor_id, "message_type": type_name(type(message)),
        "message": converter.unstructure(message),
    }).scalar_one())


def journal_many_in(cursor: Any, rows: Sequence[tuple[str, str, Any]]) -> list[int]:
    """`journal_in` for many ``(kind, actor id, message)`` on a psycopg cursor of the
    caller's transaction (the inbox's set-based path), in one pipelined statement."""
    ids = execute_returning(cursor, _PG_INSERT, [
        (kind, actor_id, type_name(type(message)), Jsonb(converter.unstructure(message)))
        for kind, actor_id, message in rows
    ])
    return [int(i) for i in ids if i is not None]


def _pending_rows(session: Session, after: int, limit: int) -> list[Any]:
    applied = (
        sa.select(_snapshots.c.journal_id)
        .where(_snapshots.c.kind == _journal.c.kind, _snapshots.c.actor_id == _journal.c.actor_id)
        .scalar_subquery()
    )
    return list(
        session.execute(
            sa.select(
                _journal.c.id,
                _journal.c.kind,
                _journal.c.actor_id,
                _journal.c.message_type,
                _journal.c.message,
            )
            .where(_journal.c.id > after, _journal.c.id > sa.func.coalesce(applied, 0))
            .order_by(_journal.c.id)
            .limit(limit)
        )
    )


def _prune(session: Session) -> int:
    applied = (
        sa.select(_snapshots.c.journal_id)
        .where(_snapshots.c.kind == _journal.c.kind, _snapshots.c.actor_id == _journal.c.actor_id)
        .scalar_subquery()
    )
    result = session.execute(sa.delete(_journal).where(_journal.c.id <= applied))
    return int(getattr(result, "rowcount", 0) or 0)


class SqlActorJournal:
    """The router's :class:`~pytake.actors.Journal`; run :meth:`run` as a service (it replays
    unapplied rows before reporting started, then prunes applied rows periodically)."""

    def __init__(
        self, db: Database, committer: GroupCommitter, router: Router, *, prune_every: float = 30.0
    ) -> None:
        self.db = db
        self.committer = committer
        self.router = router
        self.prune_every = prune_every
        self._types: dict[str, type] = {}
        self.replayed = 0
        committer.on_commit(APPEND_JOURNAL.name, self._deliver)
        router.journal = self

    def register(self, *message_types: type) -> None:
        """Allow these message classes in the journal."""
        for cls in message_types:
            self._types[type_name(cls)] = cls

    def register_former_names(self, names: dict[str, type]) -> None:
        """Also load rows stored under these names (a class that moved module since): a
        message journaled by an older version before an upgrade is still applied."""
        self._types.update(names)

    async def append(self, kind: str, id: str, message: Any) -> int:
        name = type_name(type(message))
        if name not in self._types:
            raise TypeError(f"{name} is not registered with the journal (journal.register)")
        data = converter.unstructure(message)
        result: int = await self.committer.submit(APPEND_JOURNAL, (kind, id, name, data, message))
        return result

    def _deliver(self, writes: Sequence[Write[Any, Any]]) -> None:
        # Runs in commit order, before the writers' callers wake: per actor, journal ids
        # reach the mailbox in increasing order, which the actors' dedupe relies on.
        for write in writes:
            kind, id, _, _, message = write.params
            self.router.deliver_journaled(kind, id, write.result, message)

    async def replay(self, batch: int = 5000) -> int:
        """Deliver every row above its actor's durable snapshot; return how many."""
        after, count = 0, 0
        while True:
            rows = await self.db.run(_pending_rows, after, batch, readonly=True)
            for row in rows:
                cls = self._types.get(row.message_type)
                if cls is None:
                    log.error(
                        "journal row %d has unregistered type %s; left in place",
                        row.id, row.message_type,
                    )
                    continue
                message: Any = converter.structure(row.message, cls)
                self.router.deliver_journaled(row.kind, row.actor_id, row.id, message,
                                              replayed=True)
                count += 1
            if len(rows) < batch:
                break
            after = rows[-1].id
            await trio.lowlevel.checkpoint()
        self.replayed += count
        if count:
            log.info("replayed %d journaled messages", count)
        return count

    async def prune(self) -> int:
        return await self.db.run(_prune)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.replay()
        task_status.started()
        while True:
            await trio.sleep(self.prune_every)
            try:
                await self.prune()
            except Exception:
                log.exception("pruning the actor journal failed; will retry")

"""Dead letters kept in the database, where operators can list them after a restart.

The messages themselves stay in this process's memory only (`HeldPayloads`): they may not be
serializable, and a retry after a restart could not promise more than the repr says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.actors import DeadLetter, HeldPayloads
from pytake.store._database import Database
from pytake.store._group_commit import GroupCommitter
from pytake.store._models_runtime import DeadLetterRecord

_table: sa.Table = DeadLetterRecord.__table__  # type: ignore[assignment]


class _InsertDeadLetters:
    name = "dead_letters.insert"

    def apply_many(self, session: Session, params: Sequence[DeadLetter]) -> list[int]:
        ids = session.scalars(
            sa.insert(_table).returning(_table.c.id, sort_by_parameter_order=True),
            [
                {
                    "kind": d.kind,
                    "actor_id": d.id,
                    "message_type": d.message_type,
                    "message": d.message,
                    "error": d.error,
                    "traceback": d.traceback,
                    "attempts": d.attempts,
                    "at": datetime.fromtimestamp(d.at, UTC),
                }
                for d in params
            ],
        )
        return list(ids)


INSERT_DEAD_LETTERS = _InsertDeadLetters()


def _letter(r: Any) -> DeadLetter:
    return DeadLetter(
        kind=r.kind,
        id=r.actor_id,
        message_type=r.message_type,
        message=r.message,
        error=r.error,
        traceback=r.traceback,
        attempts=r.attempts,
        at=r.at.timestamp(),
        letter_id=r.id,
    )


def _get(session: Session, letter_id: int) -> DeadLetter | None:
    row = session.execute(sa.select(_table).where(_table.c.id == letter_id)).first()
    return None if row is None else _letter(row)


def _delete(session: Session, letter_id: int) -> bool:
    deleted = session.scalars(
        sa.delete(_table).where(_table.c.id == letter_id).returning(_table.c.id)).all()
    return bool(deleted)


def _list(session: Session, limit: int, kind: str | None) -> list[DeadLetter]:
    query = sa.select(_table).order_by(_table.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(_table.c.kind == kind)
    return [_letter(r) for r in session.execute(query)]


class SqlDeadLetters:
    def __init__(self, db: Database, committer: GroupCommitter) -> None:
        self.db = db
        self.committer = committer
        self.held = HeldPayloads()

    async def add(self, letter: DeadLetter) -> None:
        # The message crosses to the writer (maybe another process) as its repr only.
        letter_id = await self.committer.submit(
            INSERT_DEAD_LETTERS, attrs.evolve(letter, payload=None))
        self.held.hold(letter_id, letter.payload)

    async def list(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]:
        return await self.db.run(_list, limit, kind, readonly=True)

    async def get(self, letter_id: int) -> DeadLetter | None:
        letter = await self.db.run(_get, letter_id, readonly=True)
        if letter is None:
            return None
        return attrs.evolve(letter, payload=self.held.get(letter_id))

    async def remove(self, letter_id: int) -> bool:
        self.held.drop(letter_id)
        return bool(await self.db.run(_delete, letter_id))

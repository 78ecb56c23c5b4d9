"""Dead letters kept in the database, where operators can list them after a restart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.actors import DeadLetter
from pytake.store._database import Database
from pytake.store._group_commit import GroupCommitter
from pytake.store._models_runtime import DeadLetterRecord

_table: sa.Table = DeadLetterRecord.__table__  # type: ignore[assignment]


class _InsertDeadLetters:
    name = "dead_letters.insert"

    def apply_many(self, session: Session, params: Sequence[DeadLetter]) -> list[None]:
        session.execute(
            sa.insert(_table),
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
        return [None] * len(params)


INSERT_DEAD_LETTERS = _InsertDeadLetters()


def _list(session: Session, limit: int, kind: str | None) -> list[DeadLetter]:
    query = sa.select(_table).order_by(_table.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(_table.c.kind == kind)
    return [
        DeadLetter(
            kind=r.kind,
            id=r.actor_id,
            message_type=r.message_type,
            message=r.message,
            error=r.error,
            traceback=r.traceback,
            attempts=r.attempts,
            at=r.at.timestamp(),
        )
        for r in session.execute(query)
    ]


class SqlDeadLetters:
    def __init__(self, db: Database, committer: GroupCommitter) -> None:
        self.db = db
        self.committer = committer

    async def add(self, letter: DeadLetter) -> None:
        await self.committer.submit(INSERT_DEAD_LETTERS, letter)

    async def list(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]:
        return await self.db.run(_list, limit, kind, readonly=True)

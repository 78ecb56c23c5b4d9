"""Actor snapshot stores: PostgreSQL/SQLite (durable), Redis (hot), and the two together.

- :class:`SqlSnapshotStore` keeps, per address, the snapshot with the highest ``seq`` (an
  upsert guarded by ``seq``, group-committed), so a late or repeated write never wins.
- :class:`RedisSnapshotStore` keeps a JSON copy per address.
- :class:`TieredSnapshotStore` writes both and reads Redis first, then the database, and
  returns the copy with the higher ``seq``: a stale Redis copy (one that missed writes while
  Redis was away, or an old server brought back) is ignored.  Redis failing costs speed, not
  correctness; the database failing raises ``StorageUnavailable``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from pytake.actors import Snapshot
from pytake.errors import StorageUnavailable
from pytake.store._bulk import driver_connection, execute_each
from pytake.store._database import Database
from pytake.store._group_commit import GroupCommitter
from pytake.store._models_runtime import ActorSnapshotRecord
from pytake.store._redis import RedisConnection

log = logging.getLogger("pytake.store")

_table: sa.Table = ActorSnapshotRecord.__table__  # type: ignore[assignment]


_PG_UPSERT = (
    "INSERT INTO actor_snapshots (kind, actor_id, schema_version, seq, journal_id, data, "
    "updated_at) VALUES (%s, %s, %s, %s, %s, %s, now()) "
    "ON CONFLICT (kind, actor_id) DO UPDATE SET schema_version = EXCLUDED.schema_version, "
    "seq = EXCLUDED.seq, journal_id = EXCLUDED.journal_id, data = EXCLUDED.data, "
    "updated_at = now() WHERE actor_snapshots.seq <= EXCLUDED.seq"
)


class _UpsertSnapshots:
    name = "actor_snapshots.upsert"

    def apply_many(self, session: Session, params: Sequence[Snapshot]) -> list[None]:
        newest: dict[tuple[str, str], Snapshot] = {}
        for snap in params:
            key = (snap.kind, snap.id)
            if key not in newest or newest[key].seq <= snap.seq:
                newest[key] = snap
        rows = [
            {
                "kind": s.kind,
                "actor_id": s.id,
                "schema_version": s.schema_version,
                "seq": s.seq,
                "journal_id": s.journal,
                "data": s.data,
            }
            for s in newest.values()
        ]
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            # A small constant statement psycopg prepares once and pipelines (see _bulk).
            connection = driver_connection(session)
            with connection.cursor() as cursor:
                execute_each(
                    cursor,
                    _PG_UPSERT,
                    [
                        (r["kind"], r["actor_id"], r["schema_version"], r["seq"],
                         r["journal_id"], Jsonb(r["data"]))
                        for r in rows
                    ],
                )
            return [None] * len(params)
        insert = sqlite.insert
        stmt = insert(_table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "actor_id"],
            set_={
                "schema_version": stmt.excluded.schema_version,
                "seq": stmt.excluded.seq,
                "journal_id": stmt.excluded.journal_id,
                "data": stmt.excluded.data,
                "updated_at": sa.func.now(),
            },
            where=_table.c.seq <= stmt.excluded.seq,
        )
        session.execute(stmt, rows)
        return [None] * len(params)


UPSERT_SNAPSHOTS = _UpsertSnapshots()


def _load_row(session: Session, kind: str, id: str) -> Snapshot | None:
    row = session.execute(
        sa.select(
            _table.c.schema_version, _table.c.seq, _table.c.journal_id, _table.c.data
        ).where(_table.c.kind == kind, _table.c.actor_id == id)
    ).first()
    if row is None:
        return None
    return Snapshot(kind, id, row.schema_version, row.seq, row.data, row.journal_id)


class SqlSnapshotStore:
    durable = True

    def __init__(self, db: Database, committer: GroupCommitter) -> None:
        self.db = db
        self.committer = committer

    async def load(self, kind: str, id: str) -> Snapshot | None:
        return await self.db.read(_load_row, kind, id)

    async def save_many(self, snapshots: Sequence[Snapshot]) -> None:
        if snapshots:
            await self.committer.submit_many(UPSERT_SNAPSHOTS, snapshots)


class RedisSnapshotStore:
    durable = True

    def __init__(self, redis: RedisConnection) -> None:
        self.redis = redis

    def _key(self, kind: str, id: str) -> str:
        return self.redis.key("snap", kind, id)

    async def load(self, kind: str, id: str) -> Snapshot | None:
        raw = await self.redis.call(lambda c: c.get(self._key(kind, id)))
        if raw is None:
            return None
        doc = json.loads(raw)
        return Snapshot(kind, id, doc["v"], doc["seq"], doc["data"], doc.get("j", 0))

    async def save_many(self, snapshots: Sequence[Snapshot]) -> None:
        if not snapshots:
            return
        values = {
            self._key(s.kind, s.id): json.dumps(
                {"v": s.schema_version, "seq": s.seq, "j": s.journal, "data": s.data},
                separators=(",", ":"),
            )
            for s in snapshots
        }
        await self.redis.call(lambda c: c.mset(values))

    async def delete(self, kind: str, ids: Sequence[str]) -> int:
        """Delete the copies of ``ids`` (a customer's erasure); how many there were.  Raises
        ``StorageUnavailable`` when Redis cannot be reached: then nothing is promised."""
        if not ids:
            return 0
        keys = [self._key(kind, id) for id in ids]
        deleted: int = await self.redis.call(lambda c: c.delete(keys))
        return deleted


class TieredSnapshotStore:
    """Redis (hot) in front of the database (durable); see the module docstring."""

    durable = True

    def __init__(self, hot: RedisSnapshotStore, cold: SqlSnapshotStore) -> None:
        self.hot = hot
        self.cold = cold
        self.hot_hits = 0
        self.hot_errors = 0

    async def load(self, kind: str, id: str) -> Snapshot | None:
        hot: Snapshot | None = None
        try:
            hot = await self.hot.load(kind, id)
        except (StorageUnavailable, ValueError, KeyError) as exc:
            self.hot_errors += 1
            log.debug("Redis snapshot read failed for %s/%s: %s", kind, id, exc)
        cold = await self.cold.load(kind, id)
        if hot is not None and (cold is None or hot.seq >= cold.seq):
            self.hot_hits += 1
            return hot
        if cold is not None:
            await self._refresh_hot([cold])
        return cold

    async def save_many(self, snapshots: Sequence[Snapshot]) -> None:
        await self.cold.save_many(snapshots)  # the durable copy first: it decides success
        await self._refresh_hot(snapshots)

    async def _refresh_hot(self, snapshots: Sequence[Snapshot]) -> None:
        try:
            await self.hot.save_many(snapshots)
        except StorageUnavailable as exc:
            self.hot_errors += 1
            log.debug("Redis snapshot write skipped: %s", exc)

"""Pooled PostgreSQL connections the server closed are replaced before use, without a
round trip per checkout (``store._database._drop_if_closed_by_server``)."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
import trio
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pytake.store import Database


def _backend_pid(session: Session) -> int:
    return int(session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pg_url: str, pids: set[int]) -> None:
    """End the backends ``pids`` and wait until the server has let them go."""
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def _pids_in_use(db: Database, count: int) -> set[int]:
    """The backends of up to ``count`` pooled connections (transactions run at once)."""
    pids: set[int] = set()

    def hold(session: Session) -> None:
        pids.add(_backend_pid(session))
        trio.from_thread.run_sync(lambda: None)  # a hop to the loop: the others start too

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(db.run, hold)
    return pids


async def test_connections_terminated_by_the_server_are_replaced(pg_url: str) -> None:
    async with Database(pg_url, max_threads=3) as db:
        before = await _pids_in_use(db, 3)
        assert before
        _terminate(pg_url, before)
        # Every pooled connection is dead; each transaction still succeeds, on a new one.
        for _ in range(6):
            pid = await db.run(_backend_pid)
            assert pid not in before
        assert await db.run(lambda s: s.execute(sa.text("SELECT 41 + 1")).scalar_one()) == 42

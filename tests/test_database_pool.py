"""Pooled PostgreSQL connections: the ones the server closed are replaced before use, without
a round trip per checkout (``store._database._drop_if_closed_by_server``), and statements are
planned for the tables as they are at each execution (``PG_PLAN_CACHE_MODE``)."""

from __future__ import annotations

from typing import Any

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


def _seq_rows_read_by_a_statement_prepared_while_empty(cursor: Any) -> int:
    """Prepare a lookup on a table known to be empty, grow the table (no ANALYZE since, as in
    a young database), and count the rows the same statement then reads sequentially."""
    cursor.execute("DROP TABLE IF EXISTS plan_probe")
    cursor.execute("CREATE TABLE plan_probe (id serial PRIMARY KEY, k text)")
    cursor.execute("CREATE INDEX ON plan_probe (k)")
    cursor.execute("ANALYZE plan_probe")  # known empty, as after autovacuum's first look
    query = "SELECT id FROM plan_probe WHERE k = ANY(%s)"
    for i in range(10):
        cursor.execute(query, ([str(i)],), prepare=True)
    cursor.execute("INSERT INTO plan_probe (k) SELECT g::text FROM generate_series(1, 20000) g")
    counted = ("SELECT coalesce(sum(seq_tup_read), 0) FROM pg_stat_xact_user_tables "
               "WHERE relname = 'plan_probe'")
    before = cursor.execute(counted).fetchone()
    cursor.execute(query, (["5"],), prepare=True)
    after = cursor.execute(counted).fetchone()
    assert before is not None and after is not None
    return int(after[0]) - int(before[0])


async def test_statements_are_planned_for_the_tables_as_they_are_now(pg_url: str) -> None:
    # Without the setting, the scenario is real: the plan kept from the empty table scans.
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as plain:
        assert _seq_rows_read_by_a_statement_prepared_while_empty(plain.cursor()) >= 20000
        plain.rollback()
    async with Database(pg_url) as db:

        def probe(session: Session) -> int:
            raw: Any = session.connection().connection.driver_connection
            read = _seq_rows_read_by_a_statement_prepared_while_empty(raw.cursor())
            session.rollback()
            return read

        assert await db.run(probe) == 0

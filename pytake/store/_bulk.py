"""Bulk inserts that return their ids, fast on PostgreSQL.

SQLAlchemy's "insertmanyvalues" renders one statement with a parameter per value (thousands
for a 500-row batch), which psycopg must parse again on every batch and cannot prepare.  On
PostgreSQL we hand psycopg a small constant statement and let ``executemany`` pipeline it
(prepared once per connection); other backends keep SQLAlchemy's way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def driver_connection(session: Session) -> Any:
    """The psycopg connection under ``session``'s transaction (PostgreSQL only)."""
    return session.connection().connection.driver_connection


def insert_returning_ids(
    session: Session,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    json_columns: frozenset[str] = frozenset(),
) -> list[int]:
    """Insert ``rows`` (all with the same keys) and return their ids, in order."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in session.execute(stmt, list(rows)).scalars()]
    sql, params = _pg_insert(table, rows, json_columns)
    with driver_connection(session).cursor() as cursor:
        ids = execute_returning(cursor, sql + " RETURNING id", params)
    stored = [int(i) for i in ids if i is not None]
    assert len(stored) == len(rows), "an INSERT ... RETURNING id returned no id"
    return stored


def insert_rows(
    session: Session,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    json_columns: frozenset[str] = frozenset(),
) -> None:
    """`insert_returning_ids` for rows whose ids nobody needs."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(sa.insert(table), list(rows))
        return
    sql, params = _pg_insert(table, rows, json_columns)
    with driver_connection(session).cursor() as cursor:
        execute_each(cursor, sql, params)


def insert_once(
    session: Session,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    unique: tuple[str, ...],
    json_columns: frozenset[str] = frozenset(),
) -> list[bool]:
    """Insert ``rows`` (all with the same keys) except those whose ``unique`` columns (a
    unique index) are taken already; per row, whether it was inserted.  Rows inserted earlier
    in the same call count as taken, so a key repeated in ``rows`` is inserted once."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=list(unique))
        return [bool(getattr(session.execute(stmt, dict(row)), "rowcount", 1)) for row in rows]
    sql, params = _pg_insert(table, rows, json_columns)
    conflict = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING id"
    with driver_connection(session).cursor() as cursor:
        return [i is not None for i in execute_returning(cursor, sql + conflict, params)]


def _pg_insert(
    table: sa.Table, rows: Sequence[Mapping[str, Any]], json_columns: frozenset[str]
) -> tuple[str, list[list[Any]]]:
    columns = list(rows[0].keys())
    sql = (
        f'INSERT INTO {table.name} ({", ".join(columns)}) '
        f'VALUES ({", ".join(["%s"] * len(columns))})'
    )
    params = [
        [Jsonb(row[c]) if c in json_columns else row[c] for c in columns] for row in rows
    ]
    return sql, params


def execute_returning(cursor: Any, sql: str, params: Sequence[Sequence[Any]]) -> list[int | None]:
    """Run ``sql`` (ending in ``RETURNING id``) once per parameter set on a psycopg cursor;
    the first column of each set's row, ``None`` where it returned none (``ON CONFLICT DO
    NOTHING``).  One set is a plain prepared execute: a pipelined ``executemany`` costs about
    2.5 times its CPU, which only pays off from a few sets on."""
    if len(params) == 1:
        cursor.execute(sql, params[0], prepare=True)
        row = cursor.fetchone()
        return [int(row[0]) if row is not None else None]
    values: list[int | None] = []
    if not params:
        return values
    cursor.executemany(sql, params, returning=True)
    while True:
        row = cursor.fetchone()
        values.append(int(row[0]) if row is not None else None)
        if not cursor.nextset():
            break
    return values


def execute_each(cursor: Any, sql: str, params: Sequence[Sequence[Any]]) -> None:
    """`execute_returning` for statements that return nothing."""
    if len(params) == 1:
        cursor.execute(sql, params[0], prepare=True)
    elif params:
        cursor.executemany(sql, params)

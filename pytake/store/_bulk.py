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
from sqlalchemy.orm import Session


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
    columns = list(rows[0].keys())
    sql = (
        f'INSERT INTO {table.name} ({", ".join(columns)}) '
        f'VALUES ({", ".join(["%s"] * len(columns))}) RETURNING id'
    )
    params = [
        [Jsonb(row[c]) if c in json_columns else row[c] for c in columns] for row in rows
    ]
    connection: Any = session.connection().connection.driver_connection
    ids: list[int] = []
    with connection.cursor() as cursor:
        cursor.executemany(sql, params, returning=True)
        while True:
            ids.append(int(cursor.fetchone()[0]))
            if not cursor.nextset():
                break
    return ids

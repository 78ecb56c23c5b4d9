"""What differs between PostgreSQL and SQLite, in one place.

Code outside ``pytake.store`` never compares dialect names: it asks here.

- `is_postgresql`: whether a session runs on PostgreSQL, for the bulk fast paths that speak
  psycopg directly (``store.execute_returning`` and friends); their portable twin is the
  SQLAlchemy statement beside them, which SQLite runs.
- `serialize`: make transactions that check-then-insert (the first admin) take turns.
- `upsert`: an INSERT with ``on_conflict_do_update`` / ``on_conflict_do_nothing``.
- `json_list_contains`: whether a JSON array column holds a value (JSONB containment on
  PostgreSQL, ``json_each`` on SQLite).
- `bytes_contain`: whether a binary column holds some bytes (``LIKE`` on a ``bytea``;
  ``instr`` on SQLite, whose ``LIKE`` never matches a blob).
- `time_key` / `time_key_value`: a timestamp column as a sort key a cursor can carry.  On
  PostgreSQL the ``timestamptz`` itself (its index serves the order); on SQLite times are text
  in two formats (``CURRENT_TIMESTAMP``'s without a fraction, the ORM's with microseconds), so
  equal instants compare unequal as stored: the key is the text brought to one format.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session

__all__ = [
    "bytes_contain",
    "is_postgresql",
    "json_list_contains",
    "serialize",
    "time_key",
    "time_key_value",
    "upsert",
]


def is_postgresql(session: Session) -> bool:
    """Whether ``session`` is bound to PostgreSQL (otherwise: SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def serialize(session: Session, name: str) -> None:
    """Hold, until ``session``'s transaction ends, a lock named ``name``: of two transactions
    that check for a row and insert it when missing, the second sees the first's row.
    PostgreSQL: a transaction-scoped advisory lock; SQLite: nothing to do, its write
    transactions already take turns (``BEGIN IMMEDIATE``)."""
    if is_postgresql(session):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                        {"name": name})


def upsert(session: Session, table: Any) -> Any:
    """An INSERT on ``table`` that has ``on_conflict_do_*`` on either backend."""
    return (postgresql.insert if is_postgresql(session) else sqlite.insert)(table)


def json_list_contains(session: Session, column: Any, value: Any) -> sa.ColumnElement[bool]:
    """``column`` (a JSON array) holds ``value`` as one of its elements."""
    if is_postgresql(session):
        # JSONB containment: labels @> '["vip"]' (a GIN index would serve it).
        return sa.type_coerce(column, JSONB).contains([value])
    # SQLite: the column is JSON text; look at its elements, not at its text.
    each = sa.func.json_each(column).table_valued("value").alias("element")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == value))


def bytes_contain(session: Session, column: Any, needle: bytes) -> sa.ColumnElement[bool]:
    """``column`` (binary) holds ``needle``.  On PostgreSQL a ``_`` or ``%`` in ``needle``
    matches more than itself: callers check each row they get (a full scan either way)."""
    if is_postgresql(session):
        return sa.type_coerce(column, sa.LargeBinary()).op("LIKE")(b"%" + needle + b"%")
    return sa.func.instr(column, sa.literal(needle, sa.LargeBinary())) > 0


def _sqlite_time_text(column: InstrumentedAttribute[datetime]) -> sa.ColumnElement[str]:
    """``YYYY-MM-DD HH:MM:SS[.f...]`` as stored, as ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    text = sa.type_coerce(column, sa.String())
    dotted = sa.case((sa.func.length(text) == 19, text + "."), else_=text)
    return sa.func.substr(dotted + "000000", 1, 26, type_=sa.String())


def time_key(backend: str, column: InstrumentedAttribute[datetime]) -> sa.ColumnElement[Any]:
    """``column`` as a sort key on ``backend`` (``"postgresql"`` or ``"sqlite"``)."""
    return _sqlite_time_text(column) if backend == "sqlite" else column.expression


def time_key_value(backend: str, text: str) -> Any:
    """The key `time_key` orders by, from its text in a cursor; ``None`` if ``text`` is not
    one (on PostgreSQL: an ISO 8601 time with its offset)."""
    if backend == "sqlite":
        return text
    try:
        key = datetime.fromisoformat(text)
    except ValueError:
        return None
    return key if key.tzinfo is not None else None

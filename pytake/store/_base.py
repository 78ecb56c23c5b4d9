"""The declarative base and the portable column types every model uses.

Rules kept by every table in ``pytake.store``:

- **One schema, two backends.** Types are chosen so the same models (and the same migrations)
  work on PostgreSQL and SQLite: `JSONType` is ``JSONB`` on PostgreSQL and JSON text on SQLite;
  `BigID` is ``BIGINT`` on PostgreSQL and ``INTEGER`` on SQLite, where only ``INTEGER PRIMARY
  KEY`` is an auto-incrementing row id.
- **Time is UTC and aware.** `UTCDateTime` refuses naive datetimes on the way in and always
  gives back aware UTC datetimes, also on SQLite, which has no time zone support.
- **Enumerations are checked strings**, never native PostgreSQL enums: adding a value is then a
  one-line constraint change instead of an ``ALTER TYPE`` that cannot run in a transaction.
- **Every constraint has a name**, from `NAMING_CONVENTION`, so later migrations can drop or
  alter it by name on both backends (SQLite batch migrations need the names).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ENUM_LENGTH",
    "NAMING_CONVENTION",
    "Base",
    "BigID",
    "JSONType",
    "JSONValueType",
    "UTCDateTime",
    "created_at_column",
    "effect_key_index",
    "enum_type",
    "json_object_column",
    "partial_unique_index",
    "updated_at_column",
    "utcnow",
]

#: Names of indexes and constraints that are not named explicitly.
NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Width of the VARCHAR columns holding enumerations.
ENUM_LENGTH: Final = 32

#: Surrogate primary keys: BIGINT on PostgreSQL, INTEGER (the row id) on SQLite.
BigID: Final = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite. Python ``None`` is SQL NULL.
JSONType: Final = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

#: Like `JSONType`, for columns whose value may itself be JSON ``null``.
JSONValueType: Final = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default of every timestamp column)."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that always round-trips aware UTC datetimes.

    Binding a naive datetime raises `ValueError`: a time without a zone is ambiguous, and
    guessing would silently shift the 24-hour customer-service window. On SQLite, which stores
    text without an offset, values are kept in UTC and get their zone back when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} (give it a time zone)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_class: type[enum.StrEnum], name: str) -> sa.Enum:
    """A ``VARCHAR`` column restricted to the values of ``enum_class`` by a CHECK constraint.

    The constraint is named ``ck_<table>_<name>``. Values (not member names) are stored, and
    plain strings equal to a value are accepted as well as members. The column is
    `ENUM_LENGTH` wide whatever the values, so a new value needs no column change.
    """
    assert all(len(member.value) <= ENUM_LENGTH for member in enum_class)
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=ENUM_LENGTH,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


def created_at_column() -> Mapped[datetime]:
    """A ``NOT NULL`` creation time, set by Python for ORM inserts and by the database otherwise."""
    return mapped_column(UTCDateTime(), default=utcnow, server_default=sa.func.now())


def updated_at_column() -> Mapped[datetime]:
    """Like `created_at_column`, and refreshed by the ORM on every update of the row."""
    return mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )


def json_object_column() -> Mapped[dict[str, Any]]:
    """A ``NOT NULL`` JSON object, ``{}`` unless given."""
    return mapped_column(JSONType, default=dict, server_default=sa.text("'{}'"))


def partial_unique_index(name: str, column: str, where: str) -> sa.Index:
    """A unique index on ``column`` over the rows where ``where`` (SQL) holds, on both
    backends."""
    return sa.Index(
        name, column, unique=True, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
    )


def effect_key_index(table: str, column: str) -> sa.Index:
    """The unique index that stores an effect once for each owner (``column``): a row's
    ``effect_key`` names what caused it (migration 0006)."""
    return sa.Index(f"ix_{table}_{column}_effect_key", column, "effect_key", unique=True)


class Base(DeclarativeBase):
    """Base class of every PyTake table; ``Base.metadata`` is the whole schema."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

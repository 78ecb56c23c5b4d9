"""`Keyset`: cursor pagination over ``(time column, id)``.

Rows come newest (or oldest) first, and the opaque cursor names the last row a page held, so
the next page starts right after it without duplicates or gaps, however many rows share a
time.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ._dialect import time_key, time_key_value

__all__ = ["Keyset"]


class Keyset:
    """Cursor pagination over ``(time, id)`` of one table, for one database backend.

    ``select`` the `column` beside the rows, order by `order_by`, filter with
    `after`, and make the next cursor with `cursor` from the last row's key and id.

    On PostgreSQL the key is the ``timestamptz`` column itself (its index serves the order).
    On SQLite times are text in two formats: ``CURRENT_TIMESTAMP``'s (rows written by SQL,
    such as the inbox's) has no fraction, the ORM's has microseconds, so equal instants
    compare unequal as stored. The key there is the text brought to the ORM's format, and the
    cursor carries that text, so order and cursor are exact (no index serves it: SQLite
    databases are small).
    """

    def __init__(
        self,
        backend: str,
        time_column: InstrumentedAttribute[datetime],
        id_column: InstrumentedAttribute[int],
    ) -> None:
        self.backend = backend
        self._id = id_column
        self.key: sa.ColumnElement[Any] = time_key(backend, time_column)

    @property
    def column(self) -> sa.Label[Any]:
        """The key to select beside the rows (labelled, so the ORM keeps it apart)."""
        return self.key.label("keyset_key")

    def order_by(self, *, descending: bool) -> tuple[sa.ColumnElement[Any], ...]:
        """The ORDER BY clauses: newest first when ``descending``, else oldest first."""
        if descending:
            return self.key.desc(), self._id.desc()
        return self.key.asc(), self._id.asc()

    def after(self, position: tuple[Any, int], *, descending: bool) -> sa.ColumnElement[bool]:
        """Rows that come after ``position`` (a decoded cursor) in that order."""
        key, row_id = position
        row = sa.tuple_(self.key, self._id)
        bound = sa.tuple_(sa.literal(key, self.key.type), sa.literal(row_id, sa.BigInteger()))
        return row < bound if descending else row > bound

    def cursor(self, key: Any, row_id: int) -> str:
        """The opaque cursor naming the row with time ``key`` (as selected) and id ``row_id``."""
        value = key.astimezone(UTC).isoformat() if isinstance(key, datetime) else key
        raw = json.dumps([value, row_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def parse(self, cursor: str) -> tuple[Any, int] | None:
        """Decode a cursor made by `cursor`; ``None`` if it is not one (anything a client
        sends: too long, not base64, not JSON, a wrong shape or time)."""
        if len(cursor) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            value, row_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            return None
        if not isinstance(value, str) or type(row_id) is not int or row_id < 1:
            return None
        key = time_key_value(self.backend, value)
        return None if key is None else (key, row_id)

"""Small helpers shared by the REST routes: query arguments, JSON bodies, times, cursors.

- `int_arg`, `optional_id_arg`, `str_arg` read a query argument or answer 400 naming it.
- `read_json_object` reads a bounded JSON object body (400 / 413 otherwise).
- `iso` formats an aware datetime as ISO 8601 in UTC.
- `keyed_page` is cursor pagination of a short listing read whole.
- `Keyset` is cursor pagination over ``(time column, id)``: rows come newest (or oldest)
  first, and the opaque cursor names the last row a page held, so the next page starts right
  after it without duplicates or gaps, however many rows share a time.

Errors are raised as werkzeug HTTP exceptions with a specific description; the app's error
handlers answer them as ``{"error": description}``. They may be raised inside a function
given to `pytake.store.Database.run` too: the transaction rolls back and the exception comes
out of ``run`` unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from quart import request
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from pytake.storable import storable
from pytake.store import time_key, time_key_value

__all__ = [
    "Keyset",
    "int_arg",
    "iso",
    "keyed_page",
    "optional_id_arg",
    "read_json_object",
    "str_arg",
]

T = TypeVar("T")

#: Longest query string argument the REST routes accept (search text, labels).
MAX_STR_ARG: Final = 200


def int_arg(name: str, default: int, maximum: int, *, minimum: int = 0) -> int:
    """The query argument ``name`` as an integer in ``[minimum, maximum]``; ``default`` when
    absent. Anything else answers 400 naming the argument."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


#: The largest id a row can have (a signed 64-bit column): larger ones name nothing, and
#: the database would refuse to compare them.
MAX_ID: Final = 2**63 - 1


def optional_id_arg(name: str) -> int | None:
    """The query argument ``name`` as a positive id, or ``None`` when absent or empty."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer id, got {raw!r}") from None
    if not 1 <= value <= MAX_ID:
        raise BadRequest(f"{name} must be an id from 1 to {MAX_ID}, got {raw!r}")
    return value


def str_arg(name: str, choices: frozenset[str] | None = None) -> str | None:
    """The query argument ``name`` (stripped), or ``None`` when absent or empty.

    With ``choices``, anything else answers 400 listing them."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if len(value) > MAX_STR_ARG:
        raise BadRequest(f"{name} must have at most {MAX_STR_ARG} characters")
    if choices is not None and value not in choices:
        allowed = ", ".join(sorted(choices))
        raise BadRequest(f"{name} must be one of {allowed}; got {value!r}")
    return value


async def read_json_object(max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object of at most ``max_bytes`` bytes.

    Raises `RequestEntityTooLarge` (413) before reading a larger body when its length is
    announced, and `BadRequest` (400) for a body that is not a JSON object."""
    if (request.content_length or 0) > max_bytes:
        raise RequestEntityTooLarge(f"request body larger than {max_bytes} bytes")
    raw = await request.get_data(as_text=False)
    if len(raw) > max_bytes:
        raise RequestEntityTooLarge(f"request body larger than {max_bytes} bytes")
    try:
        body = storable(json.loads(raw))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        raise BadRequest("request body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def iso(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 in UTC (``2026-01-01T12:00:00+00:00``), ``None`` stays ``None``."""
    return None if value is None else value.astimezone(UTC).isoformat()


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

    def parse(self, cursor: str, name: str = "cursor") -> tuple[Any, int]:
        """Decode a cursor made by `cursor`; 400 naming the argument if it is not one."""
        problem = BadRequest(f"{name} is not a cursor this API handed out")
        if len(cursor) > 200:
            raise problem
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            value, row_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise problem from None
        if not isinstance(value, str) or type(row_id) is not int or row_id < 1:
            raise problem
        key = time_key_value(self.backend, value)
        if key is None:
            raise problem
        return key, row_id


#: Default and ceiling of ``?limit=`` on the listings paginated by `keyed_page`.
DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 500
Key = tuple[str | int | float, ...]


def keyed_page(items: Iterable[T], key: Callable[[T], Key], *,
               descending: bool = False) -> tuple[list[T], str | None]:
    """One page of ``items`` in ``key`` order, after the ``cursor`` query argument, at most
    ``limit`` (default `DEFAULT_PAGE`); and the cursor of the next page (``None`` on the last).

    For the listings whose rows are few (teams, members, flows, modules): they are read whole
    and paged here, so their clients already page and a keyset in SQL can come later without
    changing the API. The cursor is the last item's key, so a row added or removed between
    two pages moves nothing else."""
    limit = int_arg("limit", DEFAULT_PAGE, MAX_PAGE, minimum=1)
    raw = str_arg("cursor")
    ordered = sorted(items, key=key, reverse=descending)
    if raw is not None:
        after = _decode_key(raw)
        try:
            ordered = [i for i in ordered if (key(i) < after if descending else key(i) > after)]
        except TypeError:  # a key of other types than this listing's
            raise BadRequest("cursor is not a cursor this API handed out") from None
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    raw_key = json.dumps(list(key(page[-1])), separators=(",", ":")).encode()
    return page, base64.urlsafe_b64encode(raw_key).rstrip(b"=").decode()


def _decode_key(cursor: str) -> Key:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, list) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        raise BadRequest("cursor is not a cursor this API handed out")
    return tuple(value)

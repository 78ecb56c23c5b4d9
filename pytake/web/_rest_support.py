"""Small helpers shared by the REST routes: query arguments, JSON bodies, times, cursors.

- `int_arg`, `optional_id_arg`, `str_arg` read a query argument or answer 400 naming it.
- `read_json_object` reads a bounded JSON object body (400 / 413 otherwise).
- `iso` formats an aware datetime as ISO 8601 in UTC.
- `keyed_page` is cursor pagination of a short listing read whole.
- `cursor_arg` reads a cursor of a `pytake.store.Keyset` (pagination over ``(time, id)``).

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

from quart import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from pytake.storable import storable
from pytake.store import Keyset

__all__ = [
    "cursor_arg",
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


def cursor_arg(order: Keyset, name: str = "cursor") -> tuple[Any, int] | None:
    """The position named by the query argument ``name`` (a cursor ``order`` handed out), or
    ``None`` when absent; 400 naming the argument when it is not such a cursor."""
    raw = str_arg(name)
    if raw is None:
        return None
    position = order.parse(raw)
    if position is None:
        raise BadRequest(f"{name} is not a cursor this API handed out")
    return position


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

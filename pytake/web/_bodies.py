"""Small JSON request bodies of known fields, checked before a route uses them: an unknown,
missing or ill-typed field is a 422 problem naming it (`InvalidField`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from quart import request

from pytake.web._rest_support import read_json_object

__all__ = ["MAX_BODY_BYTES", "InvalidField", "typed_body"]

#: Largest body these routes read (credentials, names, roles: all small).
MAX_BODY_BYTES: Final = 16 * 1024


class InvalidField(Exception):
    """A body field is refused; answered 422 with ``field`` (see `pytake.web._errors`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


async def typed_body(fields: Mapping[str, type], *, required: tuple[str, ...] = (),
                     optional_body: bool = False,
                     max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The JSON body's ``fields`` (name → type); an unknown, missing or ill-typed field is a
    422 naming it."""
    if optional_body and not await request.get_data(as_text=False):
        body: dict[str, Any] = {}
    else:
        body = await read_json_object(max_bytes)
    for name in body:
        if name not in fields:
            raise InvalidField(name, f"unknown field {name!r}; known: {', '.join(fields)}")
    for name in required:
        if name not in body:
            raise InvalidField(name, f"{name} is required")
    for name, value in body.items():
        kind = fields[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            what = "boolean" if kind is bool else "string"
            raise InvalidField(name, f"{name} must be a {what}")
    return body

"""Opaque cursors for listings ordered by something other than ``(time, id)`` (those use
`Keyset`): a cursor is the position of a page's last row, a few strings or integers, as
URL-safe base64 of their JSON. The client passes it back untouched as ``?cursor=``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final

from werkzeug.exceptions import BadRequest

from pytake.web._rest_support import MAX_ID

__all__ = ["decode_cursor", "encode_cursor"]

_MAX_CURSOR: Final = 200


def encode_cursor(*position: str | int) -> str:
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, shape: tuple[type, ...], name: str = "cursor") -> tuple[object, ...]:
    """The position in ``cursor``, each value of the type ``shape`` gives (ids from 1 to
    `MAX_ID`);
    400 naming the argument if it is not a cursor made by `encode_cursor` with that shape."""
    refused = BadRequest(f"{name} is not a cursor this API handed out")
    if len(cursor) > _MAX_CURSOR:
        raise refused
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise refused
    for value, kind in zip(values, shape, strict=True):
        if type(value) is not kind or (isinstance(value, int) and not 1 <= value <= MAX_ID):
            raise refused
    return tuple(values)

"""Text every database PyTake supports can hold.

JSON lets a customer (or an agent, a module's API, a flow) send two things PostgreSQL refuses:
the NUL character (``text`` and ``jsonb`` cannot contain U+0000) and lone UTF-16 surrogates
(``"\\ud800"`` decodes to a Python ``str`` that has no UTF-8 form, so neither PostgreSQL nor
SQLite can be given it).  Refusing the whole message for one such character would lose what
the customer said, so PyTake makes the text storable instead:

- NUL is replaced with U+FFFD (the replacement character), so that a reader still sees that
  something was there;
- every lone surrogate is replaced with U+FFFD; a valid surrogate pair is never split (the
  JSON decoder has already joined it into one character).

`storable` cleans a decoded JSON value (keys too); it is applied where outside data enters:
the webhook parser, the agent WebSocket, REST bodies and module responses.  `dumps` is the
JSON serializer of every database connection, so a value that reaches a JSON column by any
other path is cleaned on its way in.  Raw webhook bodies are kept as bytes, byte for byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["REPLACEMENT", "dumps", "storable", "storable_text"]

REPLACEMENT = "\ufffd"

# Any surrogate left in a decoded str is lone: the decoder joins valid pairs.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (the same object when clean)."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable(value: Any) -> Any:
    """A decoded JSON value with every string (keys included) made storable.

    Containers are copied only where something changed, so clean data costs one scan."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            clean_key = storable_text(key) if isinstance(key, str) else key
            clean_item = storable(item)
            changed = changed or clean_key is not key or clean_item is not item
            out[clean_key] = clean_item
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [storable(item) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def dumps(value: Any) -> str:
    """`json.dumps` for database columns: never produces a document the database refuses."""
    text = json.dumps(value, ensure_ascii=False)
    # A NUL is always written as the escape; a lone surrogate stays a raw character.
    if "\\u0000" in text or _SURROGATE.search(text) is not None:
        text = json.dumps(storable(value), ensure_ascii=False)
    return text

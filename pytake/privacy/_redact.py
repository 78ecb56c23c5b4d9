"""Taking one customer out of records that also hold others (pure: no I/O).

A raw webhook body (``inbox.body``) carries whatever Meta batched into one POST: messages,
contacts and statuses of several customers.  `strip_body` removes the customer's part (their
messages, their contact entry, the statuses of messages sent to them) and keeps the rest;
`scrub` drops the free-text members of an event's payload (anonymisation keeps the event).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, Final

__all__ = ["TEXT_KEYS", "mentions", "scrub", "strip_body"]

#: Members of stored JSON that hold what a person wrote or who they are.
TEXT_KEYS: Final = frozenset({"text", "note", "preview", "body", "caption", "customer",
                              "name", "phone", "wa_id", "profile"})
#: What stands in for an id the structure did not account for (another customer's message
#: quoting the number).
ERASED: Final = "[erased]"


def mentions(data: bytes | str, ids: Collection[str]) -> bool:
    """Whether ``data`` holds one of ``ids`` (as written, or JSON-escaped)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return any(_forms_in(text, i) for i in ids if i)


def _forms(value: str) -> set[str]:
    escaped = json.dumps(value, ensure_ascii=True)[1:-1]
    return {value, escaped, escaped.replace("/", "\\/")}


def _forms_in(text: str, value: str) -> bool:
    return any(form in text for form in _forms(value))


def _theirs(item: Any, keys: tuple[str, ...], ids: Collection[str]) -> bool:
    return isinstance(item, dict) and any(
        isinstance(item.get(k), str) and item[k] in ids for k in keys)


def strip_body(body: bytes, ids: Collection[str]) -> bytes | None:
    """``body`` without the customer known by ``ids``: ``None`` when nothing of anyone else
    is left (the row goes), else the body re-encoded (Meta's escaping) without their
    messages, contact entries and statuses.  A body that is not JSON and mentions them goes
    whole (``None``); one that does not mention them is returned unchanged."""
    wanted = {i for i in ids if i}
    if not mentions(body, wanted):
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    kept = 0
    for entry in document.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            for key, fields in (("messages", ("from", "from_user_id")),
                                ("contacts", ("wa_id", "user_id")),
                                ("statuses", ("recipient_id", "recipient_user_id"))):
                items = value.get(key)
                if isinstance(items, list):
                    value[key] = [i for i in items if not _theirs(i, fields, wanted)]
                    if not value[key]:
                        del value[key]
            kept += len(value.get("messages") or ()) + len(value.get("statuses") or ())
    if not kept:
        return None
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")
    for value in wanted:  # quoted by someone else: the number itself goes
        for form in sorted(_forms(value), key=len, reverse=True):
            text = text.replace(form, ERASED)
    return text.encode("ascii")


def scrub(value: Any) -> Any:
    """``value`` (stored JSON) without the members named in `TEXT_KEYS`, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in TEXT_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value

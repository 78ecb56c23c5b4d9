"""An agent's reply content (as the WebSocket and REST API take it) → a Cloud API body.

Content is ``{"type": ..., ...}``:

- ``text``: ``{"text": str}``
- ``image|video|audio|document|sticker``: ``{"id"|"link": str, "caption"?, "filename"?}``
- ``buttons``: ``{"body": str, "buttons": [{"id", "title"}], "header"?, "footer"?}``
- ``list``: ``{"body": str, "button": str, "sections": [{"title"?, "rows": [{"id", "title",
  "description"?}]}], "header"?, "footer"?}``
- ``template``: ``{"name": str, "language": str, "components"?: [...]}``

Anything else raises :class:`pytake.errors.InvalidMessage` naming the problem; WhatsApp's own
limits are checked by the builders in :mod:`pytake.whatsapp._outbound`.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidMessage
from ..whatsapp import (
    Button,
    Header,
    ListRow,
    ListSection,
    list_message,
    media_message,
    reply_buttons_message,
    template_message,
    text_message,
)

_MEDIA = ("image", "video", "audio", "document", "sticker")


def _str(content: dict[str, Any], key: str, *, required: bool = True) -> Any:
    value = content.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidMessage([f"content.{key}: a string is required"])
    return value


def _items(content: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = content.get(key)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidMessage([f"content.{key}: a list of objects is required"])
    return value


def build_body(to: str, content: Any) -> dict[str, Any]:
    if not isinstance(content, dict):
        raise InvalidMessage(["content: an object with a type is required"])
    kind = content.get("type")
    if kind == "text":
        return text_message(to, _str(content, "text"))
    if kind in _MEDIA:
        return media_message(
            to,
            kind,
            id=_str(content, "id", required=False),
            link=_str(content, "link", required=False),
            caption=_str(content, "caption", required=False),
            filename=_str(content, "filename", required=False),
        )
    header = _str(content, "header", required=False)
    footer = _str(content, "footer", required=False)
    if kind == "buttons":
        buttons = [Button(str(b.get("id", "")), str(b.get("title", "")))
                   for b in _items(content, "buttons")]
        return reply_buttons_message(
            to,
            _str(content, "body"),
            buttons,
            header=Header.of_text(header) if header else None,
            footer=footer,
        )
    if kind == "list":
        sections = [
            ListSection(
                s.get("title"),
                [ListRow(str(r.get("id", "")), str(r.get("title", "")), r.get("description"))
                 for r in _items(s, "rows")],
            )
            for s in _items(content, "sections")
        ]
        return list_message(
            to, _str(content, "body"), _str(content, "button"), sections,
            header=header, footer=footer,
        )
    if kind == "template":
        components = content.get("components", [])
        if not isinstance(components, list):
            raise InvalidMessage(["content.components: a list is required"])
        return template_message(to, _str(content, "name"), _str(content, "language"), components)
    raise InvalidMessage(
        [f"content.type: {kind!r} is not one of text, {', '.join(_MEDIA)}, buttons, list, "
         "template"]
    )

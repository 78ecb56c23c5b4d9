"""Outbound message bodies: pure builders that check every documented WhatsApp limit.

Each builder returns the JSON body to POST to ``/{phone-number-id}/messages`` (a plain
``dict``), or raises `pytake.errors.InvalidMessage` listing *every* problem it found, so a
flow author or an agent sees all of them at once and nothing half-valid is ever sent.

The limits (docs/whatsapp.md#limits):

========================  ==============================================================
text                      body 1..4096 characters; ``preview_url`` renders the first URL
media                     image/video/audio/document/sticker, by uploaded ``id`` or ``link``
                          (exactly one); caption ≤ 1024 on image/video/document only;
                          ``filename`` on documents only
reply buttons             1..3 buttons; title 1..20, unique; id 1..256, unique; body ≤ 1024;
                          footer ≤ 60; header text (≤ 60) or image/video/document
list                      button label 1..20; body ≤ 4096; header text ≤ 60; footer ≤ 60;
                          1..10 sections; 1..10 rows in total; section title ≤ 24 (required
                          when there are several sections); row title 1..24; row id 1..200,
                          unique; row description ≤ 72
template                  name, language code, optional components (checked for shape only:
                          Meta checks the parameters against the approved template)
reaction                  target wamid; ``emoji`` "" removes the reaction
mark as read              wamid; optional typing indicator
========================  ==============================================================

``to`` is normalized by `normalize_recipient`: phone numbers become E.164 with a ``+``
(without it Meta would prefix the *business* number's country code), BSUIDs pass unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from pytake.errors import InvalidMessage

__all__ = [
    "FREE_FORM_TYPES",
    "MEDIA_TYPES",
    "Button",
    "Header",
    "ListRow",
    "ListSection",
    "list_message",
    "mark_read_body",
    "media_message",
    "normalize_recipient",
    "reaction_message",
    "reply_buttons_message",
    "template_message",
    "text_message",
]

MediaType = Literal["image", "video", "audio", "document", "sticker"]

MEDIA_TYPES: Final = ("image", "video", "audio", "document", "sticker")
#: Types that need an open 24-hour window (everything but templates and read receipts).
FREE_FORM_TYPES: Final = frozenset({*MEDIA_TYPES, "text", "interactive", "reaction",
                                    "location", "contacts"})

TEXT_MAX: Final = 4096
CAPTION_MAX: Final = 1024
BUTTONS_MAX: Final = 3
BUTTON_TITLE_MAX: Final = 20
BUTTON_ID_MAX: Final = 256
BUTTON_BODY_MAX: Final = 1024
FOOTER_MAX: Final = 60
HEADER_TEXT_MAX: Final = 60
LIST_BUTTON_MAX: Final = 20
LIST_BODY_MAX: Final = 4096
LIST_SECTIONS_MAX: Final = 10
LIST_ROWS_MAX: Final = 10
SECTION_TITLE_MAX: Final = 24
ROW_TITLE_MAX: Final = 24
ROW_ID_MAX: Final = 200
ROW_DESCRIPTION_MAX: Final = 72
BSUID_MAX: Final = 256
CAPTIONED: Final = frozenset({"image", "video", "document"})

# Characters Meta accepts inside a phone number (and we strip): spaces, hyphens, dots,
# parentheses, and a leading "+".
_PHONE = re.compile(r"^\+?[\d\s\-.()]+$")


# --- recipients ------------------------------------------------------------------------------


def _recipient_problems(to: str) -> tuple[str, list[str]]:
    raw = to.strip()
    if not raw:
        return raw, ["to: must not be empty"]
    if _PHONE.match(raw):
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15:
            return raw, [f"to: a phone number needs 7 to 15 digits, got {len(digits)}"]
        if digits.startswith("0"):
            return raw, ["to: a phone number must start with its country code, not 0"]
        return "+" + digits, []
    # Anything that is not a phone number is a business-scoped user id: passed as is.
    if len(raw) > BSUID_MAX:
        return raw, [f"to: a user id is at most {BSUID_MAX} characters, got {len(raw)}"]
    if any(c.isspace() for c in raw):
        return raw, ["to: a user id must not contain spaces"]
    return raw, []


def normalize_recipient(to: str) -> str:
    """``to`` as the Cloud API should get it: ``+`` and digits for a phone number
    (``"55 (11) 99999-0000"`` → ``"+5511999990000"``), a BSUID unchanged.

    Raises `InvalidMessage` for an empty value, a number with too few or too many digits, or
    a user id longer than 256 characters."""
    value, problems = _recipient_problems(to)
    if problems:
        raise InvalidMessage(problems)
    return value


# --- parts -----------------------------------------------------------------------------------


@attrs.frozen
class Button:
    """A reply button: ``id`` comes back in the customer's answer, ``title`` is shown."""

    id: str
    title: str


@attrs.frozen
class ListRow:
    id: str
    title: str
    description: str | None = None


@attrs.frozen
class ListSection:
    title: str | None
    rows: Sequence[ListRow]


@attrs.frozen
class Header:
    """An interactive header: ``Header.of_text("Hi")`` or ``Header.of_media("image", id=...)``."""

    type: Literal["text", "image", "video", "document"]
    text: str | None = None
    media_id: str | None = None
    link: str | None = None

    @classmethod
    def of_text(cls, text: str) -> Header:
        return cls("text", text=text)

    @classmethod
    def of_media(
        cls,
        type: Literal["image", "video", "document"],
        *,
        id: str | None = None,
        link: str | None = None,
    ) -> Header:
        return cls(type, media_id=id, link=link)


# --- helpers ---------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, problem: str) -> None:
        self.items.append(problem)

    def length(self, field: str, value: str | None, maximum: int, *, required: bool) -> None:
        if value is None or value == "":
            if required:
                self.add(f"{field}: must not be empty")
            return
        if len(value) > maximum:
            self.add(f"{field}: at most {maximum} characters, got {len(value)}")

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidMessage(self.items)


def _envelope(
    to: str, type: str, payload: Mapping[str, Any], reply_to: str | None, problems: _Problems
) -> dict[str, Any]:
    recipient, recipient_problems = _recipient_problems(to)
    problems.items[:0] = recipient_problems
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": type,
        type: dict(payload),
    }
    if reply_to is not None:
        if type == "reaction":
            problems.add("context: a reaction cannot quote a message")
        elif not reply_to:
            problems.add("context.message_id: must not be empty")
        body["context"] = {"message_id": reply_to}
    problems.raise_if_any()
    return body


def _media_object(
    field: str, media_id: str | None, link: str | None, problems: _Problems
) -> dict[str, Any]:
    if (media_id is None) == (link is None):
        problems.add(f"{field}: give exactly one of id or link")
        return {}
    if media_id is not None:
        if not media_id:
            problems.add(f"{field}.id: must not be empty")
        return {"id": media_id}
    assert link is not None
    if not link.startswith(("https://", "http://")):
        problems.add(f"{field}.link: must be an http(s) URL")
    return {"link": link}


def _header(header: Header, problems: _Problems, *, text_only: bool) -> dict[str, Any]:
    if header.type == "text":
        problems.length("header.text", header.text, HEADER_TEXT_MAX, required=True)
        return {"type": "text", "text": header.text or ""}
    if text_only:
        problems.add("header: a list message takes a text header only")
        return {"type": header.type}
    if header.type not in ("image", "video", "document"):
        problems.add(f"header.type: must be text, image, video or document, got {header.type!r}")
        return {"type": header.type}
    media = _media_object(f"header.{header.type}", header.media_id, header.link, problems)
    return {"type": header.type, header.type: media}


# --- builders --------------------------------------------------------------------------------


def text_message(
    to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None
) -> dict[str, Any]:
    """A text message (``body`` 1..4096 characters)."""
    problems = _Problems()
    problems.length("text.body", body, TEXT_MAX, required=True)
    return _envelope(to, "text", {"preview_url": preview_url, "body": body}, reply_to, problems)


def media_message(
    to: str,
    type: MediaType,
    *,
    id: str | None = None,
    link: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """An image, video, audio, document or sticker, by uploaded media ``id`` (preferred) or
    public ``link``. Captions only on image/video/document (≤ 1024); ``filename`` only on
    documents."""
    problems = _Problems()
    if type not in MEDIA_TYPES:
        problems.add(f"type: must be one of {', '.join(MEDIA_TYPES)}, got {type!r}")
    payload = _media_object(type, id, link, problems)
    if caption is not None:
        if type not in CAPTIONED:
            problems.add(f"{type}.caption: {type} messages take no caption")
        else:
            problems.length(f"{type}.caption", caption, CAPTION_MAX, required=False)
        payload["caption"] = caption
    if filename is not None:
        if type != "document":
            problems.add(f"{type}.filename: only documents take a filename")
        elif not filename.strip():
            problems.add("document.filename: must not be empty")
        payload["filename"] = filename
    return _envelope(to, type, payload, reply_to, problems)


def reply_buttons_message(
    to: str,
    body: str,
    buttons: Sequence[Button],
    *,
    header: Header | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """Interactive reply buttons: 1..3 buttons with unique titles (≤ 20) and ids (≤ 256)."""
    problems = _Problems()
    problems.length("body.text", body, BUTTON_BODY_MAX, required=True)
    problems.length("footer.text", footer, FOOTER_MAX, required=False)
    if not 1 <= len(buttons) <= BUTTONS_MAX:
        problems.add(f"buttons: between 1 and {BUTTONS_MAX}, got {len(buttons)}")
    for i, button in enumerate(buttons):
        problems.length(f"buttons[{i}].title", button.title, BUTTON_TITLE_MAX, required=True)
        problems.length(f"buttons[{i}].id", button.id, BUTTON_ID_MAX, required=True)
    _duplicates(problems, "buttons", "title", [b.title for b in buttons])
    _duplicates(problems, "buttons", "id", [b.id for b in buttons])
    interactive: dict[str, Any] = {
        "type": "button",
        "body": {"text": body},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in buttons
            ]
        },
    }
    if header is not None:
        interactive["header"] = _header(header, problems, text_only=False)
    if footer is not None:
        interactive["footer"] = {"text": footer}
    return _envelope(to, "interactive", interactive, reply_to, problems)


def list_message(
    to: str,
    body: str,
    button: str,
    sections: Sequence[ListSection],
    *,
    header: str | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """Interactive list: up to 10 sections and 10 rows in total, unique row ids."""
    problems = _Problems()
    problems.length("body.text", body, LIST_BODY_MAX, required=True)
    problems.length("action.button", button, LIST_BUTTON_MAX, required=True)
    problems.length("header.text", header, HEADER_TEXT_MAX, required=False)
    problems.length("footer.text", footer, FOOTER_MAX, required=False)
    if not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        problems.add(f"sections: between 1 and {LIST_SECTIONS_MAX}, got {len(sections)}")
    total = sum(len(s.rows) for s in sections)
    if not 1 <= total <= LIST_ROWS_MAX:
        problems.add(f"rows: between 1 and {LIST_ROWS_MAX} in total, got {total}")
    out_sections: list[dict[str, Any]] = []
    for i, section in enumerate(sections):
        problems.length(
            f"sections[{i}].title", section.title, SECTION_TITLE_MAX, required=len(sections) > 1
        )
        if not section.rows:
            problems.add(f"sections[{i}].rows: must not be empty")
        rows: list[dict[str, Any]] = []
        for j, row in enumerate(section.rows):
            where = f"sections[{i}].rows[{j}]"
            problems.length(f"{where}.id", row.id, ROW_ID_MAX, required=True)
            problems.length(f"{where}.title", row.title, ROW_TITLE_MAX, required=True)
            problems.length(
                f"{where}.description", row.description, ROW_DESCRIPTION_MAX, required=False
            )
            item = {"id": row.id, "title": row.title}
            if row.description is not None:
                item["description"] = row.description
            rows.append(item)
        out: dict[str, Any] = {"rows": rows}
        if section.title is not None:
            out["title"] = section.title
        out_sections.append(out)
    _duplicates(problems, "rows", "id", [r.id for s in sections for r in s.rows])
    interactive: dict[str, Any] = {
        "type": "list",
        "body": {"text": body},
        "action": {"button": button, "sections": out_sections},
    }
    if header is not None:
        interactive["header"] = {"type": "text", "text": header}
    if footer is not None:
        interactive["footer"] = {"text": footer}
    return _envelope(to, "interactive", interactive, reply_to, problems)


def template_message(
    to: str,
    name: str,
    language: str,
    components: Iterable[Mapping[str, Any]] = (),
    *,
    deterministic_language: bool = False,
) -> dict[str, Any]:
    """A template message (the only kind allowed outside the 24-hour window).

    ``components`` are passed through (``[{"type": "body", "parameters": [...]}]``); only
    their shape is checked here. Whether the template is approved is checked by
    `pytake.whatsapp.TemplateCatalogue` before enqueueing."""
    problems = _Problems()
    if not re.fullmatch(r"[a-z0-9_]{1,512}", name or ""):
        problems.add("template.name: lowercase letters, digits and underscores only")
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]{2,4})?", language or ""):
        problems.add(f"template.language: a code such as en or pt_BR, got {language!r}")
    comps = [dict(c) for c in components]
    for i, comp in enumerate(comps):
        if comp.get("type") not in ("header", "body", "button", "footer", "carousel",
                                    "limited_time_offer"):
            problems.add(f"template.components[{i}].type: unknown {comp.get('type')!r}")
        if comp.get("type") == "button" and ("sub_type" not in comp or "index" not in comp):
            problems.add(f"template.components[{i}]: a button needs sub_type and index")
        params = comp.get("parameters", [])
        if not isinstance(params, list) or any(
            not isinstance(p, Mapping) or "type" not in p for p in params
        ):
            problems.add(f"template.components[{i}].parameters: a list of objects with a type")
    lang: dict[str, Any] = {"code": language}
    if deterministic_language:
        lang["policy"] = "deterministic"
    template: dict[str, Any] = {"name": name, "language": lang}
    if comps:
        template["components"] = comps
    return _envelope(to, "template", template, None, problems)


def reaction_message(to: str, message_id: str, emoji: str) -> dict[str, Any]:
    """React to the customer's message ``message_id`` with one ``emoji``; ``""`` removes our
    reaction."""
    problems = _Problems()
    if not message_id:
        problems.add("reaction.message_id: must not be empty")
    if len(emoji) > 10:
        problems.add("reaction.emoji: a single emoji")
    return _envelope(to, "reaction", {"message_id": message_id, "emoji": emoji}, None, problems)


def mark_read_body(message_id: str, *, typing: bool = False) -> dict[str, Any]:
    """Mark ``message_id`` (and earlier messages) as read; ``typing`` also shows the typing
    indicator (until we reply, or 25 s)."""
    if not message_id:
        raise InvalidMessage(["message_id: must not be empty"])
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    }
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


def _duplicates(problems: _Problems, where: str, field: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            problems.add(f"{where}: {field} {value!r} is used twice")
        seen.add(value)

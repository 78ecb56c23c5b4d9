"""What the stand-in checks in a ``POST /{phone_number_id}/messages`` body, the way the Cloud
API does, and the error it answers for each problem. Pure: no I/O.

The limits are written out here on purpose rather than imported from PyTake's own message
builders (`pytake.whatsapp._outbound`): the stand-in plays Meta, so a limit PyTake gets wrong
must make the stand-in refuse, not agree.

Codes, as Meta uses them:

- 100 "Invalid parameter": a required field missing, a field of the wrong type, a value
  outside what the field takes (unknown type, text over 4,096 characters, a caption over
  1,024, a link that is not http(s)).
- 131009 "Parameter value is not valid": the shape of an interactive message (button and row
  counts, lengths of titles, ids, bodies, headers and footers, duplicate ids or titles).
- 131053 "Media upload error": a media id whose file is of a type or size the message type
  does not take.
- 132001 the template does not exist in that language (or is not approved), 132000 the
  number of parameters differs from the template's variables, 132012 positional parameters
  for a named template or the other way round, 132005 the filled-in body is too long.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from pytake.standins.whatsapp._errors import ApiProblem
from pytake.standins.whatsapp._faults import digits
from pytake.standins.whatsapp._payloads import is_bsuid
from pytake.standins.whatsapp._templates import Template, find

#: Message types the send endpoint takes.
MESSAGE_TYPES = (
    "text", "image", "video", "audio", "document", "sticker", "location", "contacts",
    "interactive", "template", "reaction",
)  # fmt: skip
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
INTERACTIVE_TYPES = frozenset(
    {
        "button", "list", "cta_url", "flow", "product", "product_list", "catalog_message",
        "location_request_message", "address_message", "voice_call", "call_permission_request",
    }
)  # fmt: skip

TEXT_MAX: Final = 4096
CAPTION_MAX: Final = 1024
BUTTONS_MAX: Final = 3
BUTTON_TITLE_MAX: Final = 20
BUTTON_ID_MAX: Final = 256
BUTTON_BODY_MAX: Final = 1024
HEADER_MAX: Final = 60
FOOTER_MAX: Final = 60
LIST_BODY_MAX: Final = 4096
LIST_BUTTON_MAX: Final = 20
SECTIONS_MAX: Final = 10
ROWS_MAX: Final = 10
SECTION_TITLE_MAX: Final = 24
ROW_TITLE_MAX: Final = 24
ROW_ID_MAX: Final = 200
ROW_DESCRIPTION_MAX: Final = 72
TEMPLATE_BODY_MAX: Final = 1024
RECIPIENT_MAX: Final = 256

_MB = 1024 * 1024
#: The MIME types (parameters stripped) and the largest file each media type takes.
MEDIA_LIMITS: dict[str, tuple[frozenset[str], int]] = {
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * _MB,
    ),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * _MB),
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * _MB),
    "document": (
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * _MB,
    ),
    # An animated sticker may be up to 500 KB (a static one 100 KB); the stand-in cannot
    # tell them apart, so it takes the larger limit.
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
}

_PHONE = re.compile(r"^\+?[\d\s\-.()]+$")

#: ``media_id -> (mime_type, size)`` for the media the stand-in holds, ``None`` for others.
MediaLookup = Callable[[str], "tuple[str, int] | None"]


def recipient(body: dict[str, Any]) -> str:
    """Who a send body addresses: ``to`` (phone number or BSUID), else ``recipient`` (the
    field some clients use for a BSUID)."""
    value = body.get("to")
    if value is None:
        value = body.get("recipient")
    return value if isinstance(value, str) else ""


def recipient_ids(value: str) -> tuple[str, str]:
    """``(wa_id, user_id)`` of a recipient: the digits of a phone number, or a BSUID."""
    if _PHONE.match(value):
        return digits(value), ""
    return "", value


def validate_send(
    body: dict[str, Any], templates: Sequence[Template], media: MediaLookup
) -> dict[str, Any]:
    """``body`` (with ``type`` defaulted to ``text``) if Meta would accept it, else raise
    `ApiProblem` with the code and details Meta answers."""
    if body.get("messaging_product") != "whatsapp":
        raise ApiProblem(100, "The parameter messaging_product is required and must be 'whatsapp'.")
    if "status" in body:  # mark as read, optionally with a typing indicator
        _read_receipt(body)
        return body
    _recipient(body)
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise ApiProblem(100, f"Param type must be one of {{{', '.join(MESSAGE_TYPES)}}}.")
    body.setdefault("type", kind)
    obj = body.get(kind)
    if kind == "contacts":
        _contacts(obj)
        return body
    if not isinstance(obj, dict):
        raise ApiProblem(100, f"The parameter {kind} is required.")
    if kind == "text":
        _text(obj)
    elif kind in MEDIA_TYPES:
        _media(kind, obj, media)
    elif kind == "location":
        _location(obj)
    elif kind == "interactive":
        _interactive(obj)
    elif kind == "template":
        _template(obj, templates)
    elif kind == "reaction":
        _need(kind, "message_id", _text_value(obj.get("message_id")))
        if not isinstance(obj.get("emoji", ""), str):
            raise ApiProblem(100, "Param reaction['emoji'] must be a string.")
    return body


# -- small checks ---------------------------------------------------------------------------


def _text_value(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _need(kind: str, field: str, ok: bool) -> None:
    if not ok:
        raise ApiProblem(100, f"The parameter {kind}['{field}'] is required.")


def _param_length(path: str, value: object, limit: int) -> None:
    """A plain message field over its length: 100, worded like Graph's length errors."""
    if isinstance(value, str) and len(value) > limit:
        raise ApiProblem(100, f"Param {path} must be at most {limit} characters long.")


def _invalid(details: str) -> ApiProblem:
    return ApiProblem(131009, details)


def _length(what: str, value: object, limit: int, *, required: bool = True) -> None:
    """An interactive field: 1..``limit`` characters (or absent when not ``required``)."""
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise _invalid(f"{what} is required and must be a non-empty string.")
    if len(value) > limit:
        raise _invalid(f"{what} length invalid. Min length: 1, Max length: {limit}.")


def _read_receipt(body: dict[str, Any]) -> None:
    if body["status"] != "read":
        raise ApiProblem(100, "Param status must be 'read'.")
    if not _text_value(body.get("message_id")):
        raise ApiProblem(100, "The parameter message_id is required.")
    indicator = body.get("typing_indicator")
    if indicator is not None and (
        not isinstance(indicator, dict) or indicator.get("type") != "text"
    ):
        raise ApiProblem(100, "Param typing_indicator.type must be 'text'.")


def _recipient(body: dict[str, Any]) -> None:
    value = recipient(body)
    if not value.strip():
        raise ApiProblem(100, "The parameter to is required.")
    if _PHONE.match(value):
        if not 7 <= len(digits(value)) <= 15:
            raise ApiProblem(100, f"Param to is not a valid phone number: {value}")
    elif not is_bsuid(value) or len(value) > RECIPIENT_MAX:
        raise ApiProblem(100, f"Param to is neither a phone number nor a user id: {value}")


def _text(obj: dict[str, Any]) -> None:
    _need("text", "body", _text_value(obj.get("body")))
    _param_length("text['body']", obj["body"], TEXT_MAX)


def _media(kind: str, obj: dict[str, Any], media: MediaLookup) -> None:
    media_id, link = obj.get("id"), obj.get("link")
    if (media_id is None) == (link is None):
        raise ApiProblem(100, f"Param {kind} must have exactly one of 'id' and 'link'.")
    if link is not None and (not isinstance(link, str) or not re.match(r"^https?://\S+$", link)):
        raise ApiProblem(100, f"Param {kind}['link'] must be an http or https URL.")
    if media_id is not None and not _text_value(media_id):
        raise ApiProblem(100, f"Param {kind}['id'] must be a non-empty string.")
    if "caption" in obj:
        if kind in ("audio", "sticker"):
            raise ApiProblem(100, f"Param {kind}['caption'] is not allowed for {kind} messages.")
        _param_length(f"{kind}['caption']", obj["caption"], CAPTION_MAX)
    if "filename" in obj and kind != "document":
        raise ApiProblem(100, f"Param {kind}['filename'] is only allowed for documents.")
    known = media(media_id) if isinstance(media_id, str) else None
    if known is None:
        return
    mime_type, size = known
    allowed, largest = MEDIA_LIMITS[kind]
    base = mime_type.split(";")[0].strip().lower()
    if base not in allowed:
        raise ApiProblem(
            131053,
            f"Unsupported {kind} mime type {base}. Please use one of {', '.join(sorted(allowed))}.",
        )
    if size > largest:
        raise ApiProblem(131053, f"The {kind} file is {size} bytes, over the {largest}-byte limit.")


def _location(obj: dict[str, Any]) -> None:
    for field, bound in (("latitude", 90), ("longitude", 180)):
        value = obj.get(field)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ApiProblem(100, f"The parameter location['{field}'] is required.")
        if not -bound <= value <= bound:
            raise ApiProblem(
                100, f"Param location['{field}'] must be between -{bound} and {bound}."
            )


def _contacts(obj: object) -> None:
    if not isinstance(obj, list) or not obj:
        raise ApiProblem(100, "The parameter contacts is required and must be a list.")
    for i, contact in enumerate(obj):
        name = contact.get("name") if isinstance(contact, dict) else None
        if not isinstance(name, dict) or not _text_value(name.get("formatted_name")):
            raise ApiProblem(
                100, f"The parameter contacts[{i}]['name']['formatted_name'] is required."
            )


# -- interactive ----------------------------------------------------------------------------


def _interactive(obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    _need("interactive", "type", isinstance(kind, str))
    if kind not in INTERACTIVE_TYPES:
        raise ApiProblem(100, f"Param interactive['type'] is not a valid interactive type: {kind}")
    action = obj.get("action")
    _need("interactive", "action", isinstance(action, dict))
    assert isinstance(action, dict)
    body, footer = obj.get("body"), obj.get("footer")
    if body is not None and not isinstance(body, dict):
        raise ApiProblem(100, "Param interactive['body'] must be an object.")
    if footer is not None:
        if not isinstance(footer, dict):
            raise ApiProblem(100, "Param interactive['footer'] must be an object.")
        _length("Footer text", footer.get("text"), FOOTER_MAX)
    # Buttons and lists need a body; the list's may be longer and its header is text only.
    body_max = LIST_BODY_MAX if kind == "list" else BUTTON_BODY_MAX
    if kind in ("button", "list"):
        _need("interactive", "body", isinstance(body, dict))
    if isinstance(body, dict):
        _length("Body text", body.get("text"), body_max)
    _header(obj.get("header"), text_only=kind == "list")
    if kind == "button":
        _buttons(action)
    elif kind == "list":
        _list(action)
    elif kind == "cta_url":
        _cta_url(action)


def _header(header: object, *, text_only: bool) -> None:
    if header is None:
        return
    if not isinstance(header, dict):
        raise ApiProblem(100, "Param interactive['header'] must be an object.")
    kind = header.get("type")
    allowed = ("text",) if text_only else ("text", "image", "video", "document")
    if kind not in allowed:
        raise _invalid(f"Header type must be one of {', '.join(allowed)}, got {kind}.")
    if kind == "text":
        _length("Header text", header.get("text"), HEADER_MAX)
        return
    assert isinstance(kind, str)
    media = header.get(kind)
    if not isinstance(media, dict) or (media.get("id") is None) == (media.get("link") is None):
        raise ApiProblem(
            100, f"Param interactive['header']['{kind}'] needs one of 'id' and 'link'."
        )


def _unique(what: str, values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise _invalid(f"{what} must be unique.")


def _buttons(action: dict[str, Any]) -> None:
    buttons = action.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        count = len(buttons) if isinstance(buttons, list) else 0
        raise _invalid(
            f"Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: {BUTTONS_MAX}"
            f" (got {count})."
        )
    titles, ids = [], []
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(reply, dict) or button.get("type") != "reply":
            raise _invalid("Each button must be {'type': 'reply', 'reply': {'id', 'title'}}.")
        _length("Button title", reply.get("title"), BUTTON_TITLE_MAX)
        _length("Button id", reply.get("id"), BUTTON_ID_MAX)
        titles.append(reply["title"])
        ids.append(reply["id"])
    _unique("Button titles", titles)
    _unique("Button ids", ids)


def _list(action: dict[str, Any]) -> None:
    _length("List button text", action.get("button"), LIST_BUTTON_MAX)
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= SECTIONS_MAX:
        count = len(sections) if isinstance(sections, list) else 0
        raise _invalid(f"Invalid sections count. Min: 1, Max: {SECTIONS_MAX} (got {count}).")
    ids: list[str] = []
    total = 0
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list):
            raise _invalid("Each section must be an object with 'rows'.")
        # A title is what tells sections apart: Meta requires it once there are several.
        _length(
            "Section title", section.get("title"), SECTION_TITLE_MAX, required=len(sections) > 1
        )
        rows = section["rows"]
        if not rows:
            raise _invalid("A section must have at least one row.")
        total += len(rows)
        for row in rows:
            if not isinstance(row, dict):
                raise _invalid("Each row must be an object.")
            _length("Row title", row.get("title"), ROW_TITLE_MAX)
            _length("Row id", row.get("id"), ROW_ID_MAX)
            _length("Row description", row.get("description"), ROW_DESCRIPTION_MAX, required=False)
            ids.append(row["id"])
    if total > ROWS_MAX:
        raise _invalid(f"Total row count exceed max allowed count: {ROWS_MAX}")
    _unique("Row ids", ids)


def _cta_url(action: dict[str, Any]) -> None:
    parameters = action.get("parameters")
    if action.get("name") != "cta_url" or not isinstance(parameters, dict):
        raise ApiProblem(100, "Param interactive['action'] needs name 'cta_url' and parameters.")
    _length("Display text", parameters.get("display_text"), BUTTON_TITLE_MAX)
    url = parameters.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://\S+$", url):
        raise _invalid("The cta_url button needs an http or https url.")


# -- templates ------------------------------------------------------------------------------


def _template(obj: dict[str, Any], templates: Sequence[Template]) -> None:
    name = obj.get("name")
    _need("template", "name", _text_value(name))
    language = obj.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    _need("template", "language", _text_value(code))
    assert isinstance(name, str) and isinstance(code, str)
    template = find(templates, name, code)
    if template is None or template.status != "APPROVED":
        why = "does not exist" if template is None else f"is {template.status}, not approved,"
        raise ApiProblem(132001, f"template name ({name}) {why} in {code}")
    components = obj.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise ApiProblem(100, "Param template['components'] must be a list of objects.")
    given: dict[str, list[dict[str, Any]]] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
            raise ApiProblem(100, f"Param template {kind} parameters must be a list of objects.")
        if kind == "button":
            _template_button(component, template)
        elif kind in ("header", "body"):
            given[kind] = parameters
    for kind in ("header", "body"):
        _template_text(template, kind, given.get(kind, []))


def _template_text(template: Template, kind: str, parameters: list[dict[str, Any]]) -> None:
    component = template.component(kind.upper())
    header_format = str((component or {}).get("format", "TEXT")).upper()
    if kind == "header" and component is not None and header_format != "TEXT":
        expected = header_format.lower()
        if len(parameters) != 1 or parameters[0].get("type") != expected:
            got = parameters[0].get("type") if parameters else "nothing"
            raise ApiProblem(
                132012, f"header: Format mismatch, expected {header_format}, received {got}"
            )
        return
    names = template.variables(kind.upper())
    if len(parameters) != len(names):
        raise ApiProblem(
            132000,
            f"{kind}: number of localizable_params ({len(parameters)}) does not match the "
            f"expected number of params ({len(names)})",
        )
    named = template.parameter_format == "NAMED"
    values: dict[str, str] = {}
    for position, parameter in enumerate(parameters, start=1):
        if parameter.get("type") != "text":
            # Currency and date_time parameters are filled in by the phone: count them only.
            values[names[position - 1]] = "x"
            continue
        text = parameter.get("text")
        if not _text_value(text):
            raise ApiProblem(131008, f"{kind}: parameter {position} of type text has no text")
        assert isinstance(text, str)
        label = parameter.get("parameter_name")
        if named != (label is not None):
            expected = "named (parameter_name)" if named else "positional"
            raise ApiProblem(
                132012, f"{kind}: template {template.name} takes {expected} parameters"
            )
        if named and label not in names:
            raise ApiProblem(132012, f"{kind}: template {template.name} has no parameter {label}")
        values[str(label) if named else names[position - 1]] = text
    if kind == "body" and component is not None:
        filled = re.sub(
            r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), component["text"]
        )
        if len(filled) > TEMPLATE_BODY_MAX:
            raise ApiProblem(132005, f"body: the filled-in text is {len(filled)} characters long")


def _template_button(component: dict[str, Any], template: Template) -> None:
    try:
        index = int(component.get("index", ""))
    except (TypeError, ValueError):
        raise ApiProblem(100, "Param template button 'index' must be an integer.") from None
    if not 0 <= index < len(template.buttons):
        raise _invalid(f"Button at index {index} does not exist in template {template.name}.")

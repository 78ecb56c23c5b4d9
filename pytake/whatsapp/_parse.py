"""The webhook parser: notification bytes in, typed events out.  No I/O, no clock, no state.

Like h11, this module only translates: it never talks to the network or the store, so every
case of the test corpus runs in microseconds and the same code serves the HTTP edge, the
worker that drains the durable inbox, and replays of dead letters.

The rules (everything that decides what a body means lives in this file):

1. :func:`parse_notification` raises :class:`InvalidNotification` **only** when the body is not
   JSON (including bad UTF-8 and absurd nesting) or not a JSON object.  The receiver has already
   acked such a body; it dead-letters it.  Any other shape is parsed as far as it goes.
2. ``object`` other than ``"whatsapp_business_account"`` (or missing): nothing is parsed,
   :attr:`Notification.ignored` says why.
3. Every ``entry[]`` / ``changes[]`` / element is read on its own.  An element that is not an
   object, or a message/status without its ``id`` (the idempotency key), becomes a
   :class:`ParseProblem`; its siblings are unaffected.  An unexpected exception while reading
   one element is caught and reported the same way.
4. Every field is optional.  Ids become strings, timestamps ints (JSON numbers are accepted,
   an absent or unreadable timestamp is ``0``).
5. ``field == "messages"`` → ``messages[]``, ``statuses[]`` and ``errors[]``, in any
   combination.  Any other field → :class:`FieldChange` routed by ``entry.id`` (the WABA);
   ``message_template_status_update`` additionally → :class:`TemplateStatusUpdate`.
6. Message content: known types map to their classes; ``unsupported``, legacy ``unknown``, any
   unknown type and an ``interactive`` without ``interactive.type`` map to
   :class:`Unsupported` keeping the type name.  Content that is present but unreadable (a
   location without coordinates, an order with a non-numeric price) degrades to
   :class:`Unsupported` **and** adds a :class:`ParseProblem`: the message itself (which opens
   the service window) is never lost.
7. A message's :class:`Contact` is the ``value.contacts[]`` entry whose ``wa_id`` equals
   ``from`` or whose ``user_id`` equals ``from_user_id``; failing that, the first entry.
8. Messages are sorted stably by ``(phone_number_id, customer_id, timestamp)``: timestamp
   order within each chat (webhooks carry no ordering promise).  Other lists keep body order.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from ..errors import WhatsAppError
from ..storable import storable
from ._events import (
    ApiError,
    ButtonReply,
    Contact,
    Content,
    Edit,
    FieldChange,
    FlowReply,
    InboundMessage,
    ListReply,
    Location,
    Media,
    MessageContext,
    Notification,
    Order,
    OrderItem,
    ParseProblem,
    Raw,
    Reaction,
    Referral,
    RequestWelcome,
    Revoke,
    SharedContacts,
    StatusUpdate,
    System,
    TemplateButton,
    TemplateStatusUpdate,
    Text,
    Unsupported,
    ValueErrors,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_opt_dict,
    as_opt_str,
    as_str,
)

__all__ = [
    "WHATSAPP_OBJECT",
    "InvalidNotification",
    "parse_notification",
    "sanitize_filename",
]

WHATSAPP_OBJECT = "whatsapp_business_account"
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
MAX_FILENAME_CHARS = 200
_MAX_FILENAME_BYTES = 255  # common filesystem limit, for names in multi-byte scripts
_MAX_PRICE_EXPONENT = 18


class InvalidNotification(WhatsAppError, ValueError):
    """The body is not a JSON object, so it cannot be a notification at all.

    ``reason`` is a short, log-safe explanation (it never quotes the body)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Malformed(Exception):
    """Content present but unreadable: the message degrades to Unsupported + a problem."""


# -- entry point ------------------------------------------------------------------------------


def parse_notification(body: bytes) -> Notification:
    """Parse one webhook POST body (the raw bytes whose signature was verified).

    Raises :class:`InvalidNotification` only if ``body`` is not a JSON object; never raises
    anything else.  See the module docstring for the rules."""
    try:
        # Made storable here, once, so no field of any message can refuse to be stored.
        document = storable(json.loads(body))
    except RecursionError:
        raise InvalidNotification("body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge int literals
        raise InvalidNotification(f"body is not JSON: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise InvalidNotification(f"body is a JSON {_json_kind(document)}, not an object")

    obj = as_str(document.get("object"))
    if obj != WHATSAPP_OBJECT:
        reason = (
            f"object is {obj!r}, not {WHATSAPP_OBJECT!r}"
            if "object" in document
            else "body has no 'object'"
        )
        return Notification(object=obj, ignored=reason)

    builder = _Builder()
    entries = document.get("entry")
    if entries is not None and not isinstance(entries, list):
        builder.problem("entry", "'entry' is not an array", entries)
    for e_index, entry in enumerate(as_list(entries)):
        builder.entry(f"entry[{e_index}]", entry)

    messages = sorted(
        builder.messages, key=lambda m: (m.phone_number_id, m.customer_id, m.timestamp)
    )
    return Notification(
        object=obj,
        messages=messages,
        statuses=builder.statuses,
        errors=builder.errors,
        changes=builder.changes,
        template_updates=builder.template_updates,
        problems=builder.problems,
    )


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


class _Builder:
    """Accumulates the events of one body; every element is read inside its own guard."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.statuses: list[StatusUpdate] = []
        self.errors: list[ValueErrors] = []
        self.changes: list[FieldChange] = []
        self.template_updates: list[TemplateStatusUpdate] = []
        self.problems: list[ParseProblem] = []

    def problem(self, where: str, error: str, raw: object) -> None:
        self.problems.append(ParseProblem(where=where, error=error, raw=raw))

    def guarded(self, where: str, raw: object, read: Callable[[], None]) -> None:
        try:
            read()
        except Exception as exc:  # isolate one element; rule 3
            self.problem(where, f"{type(exc).__name__}: {exc}", raw)

    def entry(self, where: str, entry: object) -> None:
        if not isinstance(entry, dict):
            self.problem(where, "entry is not an object", entry)
            return
        waba_id = as_str(entry.get("id"))
        changes = entry.get("changes")
        if changes is not None and not isinstance(changes, list):
            self.problem(f"{where}.changes", "'changes' is not an array", changes)
        for c_index, change in enumerate(as_list(changes)):
            c_where = f"{where}.changes[{c_index}]"

            def read_change(c_where: str = c_where, change: object = change) -> None:
                self.change(c_where, waba_id, change)

            self.guarded(c_where, change, read_change)

    def change(self, where: str, waba_id: str, change: object) -> None:
        if not isinstance(change, dict):
            self.problem(where, "change is not an object", change)
            return
        field = as_str(change.get("field"))
        value = as_dict(change.get("value"))
        if field != "messages":
            self.changes.append(FieldChange(field=field, waba_id=waba_id, value=value))
            if field == "message_template_status_update":
                self.template_updates.append(_template_update(waba_id, value))
            return

        metadata = as_dict(value.get("metadata"))
        phone_number_id = as_str(metadata.get("phone_number_id"))
        display = as_str(metadata.get("display_phone_number"))
        contacts = [_contact(c) for c in as_list(value.get("contacts")) if isinstance(c, dict)]
        v_where = f"{where}.value"

        for index, item in enumerate(as_list(value.get("messages"))):
            m_where = f"{v_where}.messages[{index}]"

            def read_message(m_where: str = m_where, item: object = item) -> None:
                message = self.message(m_where, item, phone_number_id, display, waba_id, contacts)
                if message is not None:
                    self.messages.append(message)

            self.guarded(m_where, item, read_message)

        for index, item in enumerate(as_list(value.get("statuses"))):
            s_where = f"{v_where}.statuses[{index}]"

            def read_status(s_where: str = s_where, item: object = item) -> None:
                status = self.status(s_where, item, phone_number_id, waba_id)
                if status is not None:
                    self.statuses.append(status)

            self.guarded(s_where, item, read_status)

        if "errors" in value:
            errors = ApiError.list_from_raw(value.get("errors"))
            self.errors.append(
                ValueErrors(phone_number_id=phone_number_id, waba_id=waba_id, errors=errors)
            )

    def message(
        self,
        where: str,
        raw: object,
        phone_number_id: str,
        display: str,
        waba_id: str,
        contacts: list[Contact],
    ) -> InboundMessage | None:
        if not isinstance(raw, dict):
            self.problem(where, "message is not an object", raw)
            return None
        wamid = as_str(raw.get("id"))
        if not wamid:
            self.problem(where, "message has no 'id'", raw)
            return None
        sender = as_str(raw.get("from"))
        sender_user_id = as_str(raw.get("from_user_id"))
        msg_type = as_str(raw.get("type"))
        errors = ApiError.list_from_raw(raw.get("errors"))
        try:
            content = _content(msg_type, raw, errors, depth=0)
        except Exception as exc:  # rule 6: keep the message, degrade its content
            self.problem(where, f"unreadable {msg_type or 'untyped'} content: {exc}", raw)
            content = Unsupported(unsupported_type=msg_type, errors=errors)
        context = raw.get("context")
        referral = raw.get("referral")
        return InboundMessage(
            phone_number_id=phone_number_id,
            display_phone_number=display,
            waba_id=waba_id,
            wamid=wamid,
            sender=sender,
            sender_user_id=sender_user_id,
            timestamp=as_int(raw.get("timestamp")),
            type=msg_type,
            content=content,
            contact=_match_contact(contacts, sender, sender_user_id),
            context=_context(context) if isinstance(context, dict) else None,
            referral=_referral(referral) if isinstance(referral, dict) else None,
            errors=errors,
            raw=raw,
        )

    def status(
        self, where: str, raw: object, phone_number_id: str, waba_id: str
    ) -> StatusUpdate | None:
        if not isinstance(raw, dict):
            self.problem(where, "status is not an object", raw)
            return None
        wamid = as_str(raw.get("id"))
        if not wamid:
            self.problem(where, "status has no 'id'", raw)
            return None
        return StatusUpdate(
            phone_number_id=phone_number_id,
            waba_id=waba_id,
            wamid=wamid,
            status=as_str(raw.get("status")),
            timestamp=as_int(raw.get("timestamp")),
            recipient_id=as_str(raw.get("recipient_id")),
            recipient_user_id=as_str(raw.get("recipient_user_id")),
            errors=ApiError.list_from_raw(raw.get("errors")),
            biz_opaque_callback_data=as_opt_str(raw.get("biz_opaque_callback_data")),
            pricing=as_opt_dict(raw.get("pricing")),
            conversation=as_opt_dict(raw.get("conversation")),
            raw=raw,
        )


# -- small elements ---------------------------------------------------------------------------


def _contact(raw: Raw) -> Contact:
    profile = as_dict(raw.get("profile"))
    return Contact(
        wa_id=as_str(raw.get("wa_id")),
        user_id=as_str(raw.get("user_id")),
        name=as_str(profile.get("name")),
        username=as_str(profile.get("username")) or as_str(raw.get("username")),
        country_code=as_str(profile.get("country_code")) or as_str(raw.get("country_code")),
    )


def _match_contact(contacts: list[Contact], sender: str, user_id: str) -> Contact | None:
    for contact in contacts:
        if (sender and contact.wa_id == sender) or (user_id and contact.user_id == user_id):
            return contact
    return contacts[0] if contacts else None


def _context(raw: Raw) -> MessageContext:
    return MessageContext(
        from_=as_str(raw.get("from")),
        id=as_str(raw.get("id")),
        forwarded=as_bool(raw.get("forwarded")),
        frequently_forwarded=as_bool(raw.get("frequently_forwarded")),
        referred_product=as_opt_dict(raw.get("referred_product")),
    )


def _referral(raw: Raw) -> Referral:
    return Referral(
        source_url=as_str(raw.get("source_url")),
        source_id=as_str(raw.get("source_id")),
        source_type=as_str(raw.get("source_type")),
        body=as_str(raw.get("body")),
        headline=as_str(raw.get("headline")),
        media_type=as_str(raw.get("media_type")),
        ctwa_clid=as_opt_str(raw.get("ctwa_clid")) or None,
        raw=raw,
    )


def _template_update(waba_id: str, value: Raw) -> TemplateStatusUpdate:
    return TemplateStatusUpdate(
        waba_id=waba_id,
        event=as_str(value.get("event")),
        template_id=as_str(value.get("message_template_id")),
        template_name=as_str(value.get("message_template_name")),
        language=as_str(value.get("message_template_language")),
        reason=as_opt_str(value.get("reason")),
    )


# -- message content --------------------------------------------------------------------------


def _content(msg_type: str, raw: Raw, errors: list[ApiError], depth: int) -> Content:
    """The content of a message (or of an edit's inner message) of type ``msg_type``."""
    body = as_dict(raw.get(msg_type)) if msg_type else {}
    if msg_type == "text":
        return Text(body=as_str(body.get("body")))
    if msg_type in MEDIA_TYPES:
        return _media(msg_type, body)
    if msg_type == "location":
        return _location(body)
    if msg_type == "contacts":
        return SharedContacts([c for c in as_list(raw.get("contacts")) if isinstance(c, dict)])
    if msg_type == "interactive":
        return _interactive(body, errors)
    if msg_type == "button":
        return TemplateButton(payload=as_str(body.get("payload")), text=as_str(body.get("text")))
    if msg_type == "reaction":
        return Reaction(
            message_id=as_str(body.get("message_id")),
            emoji=as_opt_str(body.get("emoji")) or None,
        )
    if msg_type == "order":
        return _order(body)
    if msg_type == "system":
        return System(
            system_type=as_str(body.get("type")),
            body=as_str(body.get("body")),
            new_wa_id=as_str(body.get("wa_id")) or as_str(body.get("new_wa_id")),
            new_user_id=as_str(body.get("user_id")),
        )
    if msg_type == "unsupported":
        return Unsupported(unsupported_type=as_str(body.get("type")), errors=errors)
    if msg_type == "request_welcome":
        return RequestWelcome()
    if msg_type == "revoke":
        return Revoke(original_message_id=as_str(body.get("original_message_id")))
    if msg_type == "edit" and depth == 0:
        inner = as_dict(body.get("message"))
        inner_type = as_str(inner.get("type"))
        return Edit(
            original_message_id=as_str(body.get("original_message_id")),
            content=_content(inner_type, inner, ApiError.list_from_raw(inner.get("errors")), 1),
            raw_message=inner,
        )
    # "unknown" (legacy), future types, an edit of an edit: keep the name, never fail.
    return Unsupported(unsupported_type=msg_type, errors=errors)


_MIME_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mp4": ".m4a",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}


def _media(media_type: str, body: Raw) -> Media:
    mime_type = as_str(body.get("mime_type"))
    original = as_opt_str(body.get("filename"))
    if original:
        filename = sanitize_filename(original)
    else:
        essence = mime_type.split(";", 1)[0].strip().lower()
        filename = media_type + _MIME_EXTENSIONS.get(essence, "")
    return Media(
        media_type=media_type,
        media_id=as_str(body.get("id")),
        mime_type=mime_type,
        sha256=as_str(body.get("sha256")),
        caption=as_opt_str(body.get("caption")),
        filename=filename,
        original_filename=original,
        url=as_opt_str(body.get("url")) or None,
        voice=as_bool(body.get("voice")),
        animated=as_bool(body.get("animated")),
    )


def _coordinate(value: object, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Malformed(f"location has no numeric {name}")
    try:
        number = float(value)
    except ValueError:
        raise _Malformed(f"location {name} is not a number") from None
    if not -limit <= number <= limit:  # also rejects NaN
        raise _Malformed(f"location {name} out of range")
    return number


def _location(body: Raw) -> Location:
    return Location(
        latitude=_coordinate(body.get("latitude"), "latitude", 90.0),
        longitude=_coordinate(body.get("longitude"), "longitude", 180.0),
        name=as_opt_str(body.get("name")),
        address=as_opt_str(body.get("address")),
        url=as_opt_str(body.get("url")),
    )


def _interactive(body: Raw, errors: list[ApiError]) -> Content:
    kind = as_str(body.get("type"))
    if kind == "button_reply":
        reply = as_dict(body.get("button_reply"))
        return ButtonReply(id=as_str(reply.get("id")), title=as_str(reply.get("title")))
    if kind == "list_reply":
        reply = as_dict(body.get("list_reply"))
        return ListReply(
            id=as_str(reply.get("id")),
            title=as_str(reply.get("title")),
            description=as_opt_str(reply.get("description")),
        )
    if kind == "nfm_reply":
        return _flow_reply(as_dict(body.get("nfm_reply")))
    # No interactive.type (a re-sent old interactive message arrives with errors, pywa note)
    # or a kind we do not model yet.
    unsupported_type = f"interactive.{kind}" if kind else "interactive"
    return Unsupported(unsupported_type=unsupported_type, errors=errors)


def _flow_reply(reply: Raw) -> FlowReply:
    response: Raw | None = None
    error: str | None = None
    encoded = reply.get("response_json")
    if isinstance(encoded, dict):  # already decoded by some proxy: accept it
        response = encoded
    elif isinstance(encoded, str):
        try:
            decoded = json.loads(encoded)
        except (ValueError, RecursionError) as exc:
            error = f"response_json is not valid JSON: {type(exc).__name__}"
        else:
            if isinstance(decoded, dict):
                response = decoded
            else:
                error = f"response_json is a JSON {_json_kind(decoded)}, not an object"
    else:
        error = "response_json is missing"
    return FlowReply(
        name=as_str(reply.get("name")),
        body=as_str(reply.get("body")),
        response=response,
        response_error=error,
    )


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Malformed("order item_price is not a number")
    try:
        number = Decimal(str(value).strip())  # str() first: 12.3 stays 12.3, not a binary float
    except InvalidOperation:
        raise _Malformed("order item_price is not a number") from None
    # Finite and of a plausible magnitude, so that ``Order.total`` can never overflow.
    if not number.is_finite() or abs(number.adjusted()) > _MAX_PRICE_EXPONENT:
        raise _Malformed("order item_price is not a plausible number")
    return number


def _order(body: Raw) -> Order:
    items = []
    for item in as_list(body.get("product_items")):
        data = as_dict(item)
        items.append(
            OrderItem(
                product_retailer_id=as_str(data.get("product_retailer_id")),
                quantity=as_int(data.get("quantity")),
                item_price=_decimal(data.get("item_price")),
                currency=as_str(data.get("currency")),
            )
        )
    return Order(
        catalog_id=as_str(body.get("catalog_id")),
        text=as_opt_str(body.get("text")),
        items=items,
    )


# -- filenames --------------------------------------------------------------------------------

_UNSAFE_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_DOTS = re.compile(r"\.{2,}")
_SAFE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}\Z")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)


def sanitize_filename(name: str | None) -> str:
    """A filename from untrusted input (a document's ``filename``) that is safe on disk.

    Guarantees: no ``/`` or ``\\`` (only the last path component is kept, so
    ``../../etc/passwd`` becomes ``passwd``), no ``..``, no leading dot, no control or
    invisible formatting characters (e.g. right-to-left overrides), none of ``<>:"|?*``, no
    Windows device names, at most 200 characters and 255 UTF-8 bytes, never empty (``"file"``).
    A short alphanumeric extension (``.pdf``) survives truncation.
    """
    if not isinstance(name, str):
        return "file"
    text = unicodedata.normalize("NFC", name)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cf", "Cs"})
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE_CHARS.sub("_", text)
    text = _DOTS.sub(".", text)
    text = " ".join(text.split())  # collapse and trim whitespace (also odd Unicode spaces)
    text = text.strip(". ")
    if not text:
        return "file"
    match = _SAFE_EXTENSION.search(text)
    extension = match.group(0) if match and match.start() > 0 else ""
    stem = text[: len(text) - len(extension)] if extension else text
    if stem.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    stem = stem[: MAX_FILENAME_CHARS - len(extension)]
    while len((stem + extension).encode()) > _MAX_FILENAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    return (stem or "file") + extension

"""Typed events for one Cloud API webhook notification.

Everything :func:`pytake.whatsapp.parse_notification` produces is defined here, as frozen,
slotted attrs classes.  The rules every class follows:

* **Nothing is required.**  Meta changes payloads often (§13 of docs/WHATSAPP), so each field
  has a harmless default: ``""`` for strings that were absent, ``None`` where the difference
  between "absent" and "empty" matters (a reaction's emoji, a referral's ``ctwa_clid``), ``0``
  for an absent or unreadable timestamp.
* **Ids are strings, timestamps are ints.**  Meta sends both as strings; a payload with a JSON
  number instead (hand-written tests, dashboards) is normalised, never rejected.
* **``raw`` is the element as received** (the ``dict`` of the message, status, referral…), so a
  handler can always reach a field this module does not model yet, and so the element can be
  stored or dead-lettered unchanged.
* **Unknown is kept, not dropped.**  A message type we do not model becomes :class:`Unsupported`
  carrying the type name as sent; a change ``field`` other than ``messages`` becomes a
  :class:`FieldChange`.

The layout of a notification and where each class comes from::

    Notification
      messages[]           InboundMessage   value.messages[]   (content: Text | Media | …)
      statuses[]           StatusUpdate     value.statuses[]
      errors[]             ValueErrors      value.errors[]     (account/app-level)
      changes[]            FieldChange      any field other than "messages"
      template_updates[]   TemplateStatusUpdate   field "message_template_status_update"
      problems[]           ParseProblem     an element we could not read (the others still are)
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import attrs

Raw = dict[str, Any]


# -- lenient coercions shared with _parse ---------------------------------------------------
# They never raise: a value of the wrong shape becomes the field's "absent" value.


def as_str(value: object) -> str:
    """A JSON scalar as a string id/text: ints and integral floats become their digits,
    anything that is not a scalar becomes ``""``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return ""


def as_opt_str(value: object) -> str | None:
    """Like :func:`as_str`, but ``None`` when the value is absent or not a scalar."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return as_str(value)


def as_int(value: object, default: int = 0) -> int:
    """An int from a JSON int, integral float or numeric string; ``default`` otherwise."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else default
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return default
        return int(number) if math.isfinite(number) else default
    return default


def as_dict(value: object) -> Raw:
    """The value if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_opt_dict(value: object) -> Raw | None:
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[Any]:
    """The value if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def as_bool(value: object) -> bool:
    """``True`` only for JSON ``true`` (and the string ``"true"``): a flag is off unless set."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# -- building blocks -------------------------------------------------------------------------


@attrs.frozen
class ApiError:
    """One entry of an ``errors`` array (message, status or value level, or a send response).

    Meta advises basing logic on ``code`` and ``details`` (titles will be deprecated).
    ``code`` is ``-1`` when the entry had none (``0`` is a real code: auth failure).
    Use :func:`pytake.whatsapp.error_policy` to decide what to do about it.
    """

    code: int = -1
    title: str = ""
    message: str = ""
    details: str = ""
    href: str = ""

    @classmethod
    def from_raw(cls, raw: object) -> ApiError:
        """Build from a JSON error object; never raises (a non-object gives ``code=-1``).

        Accepts ``error_data.details`` (webhooks) and a top-level ``details`` or
        ``error_user_msg`` (some send responses)."""
        data = as_dict(raw)
        error_data = as_dict(data.get("error_data"))
        details = as_str(error_data.get("details")) or as_str(data.get("details"))
        if not details:
            details = as_str(data.get("error_user_msg"))
        return cls(
            code=as_int(data.get("code"), default=-1),
            title=as_str(data.get("title")),
            message=as_str(data.get("message")),
            details=details,
            href=as_str(data.get("href")),
        )

    @classmethod
    def list_from_raw(cls, raw: object) -> list[ApiError]:
        """Every element of a JSON array as an :class:`ApiError` (a non-array gives ``[]``)."""
        return [cls.from_raw(item) for item in as_list(raw)]


@attrs.frozen
class Contact:
    """The ``value.contacts[]`` entry describing a message's sender (never the shared
    contacts *inside* a ``contacts`` message, see :class:`SharedContacts`).

    ``wa_id`` may be ``""`` for username users; ``user_id`` is the BSUID (2026)."""

    wa_id: str = ""
    user_id: str = ""
    name: str = ""
    username: str = ""
    country_code: str = ""


@attrs.frozen
class MessageContext:
    """``message.context``: what the message replies to, quotes, or was forwarded as.

    ``forwarded``/``frequently_forwarded`` arrive alone, without ``id``: such a message is not
    a reply (:attr:`is_reply`).  ``id`` may name a message we never stored; callers tolerate it.
    """

    from_: str = ""
    id: str = ""
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: Raw | None = None

    @property
    def is_reply(self) -> bool:
        """True if the message answers (or taps a button of) message :attr:`id`."""
        return bool(self.id)


@attrs.frozen
class Referral:
    """Click-to-WhatsApp ad attribution.  ``ctwa_clid`` is ``None`` for ads placed in
    WhatsApp Status (Meta omits it); image/video/thumbnail URLs and ``welcome_message`` stay
    in ``raw``."""

    source_url: str = ""
    source_id: str = ""
    source_type: str = ""
    body: str = ""
    headline: str = ""
    media_type: str = ""
    ctwa_clid: str | None = None
    raw: Raw = attrs.field(factory=dict, repr=False)


# -- message content -------------------------------------------------------------------------


@attrs.frozen
class Text:
    body: str = ""


@attrs.frozen
class Media:
    """An image, video, audio, document or sticker (``media_type``).

    ``media_id`` is what the two-step download needs; ``url`` (newer payloads) may be absent
    and expires after 5 minutes anyway.  ``sha256`` is passed through as received (base64 in
    webhooks, hex elsewhere).  ``filename`` is always safe to use on disk (see
    :func:`pytake.whatsapp.sanitize_filename`); ``original_filename`` is the untrusted value as
    sent, or ``None``.
    """

    media_type: str
    media_id: str = ""
    mime_type: str = ""
    sha256: str = ""
    caption: str | None = None
    filename: str = "file"
    original_filename: str | None = None
    url: str | None = None
    voice: bool = False
    animated: bool = False


@attrs.frozen
class Location:
    """A shared location; ``latitude``/``longitude`` are always finite floats (a location
    without them is reported as :class:`Unsupported` plus a :class:`ParseProblem`)."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


@attrs.frozen
class SharedContacts:
    """Contact cards shared by the user, as received (any sub-field may be missing)."""

    contacts: list[Raw] = attrs.field(factory=list)


@attrs.frozen
class ButtonReply:
    """A tap on a reply button of an interactive message; route by ``id``."""

    id: str = ""
    title: str = ""


@attrs.frozen
class ListReply:
    """A row picked from an interactive list; route by ``id``."""

    id: str = ""
    title: str = ""
    description: str | None = None


@attrs.frozen
class FlowReply:
    """An ``nfm_reply``: a completed WhatsApp Flow (``name == "flow"``) or an address message.

    ``response`` is ``response_json`` parsed a second time (it carries ``flow_token``); when
    that inner JSON is missing, invalid or not an object, ``response`` is ``None`` and
    ``response_error`` says why.
    """

    name: str = ""
    body: str = ""
    response: Raw | None = None
    response_error: str | None = None


@attrs.frozen
class TemplateButton:
    """A tap on a template quick-reply button: ``payload`` is what we set when sending."""

    payload: str = ""
    text: str = ""


@attrs.frozen
class Reaction:
    """A reaction to message ``message_id``; ``emoji is None`` means the reaction was removed
    (Meta omits the field; some clients send ``""``: both mean removal)."""

    message_id: str = ""
    emoji: str | None = None

    @property
    def is_removal(self) -> bool:
        return self.emoji is None


@attrs.frozen
class OrderItem:
    product_retailer_id: str = ""
    quantity: int = 0
    item_price: Decimal = Decimal(0)
    currency: str = ""


@attrs.frozen
class Order:
    """A cart sent from a catalog.  Prices are :class:`~decimal.Decimal` (they may be
    fractional, whatever the docs' "Integer" label says)."""

    catalog_id: str = ""
    text: str | None = None
    items: list[OrderItem] = attrs.field(factory=list)

    @property
    def total(self) -> Decimal:
        """Sum of ``item_price * quantity`` (items are assumed to share one currency)."""
        return sum((item.item_price * item.quantity for item in self.items), Decimal(0))


@attrs.frozen
class System:
    """A system notice, e.g. ``user_changed_number`` (``new_wa_id``) or
    ``user_changed_user_id`` (``new_user_id``).  System messages carry no ``contacts``."""

    system_type: str = ""
    body: str = ""
    new_wa_id: str = ""
    new_user_id: str = ""


@attrs.frozen
class Unsupported:
    """Content we cannot (or may not) show: ``type: "unsupported"`` (``unsupported_type`` is
    ``unsupported.type``, e.g. ``"poll"``), legacy ``"unknown"``, any type this module does not
    know (``unsupported_type`` is the type name, e.g. ``"hologram"``), an ``interactive``
    without ``interactive.type`` (``"interactive"``), or content too malformed to read.
    The full element is in :attr:`InboundMessage.raw`."""

    unsupported_type: str = ""
    errors: list[ApiError] = attrs.field(factory=list)


@attrs.frozen
class RequestWelcome:
    """The user opened a first-ever chat (welcome messages enabled); opens the window."""


@attrs.frozen
class Edit:
    """The user edited ``original_message_id`` (coexistence numbers only); ``content`` is the
    new content, ``raw_message`` the inner ``edit.message`` object."""

    original_message_id: str = ""
    content: Content = attrs.field(factory=lambda: Unsupported("edit"))
    raw_message: Raw = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Revoke:
    """The user deleted ``original_message_id`` (coexistence numbers only)."""

    original_message_id: str = ""


Content = (
    Text
    | Media
    | Location
    | SharedContacts
    | ButtonReply
    | ListReply
    | FlowReply
    | TemplateButton
    | Reaction
    | Order
    | System
    | Unsupported
    | Edit
    | Revoke
    | RequestWelcome
)


# -- notification elements -------------------------------------------------------------------


@attrs.frozen
class InboundMessage:
    """One ``value.messages[]`` element.

    ``wamid`` is the idempotency key.  ``sender`` is ``from`` (may be ``""`` for username
    users), ``sender_user_id`` the BSUID; key conversations by ``(phone_number_id,
    customer_id)``.  ``type`` is the type as sent (``"hologram"`` stays ``"hologram"``) while
    ``content`` says how we understood it.  ``timestamp`` is epoch seconds (``0`` if absent).
    """

    phone_number_id: str
    display_phone_number: str
    waba_id: str
    wamid: str
    sender: str
    sender_user_id: str
    timestamp: int
    type: str
    content: Content
    contact: Contact | None = None
    context: MessageContext | None = None
    referral: Referral | None = None
    errors: list[ApiError] = attrs.field(factory=list)
    raw: Raw = attrs.field(factory=dict, repr=False)

    @property
    def customer_id(self) -> str:
        """The phone-based id (``from``, else the contact's ``wa_id``) when known, else the
        BSUID.  ``""`` only if the payload carried neither."""
        if self.sender:
            return self.sender
        if self.contact is not None and self.contact.wa_id:
            return self.contact.wa_id
        if self.sender_user_id:
            return self.sender_user_id
        return self.contact.user_id if self.contact is not None else ""


@attrs.frozen
class StatusUpdate:
    """One ``value.statuses[]`` element: news about a message *we* sent (``wamid``).

    ``status`` is as sent (``sent``/``delivered``/``read``/``played``/``failed``/…); apply it
    with :func:`pytake.whatsapp.advance`, which never moves backwards.  ``errors`` is only
    filled on ``failed``.  ``pricing``/``conversation`` are passed through (``conversation`` is
    omitted from v24 on).  The wamid may be one we never sent: ignore it, don't crash.
    """

    phone_number_id: str
    waba_id: str
    wamid: str
    status: str
    timestamp: int
    recipient_id: str = ""
    recipient_user_id: str = ""
    errors: list[ApiError] = attrs.field(factory=list)
    biz_opaque_callback_data: str | None = None
    pricing: Raw | None = None
    conversation: Raw | None = None
    raw: Raw = attrs.field(factory=dict, repr=False)


@attrs.frozen
class ValueErrors:
    """Account/app-level ``value.errors[]`` of a ``messages`` change (e.g. 130429): no chat
    side effects, alert or count them."""

    phone_number_id: str
    waba_id: str
    errors: list[ApiError] = attrs.field(factory=list)


@attrs.frozen
class FieldChange:
    """A change whose ``field`` is not ``messages`` (template, account, quality, …).  Many
    have no ``metadata``: route them by ``waba_id`` (``entry.id``)."""

    field: str
    waba_id: str
    value: Raw = attrs.field(factory=dict)


@attrs.frozen
class TemplateStatusUpdate:
    """``message_template_status_update``: ``event`` is e.g. ``APPROVED``/``REJECTED``/
    ``PAUSED``/``DISABLED``; ``reason`` is as sent (often ``"NONE"``) or ``None``."""

    waba_id: str
    event: str = ""
    template_id: str = ""
    template_name: str = ""
    language: str = ""
    reason: str | None = None


@attrs.frozen
class ParseProblem:
    """Part of the body we could not (fully) read.  ``where`` is a path such as
    ``entry[0].changes[1].value.messages[2]``; ``raw`` is the offending element as received.
    Other elements of the same body are unaffected.  An element may both appear degraded
    (e.g. as :class:`Unsupported`) and be reported here."""

    where: str
    error: str
    raw: Any = attrs.field(default=None, repr=False)


@attrs.frozen
class Notification:
    """Everything one webhook POST carried, in typed form.

    ``ignored`` is set (with the reason) when ``object`` is not
    ``"whatsapp_business_account"``; then every list is empty.  ``messages`` are sorted stably
    by ``(phone_number_id, customer_id, timestamp)``, i.e. in timestamp order per chat;
    the other lists keep body order.
    """

    object: str = ""
    messages: list[InboundMessage] = attrs.field(factory=list)
    statuses: list[StatusUpdate] = attrs.field(factory=list)
    errors: list[ValueErrors] = attrs.field(factory=list)
    changes: list[FieldChange] = attrs.field(factory=list)
    template_updates: list[TemplateStatusUpdate] = attrs.field(factory=list)
    problems: list[ParseProblem] = attrs.field(factory=list)
    ignored: str | None = None

    @property
    def is_empty(self) -> bool:
        """True if there is nothing to act on (an ignored or empty notification)."""
        return not (
            self.messages
            or self.statuses
            or self.errors
            or self.changes
            or self.template_updates
            or self.problems
        )

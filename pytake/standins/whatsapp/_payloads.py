"""Webhook notification bodies as Meta builds them. Pure: no I/O.

`encode` serializes like Meta does before signing: compact JSON with non-ASCII escaped as
``\\uXXXX`` and ``/`` escaped as ``\\/``. A receiver that re-serializes parsed JSON before
checking the signature fails on these bodies, as it would in production.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import attrs


@attrs.frozen
class Business:
    """The business side of every notification: its WABA and phone number."""

    waba_id: str = "310000000000001"
    phone_number_id: str = "420000000000002"
    display_phone_number: str = "15550001111"


#: Country of a calling code, for the two letters that open a BSUID (``BR.1234...``).
_COUNTRIES = {"55": "BR", "34": "ES", "351": "PT", "52": "MX", "54": "AR", "44": "GB", "1": "US"}
_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9._-]+$")


def is_bsuid(value: str) -> bool:
    """True for a business-scoped user id: two capital letters, a dot, then the id."""
    return bool(_BSUID.match(value))


def bsuid_for(wa_id: str) -> str:
    """A stable BSUID for the user with ``wa_id``, shaped like Meta's (``BR.`` + digits).

    Derived from the number so that the same customer gets the same id in every process
    (the stand-in and a simulator in another process agree without talking)."""
    country = next(
        (
            c
            for prefix, c in sorted(_COUNTRIES.items(), key=lambda i: -len(i[0]))
            if wa_id.startswith(prefix)
        ),
        "US",
    )
    number = int.from_bytes(hashlib.sha256(wa_id.encode()).digest()[:8], "big")
    return f"{country}.{number:020d}"


@attrs.frozen
class Customer:
    """A simulated WhatsApp user.

    ``user_id`` is the business-scoped user id (BSUID) Meta sends with every message since
    2026; by default it is derived from ``wa_id``. A username user who hides the number has
    ``wa_id=""`` and only a ``user_id``.
    """

    wa_id: str
    name: str
    user_id: str = attrs.field(
        default=attrs.Factory(lambda self: bsuid_for(self.wa_id), takes_self=True)
    )

    def __attrs_post_init__(self) -> None:
        if not self.wa_id and not self.user_id:
            raise ValueError("a customer needs a wa_id or a user_id")

    @property
    def id(self) -> str:
        """The id a business replies to: the phone-based ``wa_id`` when known, else the BSUID."""
        return self.wa_id or self.user_id


#: Real wamids are base64 of a small binary record; these bytes only make ours look alike.
_WAMID_PREFIX = b"\x15\x02\x00\x12\x18\x14"


def new_wamid() -> str:
    """A fresh, unique message id shaped like Meta's (``wamid.`` + base64)."""
    return "wamid." + base64.b64encode(_WAMID_PREFIX + secrets.token_bytes(18)).decode()


def encode(payload: dict[str, Any]) -> bytes:
    """The bytes Meta would send (and sign) for ``payload``."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def _value(business: Business) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.phone_number_id,
        },
    }


def envelope(business: Business, values: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One POST body: one ``entry`` for the WABA, one ``messages`` change per value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": business.waba_id,
                "changes": [{"value": value, "field": "messages"} for value in values],
            }
        ],
    }


def messages_value(
    business: Business, customer: Customer, messages: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """A change value carrying inbound ``messages`` from one customer."""
    value = _value(business)
    value["contacts"] = [
        {"profile": {"name": customer.name}, "wa_id": customer.wa_id, "user_id": customer.user_id}
    ]
    value["messages"] = list(messages)
    return value


def status_contact(customer: Customer) -> dict[str, Any]:
    """The ``contacts[]`` item of a status webhook: ids only, no profile (as Meta sends)."""
    return {"wa_id": customer.wa_id, "user_id": customer.user_id}


def statuses_value(
    business: Business,
    statuses: Sequence[dict[str, Any]],
    contacts: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A change value carrying outbound ``statuses`` and the ``contacts`` they concern."""
    value = _value(business)
    if contacts:
        value["contacts"] = list(contacts)
    value["statuses"] = list(statuses)
    return value


def _message(
    customer: Customer,
    timestamp: int,
    wamid: str | None,
    kind: str,
    content: dict[str, Any],
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An inbound ``messages[]`` item of type ``kind``, ``content`` under the type's name."""
    message: dict[str, Any] = {
        "from": customer.wa_id,
        "from_user_id": customer.user_id,
        "id": wamid or new_wamid(),
        "timestamp": str(timestamp),
        "type": kind,
    }
    if context is not None:
        message["context"] = context
    message[kind] = content
    return message


def _given(**fields: Any) -> dict[str, Any]:
    """``fields`` but those that are ``None``: Meta leaves out what is absent."""
    return {name: value for name, value in fields.items() if value is not None}


def text_message(
    customer: Customer, body: str, *, timestamp: int, wamid: str | None = None
) -> dict[str, Any]:
    return _message(customer, timestamp, wamid, "text", {"body": body})


def image_message(
    customer: Customer,
    media_id: str,
    *,
    mime_type: str,
    sha256_b64: str,
    timestamp: int,
    caption: str | None = None,
    wamid: str | None = None,
) -> dict[str, Any]:
    return _message(customer, timestamp, wamid, "image", {
        "mime_type": mime_type, "sha256": sha256_b64, "id": media_id, **_given(caption=caption),
    })


def location_message(
    customer: Customer,
    latitude: float,
    longitude: float,
    *,
    timestamp: int,
    name: str | None = None,
    address: str | None = None,
    wamid: str | None = None,
) -> dict[str, Any]:
    location = {"latitude": latitude, "longitude": longitude, **_given(name=name, address=address)}
    return _message(customer, timestamp, wamid, "location", location)


def button_reply_message(
    customer: Customer,
    reply_id: str,
    title: str,
    *,
    context_id: str,
    business_number: str,
    timestamp: int,
    wamid: str | None = None,
) -> dict[str, Any]:
    """A tap on a reply button of the business message ``context_id``; ``context.from`` is
    the business's display number, the sender of that message."""
    return _message(
        customer, timestamp, wamid, "interactive",
        {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
        context={"from": business_number, "id": context_id},
    )


def list_reply_message(
    customer: Customer,
    row_id: str,
    title: str,
    *,
    context_id: str,
    business_number: str,
    timestamp: int,
    description: str | None = None,
    wamid: str | None = None,
) -> dict[str, Any]:
    """A row picked from the list of the business message ``context_id``."""
    row = {"id": row_id, "title": title, **_given(description=description)}
    return _message(
        customer, timestamp, wamid, "interactive", {"type": "list_reply", "list_reply": row},
        context={"from": business_number, "id": context_id},
    )


def reaction_message(
    customer: Customer,
    message_id: str,
    emoji: str | None,
    *,
    timestamp: int,
    wamid: str | None = None,
) -> dict[str, Any]:
    """A reaction; ``emoji=None`` is a removal (Meta omits the field)."""
    reaction = {"message_id": message_id, **_given(emoji=emoji)}
    return _message(customer, timestamp, wamid, "reaction", reaction)


def status(
    wamid: str,
    state: str,
    *,
    recipient_id: str,
    timestamp: int,
    recipient_user_id: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    biz_opaque_callback_data: str | None = None,
) -> dict[str, Any]:
    """One ``statuses[]`` item; ``sent`` and ``delivered`` carry pricing (v24+ shape).

    ``recipient_user_id`` is given only when the message was sent to a BSUID; then
    ``recipient_id`` is the phone-based id if Meta knows it, else ``""``."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(timestamp),
        "recipient_id": recipient_id,
    }
    if recipient_user_id is not None:
        item["recipient_user_id"] = recipient_user_id
    if state in ("sent", "delivered"):
        item["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if errors:
        item["errors"] = list(errors)
    if biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    return item

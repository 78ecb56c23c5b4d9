"""Webhook payloads for the WhatsApp corpus (docs/whatsapp.md#webhook-cases), as builders.

``case_NN_<short>()`` returns what case NN sends: body bytes for POST cases (a tuple of bodies
when the case is about several deliveries), query parameters for the GET handshake cases.
Bodies are encoded like Meta encodes them (compact JSON, non-ASCII escaped) unless the case is
about the encoding.  Ids, numbers and names are invented.  Shared by the parser tests and the
HTTP/inbox tests, so keep the builders free of assertions and I/O.
"""

from __future__ import annotations

import json
from typing import Any

from pytake.whatsapp import sign

Json = dict[str, Any]

WABA_ID = "310000000000001"
PHONE_NUMBER_ID = "420000000000002"
DISPLAY_NUMBER = "15550001111"
OTHER_PHONE_NUMBER_ID = "420000000000009"
CUSTOMER = "34600111222"
CUSTOMER_2 = "34600333444"
CUSTOMER_NAME = "Ana Ruiz"
BSUID = "ES.bsuid.7f3a9c1e5b2d4068a1c3e5f7091b3d5f"
T0 = 1767225600  # 2026-01-01T00:00:00Z
#: "Now" for the late-delivery case (44): three days and a bit after that message's timestamp.
NOW = T0 + 3 * 86400 + 600
SECRET = "corpus-app-secret"
VERIFY_TOKEN = "corpus-verify-token"
CHALLENGE = "8837261054"


# -- building blocks ---------------------------------------------------------------------------


def encode(document: object) -> bytes:
    """Serialize like Meta: compact, non-ASCII escaped as ``\\uXXXX``."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    """The ``X-Hub-Signature-256`` value for ``body``."""
    return sign(body, secret)


def envelope(*entries: Any) -> Json:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def entry(*changes: Any, waba_id: str = WABA_ID) -> Json:
    return {"id": waba_id, "changes": list(changes)}


def messages_change(
    *,
    messages: list[Any] | None = None,
    statuses: list[Any] | None = None,
    errors: list[Any] | None = None,
    contacts: list[Json] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> Json:
    """A ``field: "messages"`` change with whatever arrays are given."""
    value: Json = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if contacts is not None:
        value["contacts"] = contacts
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    if errors is not None:
        value["errors"] = errors
    return {"field": "messages", "value": value}


def contact(wa_id: str = CUSTOMER, name: str | None = CUSTOMER_NAME, **extra: Any) -> Json:
    result: Json = {"wa_id": wa_id, **extra}
    if name is not None:
        result["profile"] = {"name": name}
    return result


def message(
    type_: str,
    wamid: str,
    *,
    sender: str = CUSTOMER,
    timestamp: int | str = T0,
    **fields: Any,
) -> Json:
    """An inbound message; ``fields`` are merged in (the type object, ``context``, …)."""
    ts = str(timestamp) if isinstance(timestamp, int) else timestamp
    return {"from": sender, "id": wamid, "timestamp": ts, "type": type_, **fields}


def text(wamid: str, body: str = "Hola", **kwargs: Any) -> Json:
    return message("text", wamid, text={"body": body}, **kwargs)


def status(
    wamid: str, status_: str, *, timestamp: int = T0, recipient: str = CUSTOMER, **fields: Any
) -> Json:
    return {
        "id": wamid,
        "status": status_,
        "timestamp": str(timestamp),
        "recipient_id": recipient,
        **fields,
    }


def api_error(code: int, title: str, details: str = "") -> Json:
    result: Json = {"code": code, "title": title, "message": title}
    if details:
        result["error_data"] = {"details": details}
    return result


def inbound(*messages: Json, contacts: list[Json] | None = None) -> bytes:
    """One body, one entry, one change, carrying ``messages`` (default contacts: Ana)."""
    change = messages_change(
        messages=list(messages), contacts=[contact()] if contacts is None else contacts
    )
    return encode(envelope(entry(change)))


def statuses(*items: Json) -> bytes:
    return encode(envelope(entry(messages_change(statuses=list(items)))))


# -- 1-4: the GET handshake (query parameters) -------------------------------------------------


def case_01_handshake_valid() -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": CHALLENGE}


def case_02_handshake_wrong_token() -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": CHALLENGE}


def case_03_handshake_bad_mode() -> tuple[dict[str, str], dict[str, str]]:
    return (
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": CHALLENGE},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": CHALLENGE},
    )


def case_04_handshake_no_query() -> dict[str, str]:
    return {}


# -- 5-18: delivery, authenticity, envelope -----------------------------------------------------


def case_05_text() -> bytes:
    return inbound(text("wamid.C05", "Hola, ¿dónde está mi pedido?"))


def case_06_retry_same_body() -> tuple[bytes, bytes]:
    body = inbound(text("wamid.C06", "Hola"))
    return body, body


def case_07_batched_duplicate() -> tuple[bytes, bytes]:
    """``wamid.C07`` alone, then again batched with another message (different bytes)."""
    first = inbound(text("wamid.C07", "Primero"))
    second = inbound(
        text("wamid.C07", "Primero"),
        text("wamid.C07b", "Segundo", timestamp=T0 + 5),
    )
    return first, second


def case_08_parallel_identical() -> tuple[bytes, bytes]:
    body = inbound(text("wamid.C08", "Al mismo tiempo"))
    return body, body


def case_09_bad_signature(secret: str = SECRET) -> tuple[bytes, str]:
    """A body and its signature with one hex digit flipped."""
    body = inbound(text("wamid.C09"))
    good = signature(body, secret)
    flipped = "0" if good[-1] != "0" else "1"
    return body, good[:-1] + flipped


def case_10_missing_signature() -> bytes:
    return inbound(text("wamid.C10"))


def case_11_malformed_signatures(secret: str = SECRET) -> tuple[bytes, list[str]]:
    """Header values that must be rejected without an exception."""
    body = inbound(text("wamid.C11"))
    good = signature(body, secret)
    digest = good.removeprefix("sha256=")
    return body, [
        "SHA256=" + digest,
        "sha256=" + digest[:-2],
        "sha256=" + digest + "00",
        "sha256=" + digest.upper(),
        "sha256=",
        "sha1=" + digest[:40],
    ]


CASE_12_TEXT = "Caf\u00e9 \U0001f600 a/b"


def case_12_escaped_unicode() -> bytes:
    """Meta-style escapes written by hand: ``\\u00e9``, a surrogate-pair emoji and ``\\/``."""
    return (
        b'{"object":"whatsapp_business_account","entry":[{"id":"'
        + WABA_ID.encode()
        + b'","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",'
        b'"metadata":{"display_phone_number":"15550001111","phone_number_id":"'
        + PHONE_NUMBER_ID.encode()
        + b'"},"contacts":[{"profile":{"name":"Jos\\u00e9"},"wa_id":"34600111222"}],'
        b'"messages":[{"from":"34600111222","id":"wamid.C12","timestamp":"1767225600",'
        b'"type":"text","text":{"body":"Caf\\u00e9 \\ud83d\\ude00 a\\/b"}}]}}]}]}'
    )


def case_13_not_json() -> bytes:
    return b"hello"


def case_14_oversized(size: int = 4 * 1024 * 1024 + 1) -> bytes:
    """A well-formed notification of more than ``size`` bytes (default: just over 4 MB)."""
    return inbound(text("wamid.C14", "x" * size))


def case_15_wrong_object() -> bytes:
    return encode({"object": "page", "entry": [{"id": "1", "time": T0, "messaging": []}]})


def case_16_empty() -> tuple[bytes, bytes]:
    """``entry: []``, and an entry without ``changes``."""
    return (
        encode(envelope()),
        encode(envelope({"id": WABA_ID, "time": T0})),
    )


def case_17_batch_12() -> bytes:
    """2 entries x 2 changes x 3 messages, shuffled so no chat is in timestamp order."""
    customers = [CUSTOMER, CUSTOMER_2]
    entries = []
    n = 0
    for e in range(2):
        changes = []
        for c in range(2):
            items = []
            # per chat: timestamps descending in body order
            for k in (2, 1, 0):
                n += 1
                sender = customers[(c + k) % 2]
                ts = T0 + 100 * e + 10 * c + k
                items.append(text(f"wamid.C17.{e}.{c}.{k}", f"m{n}", sender=sender, timestamp=ts))
            changes.append(
                messages_change(
                    messages=items,
                    contacts=[contact(CUSTOMER), contact(CUSTOMER_2, "Bea")],
                    phone_number_id=PHONE_NUMBER_ID if c == 0 else OTHER_PHONE_NUMBER_ID,
                )
            )
        entries.append(entry(*changes, waba_id=f"31000000000000{e + 1}"))
    return encode(envelope(*entries))


def case_18_mixed_batch() -> bytes:
    """One body: a message change, a status change, a value-errors change, plus a broken
    element in each array."""
    return encode(
        envelope(
            entry(
                messages_change(
                    messages=[text("wamid.C18.in"), "not-a-message"],
                    contacts=[contact()],
                ),
                messages_change(statuses=[status("wamid.C18.out", "delivered"), 42]),
                messages_change(errors=[api_error(130429, "Rate limit hit")]),
            )
        )
    )


# -- 19-25: statuses ---------------------------------------------------------------------------


def case_19_status_before_send() -> bytes:
    return statuses(status("wamid.OUT19", "delivered"))


def case_20_statuses_out_of_order() -> tuple[bytes, bytes, bytes]:
    """Three POSTs: ``read``, then ``delivered``, then ``sent`` for the same wamid."""
    return (
        statuses(status("wamid.OUT20", "read", timestamp=T0 + 20)),
        statuses(status("wamid.OUT20", "delivered", timestamp=T0 + 10)),
        statuses(status("wamid.OUT20", "sent", timestamp=T0)),
    )


def case_21_sent_then_read() -> tuple[bytes, bytes]:
    return (
        statuses(status("wamid.OUT21", "sent", timestamp=T0)),
        statuses(status("wamid.OUT21", "read", timestamp=T0 + 30)),
    )


def case_22_unknown_wamid_status() -> bytes:
    """``wamid.BIZAPP22`` was sent from the Business app (unknown to us); the other is ours."""
    return statuses(
        status("wamid.BIZAPP22", "delivered"),
        status("wamid.OUT22", "delivered"),
    )


def case_23_failed_131047() -> bytes:
    return statuses(
        status(
            "wamid.OUT23",
            "failed",
            errors=[
                api_error(
                    131047,
                    "Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since the "
                    "customer last replied to this number.",
                )
            ],
        )
    )


def case_24_failed_distinct() -> bytes:
    return statuses(
        status("wamid.OUT24a", "failed", errors=[api_error(131026, "Message undeliverable")]),
        status(
            "wamid.OUT24b",
            "failed",
            errors=[
                api_error(
                    131049,
                    "This message was not delivered to maintain healthy ecosystem engagement.",
                )
            ],
        ),
        status(
            "wamid.OUT24c", "failed", errors=[api_error(131050, "Unable to deliver the message.")]
        ),
    )


def case_25_status_contacts_wa_id_only() -> bytes:
    """v24 style: ``contacts`` with ``wa_id`` only, ``pricing`` without ``conversation``."""
    change = messages_change(
        contacts=[{"wa_id": CUSTOMER}],
        statuses=[
            status(
                "wamid.OUT25",
                "sent",
                pricing={
                    "billable": True,
                    "pricing_model": "PMP",
                    "type": "regular",
                    "category": "utility",
                },
                biz_opaque_callback_data="ticket-25",
            )
        ],
    )
    return encode(envelope(entry(change)))


# -- 26-50: inbound content --------------------------------------------------------------------


def case_26_bsuid_sender() -> bytes:
    msg = text("wamid.C26", "Hi, it's me", sender="")
    msg["from_user_id"] = BSUID
    return inbound(
        msg,
        contacts=[
            {
                "wa_id": "",
                "user_id": BSUID,
                "profile": {"name": "Ana", "username": "@ana.r", "country_code": "ES"},
            }
        ],
    )


def case_27_changed_number() -> bytes:
    msg = message(
        "system",
        "wamid.C27",
        system={
            "body": "User Ana Ruiz changed from 34600111222 to 34600999888",
            "wa_id": "34600999888",
            "type": "user_changed_number",
        },
    )
    return inbound(msg, contacts=[])  # system messages carry no contacts


def case_28_unsupported_poll() -> bytes:
    return inbound(
        message(
            "unsupported",
            "wamid.C28",
            errors=[
                api_error(
                    131051, "Message type unknown", "Message type is currently not supported."
                )
            ],
            unsupported={"type": "poll"},
        )
    )


def case_29_legacy_unknown() -> bytes:
    return inbound(
        message(
            "unknown",
            "wamid.C29",
            errors=[
                api_error(
                    131051, "Message type unknown", "Message type is currently not supported."
                )
            ],
        )
    )


def case_30_future_type() -> bytes:
    return inbound(message("hologram", "wamid.C30", hologram={"id": "hg-1", "frames": [1, 2, 3]}))


def case_31_reactions() -> tuple[bytes, bytes, bytes]:
    """Add 👍 to ``wamid.OUT31``; removal with ``emoji`` omitted; removal with ``emoji: ""``."""
    return (
        inbound(
            message(
                "reaction",
                "wamid.C31a",
                reaction={"message_id": "wamid.OUT31", "emoji": "\U0001f44d"},
            )
        ),
        inbound(
            message(
                "reaction", "wamid.C31b", timestamp=T0 + 5, reaction={"message_id": "wamid.OUT31"}
            )
        ),
        inbound(
            message(
                "reaction",
                "wamid.C31c",
                timestamp=T0 + 9,
                reaction={"message_id": "wamid.OUT31", "emoji": ""},
            )
        ),
    )


def case_32_reaction_unknown_message() -> bytes:
    return inbound(
        message(
            "reaction", "wamid.C32", reaction={"message_id": "wamid.NEVERSTORED", "emoji": "\u2764"}
        )
    )


def case_33_button_reply_unknown_context() -> bytes:
    return inbound(
        message(
            "interactive",
            "wamid.C33",
            context={"from": DISPLAY_NUMBER, "id": "wamid.NEVERSTORED33"},
            interactive={
                "type": "button_reply",
                "button_reply": {"id": "talk_to_agent", "title": "Talk to an agent"},
            },
        )
    )


def case_34_flow_reply() -> tuple[bytes, bytes]:
    """A Flow response (``response_json`` is a JSON string), and one whose inner JSON is bad."""

    def flow(wamid: str, response_json: str) -> bytes:
        return inbound(
            message(
                "interactive",
                wamid,
                context={"from": DISPLAY_NUMBER, "id": "wamid.OUT34"},
                interactive={
                    "type": "nfm_reply",
                    "nfm_reply": {"name": "flow", "body": "Sent", "response_json": response_json},
                },
            )
        )

    return (
        flow("wamid.C34a", json.dumps({"flow_token": "tkt-991", "rating": "4"})),
        flow("wamid.C34b", '{"flow_token": "tkt-992", "rating": '),
    )


def case_35_template_button() -> bytes:
    return inbound(
        message(
            "button",
            "wamid.C35",
            context={"from": DISPLAY_NUMBER, "id": "wamid.OUT35"},
            button={"payload": "order:8812:track", "text": "Track my order"},
        )
    )


def case_36_media() -> bytes:
    """Image with ``url``, image without, a voice note, and a document named to escape."""
    return inbound(
        message(
            "image",
            "wamid.C36a",
            image={
                "id": "1001",
                "mime_type": "image/jpeg",
                "sha256": "aGVsbG8=",
                "caption": "Broken",
                "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1001",
            },
        ),
        message(
            "image",
            "wamid.C36b",
            timestamp=T0 + 1,
            image={"id": "1002", "mime_type": "image/png", "sha256": "d29ybGQ="},
        ),
        message(
            "audio",
            "wamid.C36c",
            timestamp=T0 + 2,
            audio={
                "id": "998877665544",
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": "cTF3MmUz",
                "voice": True,
            },
        ),
        message(
            "document",
            "wamid.C36d",
            timestamp=T0 + 3,
            document={
                "id": "1004",
                "mime_type": "application/pdf",
                "sha256": "ZG9j",
                "filename": "../../etc/passwd",
                "caption": "invoice",
            },
        ),
    )


def case_37_media_message() -> bytes:
    """An image to download (the download behaviour is tested against the media stand-in)."""
    return inbound(
        message(
            "image",
            "wamid.C37",
            image={"id": "3737", "mime_type": "image/jpeg", "sha256": "aGVsbG8="},
        )
    )


def case_38_file_too_large() -> bytes:
    return inbound(
        message(
            "unsupported",
            "wamid.C38",
            errors=[
                api_error(
                    131052,
                    "Media download error",
                    "Media file size exceeds the maximum allowed size.",
                )
            ],
            unsupported={"type": "document"},
        )
    )


def case_39_location_minimal() -> bytes:
    return inbound(
        message("location", "wamid.C39", location={"latitude": 40.4168, "longitude": -3.7038})
    )


def case_40_contacts_minimal() -> bytes:
    return inbound(
        message("contacts", "wamid.C40", contacts=[{"name": {"formatted_name": "Luis Gómez"}}])
    )


def case_41_order_fractional() -> bytes:
    return inbound(
        message(
            "order",
            "wamid.C41",
            order={
                "catalog_id": "777000111",
                "text": "Para el viernes",
                "product_items": [
                    {
                        "product_retailer_id": "SKU-1",
                        "quantity": 2,
                        "item_price": 12.5,
                        "currency": "EUR",
                    },
                    {
                        "product_retailer_id": "SKU-2",
                        "quantity": "3",
                        "item_price": "0.10",
                        "currency": "EUR",
                    },
                    {
                        "product_retailer_id": "SKU-3",
                        "quantity": 1,
                        "item_price": 19.99,
                        "currency": "EUR",
                    },
                ],
            },
        )
    )


def case_42_referral() -> tuple[bytes, bytes]:
    """A CTWA ad referral, and a Status-ad referral without ``ctwa_clid``."""
    referral = {
        "source_url": "https://fb.me/abc123",
        "source_id": "120200000000001",
        "source_type": "ad",
        "body": "Spring sale",
        "headline": "20% off",
        "media_type": "image",
        "image_url": "https://example.invalid/ad.jpg",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0",
        "welcome_message": {"text": "Hi! How can we help?"},
    }
    status_ad = {k: v for k, v in referral.items() if k != "ctwa_clid"}
    return (
        inbound(text("wamid.C42a", "I saw your ad", referral=referral)),
        inbound(text("wamid.C42b", "I saw your status", referral=status_ad)),
    )


def case_43_forwarded() -> bytes:
    return inbound(
        text("wamid.C43", "look at this", context={"forwarded": True}),
        text("wamid.C43b", "and this", timestamp=T0 + 1, context={"frequently_forwarded": True}),
    )


CASE_44_TIMESTAMP = NOW - 3 * 86400 - 600


def case_44_old_timestamp() -> bytes:
    """A retry arriving three days late (compare with :data:`NOW`)."""
    return inbound(text("wamid.C44", "still there?", timestamp=CASE_44_TIMESTAMP))


def case_45_int_timestamp_numeric_id() -> bytes:
    """JSON numbers where Meta sends strings: timestamp, message id, entry id, phone ids."""
    document = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": 310000000000001,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": 15550001111,
                                "phone_number_id": 420000000000002,
                            },
                            "contacts": [{"profile": {"name": "Ana"}, "wa_id": 34600111222}],
                            "messages": [
                                {
                                    "from": 34600111222,
                                    "id": 123456789,
                                    "timestamp": T0,
                                    "type": "text",
                                    "text": {"body": "numbers"},
                                }
                            ],
                            "statuses": [
                                {
                                    "id": 987654321,
                                    "status": "read",
                                    "timestamp": T0 + 1,
                                    "recipient_id": 34600111222,
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return encode(document)


def case_46_unknown_phone_number_id() -> bytes:
    """Dashboard "test" payload style: dummy ids."""
    change = messages_change(
        messages=[text("wamid.C46", "this is a text message", sender="16315551181")],
        contacts=[contact("16315551181", "test user name")],
        phone_number_id="123456123",
    )
    return encode(envelope(entry(change, waba_id="0")))


def case_47_template_status() -> bytes:
    return encode(
        envelope(
            {
                "id": WABA_ID,
                "time": T0,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 594425479261596,
                            "message_template_name": "order_update",
                            "message_template_language": "es",
                            "reason": "NONE",
                        },
                    }
                ],
            }
        )
    )


def case_48_value_errors() -> bytes:
    return encode(
        envelope(
            entry(
                messages_change(
                    errors=[
                        api_error(
                            130429,
                            "Rate limit hit",
                            "Cloud API message throughput has been reached.",
                        ),
                    ]
                )
            )
        )
    )


def case_49_edit_revoke() -> tuple[bytes, bytes]:
    """An edit of ``wamid.C49orig`` (coexistence), then a revoke of it."""
    return (
        inbound(
            message(
                "edit",
                "wamid.C49e",
                timestamp=T0 + 60,
                edit={
                    "original_message_id": "wamid.C49orig",
                    "message": {"type": "text", "text": {"body": "Hola, corrected"}},
                },
            )
        ),
        inbound(
            message(
                "revoke",
                "wamid.C49r",
                timestamp=T0 + 120,
                revoke={"original_message_id": "wamid.C49orig"},
            )
        ),
    )


def case_50_request_welcome() -> bytes:
    return inbound(message("request_welcome", "wamid.C50"))

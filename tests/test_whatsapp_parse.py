"""The pure webhook parser, status order and error table against the corpus of
tests/whatsapp_corpus.py."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.standins.whatsapp import Business, Customer, encode
from pytake.standins.whatsapp import _payloads as payloads
from pytake.whatsapp import (
    DEFAULT_ERROR_POLICY,
    ERROR_POLICY,
    STATUS_RANK,
    ApiError,
    ButtonReply,
    Edit,
    FlowReply,
    InboundMessage,
    InvalidNotification,
    ListReply,
    Location,
    Media,
    Notification,
    Order,
    Reaction,
    RequestWelcome,
    Revoke,
    SharedContacts,
    System,
    TemplateButton,
    Text,
    Unsupported,
    advance,
    error_policy,
    implied,
    parse_notification,
    sanitize_filename,
    signature_problem,
)

from . import whatsapp_corpus as corpus


def only_message(body: bytes) -> InboundMessage:
    notification = parse_notification(body)
    assert notification.problems == []
    assert len(notification.messages) == 1
    return notification.messages[0]


def apply_statuses(*bodies: bytes, start: str | None = None) -> str | None:
    state = start
    for body in bodies:
        for update in parse_notification(body).statuses:
            state = advance(state, update.status)
    return state


# -- envelope ----------------------------------------------------------------------------------


def test_case_05_text_message_fields() -> None:
    m = only_message(corpus.case_05_text())
    assert m.wamid == "wamid.C05"
    assert m.phone_number_id == corpus.PHONE_NUMBER_ID
    assert m.display_phone_number == corpus.DISPLAY_NUMBER
    assert m.waba_id == corpus.WABA_ID
    assert m.sender == m.customer_id == corpus.CUSTOMER
    assert m.timestamp == corpus.T0
    assert m.type == "text"
    assert m.content == Text("Hola, ¿dónde está mi pedido?")
    assert m.contact is not None and m.contact.name == corpus.CUSTOMER_NAME
    assert m.context is None and m.referral is None and m.errors == []
    assert m.raw["id"] == "wamid.C05"


def test_case_07_same_wamid_in_differently_batched_bodies() -> None:
    first, second = corpus.case_07_batched_duplicate()
    assert first != second
    ids_first = {m.wamid for m in parse_notification(first).messages}
    ids_second = {m.wamid for m in parse_notification(second).messages}
    assert ids_first & ids_second == {"wamid.C07"}


def test_case_09_to_11_signature_cases_are_rejected() -> None:
    body, bad = corpus.case_09_bad_signature()
    assert signature_problem(body, bad, [corpus.SECRET]) is not None
    assert signature_problem(body, corpus.signature(body), [corpus.SECRET]) is None
    assert signature_problem(corpus.case_10_missing_signature(), None, [corpus.SECRET])
    body, headers = corpus.case_11_malformed_signatures()
    for header in headers:
        assert signature_problem(body, header, [corpus.SECRET]) is not None


def test_case_12_escapes_decoded_from_raw_bytes() -> None:
    body = corpus.case_12_escaped_unicode()
    assert b"\\u00e9" in body and b"\\/" in body
    assert signature_problem(body, corpus.signature(body), [corpus.SECRET]) is None
    m = only_message(body)
    assert m.content == Text(corpus.CASE_12_TEXT)
    assert m.contact is not None and m.contact.name == "José"


@pytest.mark.parametrize(
    "body",
    [
        corpus.case_13_not_json(),
        b"",
        b"[]",
        b'"whatsapp_business_account"',
        b"null",
        b"42",
        b"\xff\xfe\x00garbage",
        b'{"object": "whatsapp_business_account", ',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"n": ' + b"9" * 10_000 + b"}",
    ],
)
def test_case_13_not_a_json_object_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidNotification) as info:
        parse_notification(body)
    assert isinstance(info.value, ValueError)
    assert info.value.reason
    assert "hello" not in info.value.reason  # reasons never quote the body


def test_case_15_other_object_is_ignored_with_reason() -> None:
    n = parse_notification(corpus.case_15_wrong_object())
    assert n.object == "page"
    assert n.ignored is not None and "page" in n.ignored
    assert n.is_empty
    missing = parse_notification(b'{"entry": []}')
    assert missing.ignored is not None and missing.is_empty


def test_case_16_empty_entry_or_missing_changes_is_a_noop() -> None:
    for body in corpus.case_16_empty():
        n = parse_notification(body)
        assert n.ignored is None
        assert n.is_empty


def test_case_17_all_twelve_in_timestamp_order_per_chat() -> None:
    n = parse_notification(corpus.case_17_batch_12())
    assert len(n.messages) == 12
    assert len({m.wamid for m in n.messages}) == 12
    chats: dict[tuple[str, str], list[int]] = {}
    for m in n.messages:
        chats.setdefault((m.phone_number_id, m.customer_id), []).append(m.timestamp)
    assert len(chats) == 4
    for timestamps in chats.values():
        assert timestamps == sorted(timestamps)
    assert {m.waba_id for m in n.messages} == {"310000000000001", "310000000000002"}
    # the contact is matched by wa_id, not just the first entry
    for m in n.messages:
        assert m.contact is not None and m.contact.wa_id == m.sender


def test_case_18_mixed_batch_all_three_kinds_and_isolated_problems() -> None:
    n = parse_notification(corpus.case_18_mixed_batch())
    assert [m.wamid for m in n.messages] == ["wamid.C18.in"]
    assert [s.wamid for s in n.statuses] == ["wamid.C18.out"]
    assert len(n.errors) == 1 and n.errors[0].errors[0].code == 130429
    assert len(n.problems) == 2
    wheres = sorted(p.where for p in n.problems)
    assert wheres == [
        "entry[0].changes[0].value.messages[1]",
        "entry[0].changes[1].value.statuses[1]",
    ]
    assert {p.raw for p in n.problems} == {"not-a-message", 42}


def test_one_malformed_element_leaves_the_others_parsed() -> None:
    good_1 = corpus.text("wamid.ok1", "one")
    good_2 = corpus.text("wamid.ok2", "two", timestamp=corpus.T0 + 1)
    document = corpus.envelope(
        "not an entry",
        corpus.entry({"field": "messages", "value": []}, "not a change"),
        corpus.entry(
            corpus.messages_change(
                messages=[
                    good_1,
                    None,
                    {"type": "text", "text": {"body": "no id"}},
                    {"id": "wamid.badloc", "type": "location", "location": {"latitude": "x"}},
                    {
                        "id": "wamid.badorder",
                        "type": "order",
                        "order": {"product_items": [{"item_price": "abc", "quantity": 1}]},
                    },
                    good_2,
                ],
                statuses=[{"status": "read"}, corpus.status("wamid.s1", "read")],
            ),
            {"field": "messages", "value": {"messages": "nope", "statuses": {"id": "x"}}},
        ),
    )
    n = parse_notification(corpus.encode(document))
    by_id = {m.wamid: m for m in n.messages}
    assert by_id["wamid.ok1"].content == Text("one")
    assert by_id["wamid.ok2"].content == Text("two")
    # content that cannot be read degrades, the message itself is kept
    assert by_id["wamid.badloc"].content == Unsupported("location")
    assert by_id["wamid.badorder"].content == Unsupported("order")
    assert [s.wamid for s in n.statuses] == ["wamid.s1"]
    wheres = {p.where for p in n.problems}
    assert "entry[0]" in wheres
    assert "entry[1].changes[1]" in wheres
    assert "entry[2].changes[0].value.messages[1]" in wheres
    assert "entry[2].changes[0].value.messages[2]" in wheres
    assert "entry[2].changes[0].value.messages[3]" in wheres
    assert "entry[2].changes[0].value.messages[4]" in wheres
    assert "entry[2].changes[0].value.statuses[0]" in wheres


# -- statuses -----------------------------------------------------------------------------------


def test_case_19_and_22_statuses_parse_whatever_the_wamid() -> None:
    (update,) = parse_notification(corpus.case_19_status_before_send()).statuses
    assert (update.wamid, update.status) == ("wamid.OUT19", "delivered")
    n = parse_notification(corpus.case_22_unknown_wamid_status())
    assert [s.wamid for s in n.statuses] == ["wamid.BIZAPP22", "wamid.OUT22"]


def test_case_20_out_of_order_never_downgrades() -> None:
    assert apply_statuses(*corpus.case_20_statuses_out_of_order()) == "read"


def test_case_21_sent_then_read_implies_delivered() -> None:
    assert apply_statuses(*corpus.case_21_sent_then_read()) == "read"
    assert "delivered" in implied("read")
    assert implied("delivered") == {"sent"}
    assert implied("sent") == set() and implied("failed") == set() and implied("bogus") == set()


def test_status_advance_table() -> None:
    assert list(STATUS_RANK) == ["sent", "delivered", "read", "played"]
    assert advance(None, "sent") == "sent"
    assert advance("read", "delivered") == "read"
    assert advance("read", "played") == "played"
    # failed: replaces sent, never a state the device already reached
    assert advance(None, "failed") == "failed"
    assert advance("sent", "failed") == "failed"
    assert advance("delivered", "failed") == "delivered"
    assert advance("read", "failed") == "read"
    assert advance("failed", "sent") == "failed"
    assert advance("failed", "delivered") == "delivered"
    # unknown statuses change nothing; unknown current states rank lowest
    assert advance("delivered", "deleted") == "delivered"
    assert advance(None, "warning") is None
    assert advance("pending", "sent") == "sent"


@given(st.permutations(["sent", "delivered", "read", "sent", "delivered"]))
def test_status_final_state_independent_of_arrival_order(order: list[str]) -> None:
    state: str | None = None
    for status in order:
        previous = state
        state = advance(state, status)
        if previous is not None:
            assert STATUS_RANK.get(state or "", 0) >= STATUS_RANK.get(previous, 0)
    assert state == "read"


def test_case_23_24_failed_statuses_keep_their_reasons() -> None:
    (update,) = parse_notification(corpus.case_23_failed_131047()).statuses
    assert update.status == "failed"
    (error,) = update.errors
    assert error.code == 131047 and "24 hours" in error.details
    assert error_policy(error.code).action == "needs_template"
    n = parse_notification(corpus.case_24_failed_distinct())
    actions = [error_policy(s.errors[0].code).action for s in n.statuses]
    assert actions == ["unreachable", "wait_24h", "opted_out"]


def test_case_25_status_with_bare_contact_and_v24_pricing() -> None:
    (update,) = parse_notification(corpus.case_25_status_contacts_wa_id_only()).statuses
    assert update.status == "sent" and update.recipient_id == corpus.CUSTOMER
    assert update.pricing is not None and update.pricing["pricing_model"] == "PMP"
    assert update.conversation is None
    assert update.biz_opaque_callback_data == "ticket-25"
    assert update.errors == []


# -- identity and content ------------------------------------------------------------------------


def test_case_26_bsuid_sender_keys_by_user_id() -> None:
    m = only_message(corpus.case_26_bsuid_sender())
    assert m.sender == ""
    assert m.sender_user_id == corpus.BSUID
    assert m.customer_id == corpus.BSUID
    assert m.contact is not None
    assert (m.contact.user_id, m.contact.username, m.contact.country_code) == (
        corpus.BSUID,
        "@ana.r",
        "ES",
    )


def test_case_27_changed_number_without_contacts() -> None:
    m = only_message(corpus.case_27_changed_number())
    assert m.contact is None
    assert m.content == System(
        system_type="user_changed_number",
        body="User Ana Ruiz changed from 34600111222 to 34600999888",
        new_wa_id="34600999888",
        new_user_id="",
    )
    assert m.customer_id == corpus.CUSTOMER


def test_case_28_29_unsupported_and_legacy_unknown() -> None:
    poll = only_message(corpus.case_28_unsupported_poll())
    assert isinstance(poll.content, Unsupported)
    assert poll.content.unsupported_type == "poll"
    assert [e.code for e in poll.content.errors] == [131051]
    assert poll.errors[0].details == "Message type is currently not supported."
    legacy = only_message(corpus.case_29_legacy_unknown())
    assert legacy.type == "unknown"
    assert isinstance(legacy.content, Unsupported)
    assert legacy.content.unsupported_type == "unknown"
    assert [e.code for e in legacy.content.errors] == [131051]


def test_case_30_future_type_kept_with_raw() -> None:
    m = only_message(corpus.case_30_future_type())
    assert m.type == "hologram"
    assert m.content == Unsupported("hologram")
    assert m.raw["hologram"]["frames"] == [1, 2, 3]


def test_case_31_reaction_set_then_removed_both_ways() -> None:
    add, omitted, empty = (only_message(b).content for b in corpus.case_31_reactions())
    assert add == Reaction("wamid.OUT31", "\U0001f44d") and not add.is_removal
    assert omitted == Reaction("wamid.OUT31", None) and omitted.is_removal
    assert empty == Reaction("wamid.OUT31", None) and empty.is_removal


def test_case_33_button_reply_with_unknown_context() -> None:
    m = only_message(corpus.case_33_button_reply_unknown_context())
    assert m.content == ButtonReply("talk_to_agent", "Talk to an agent")
    assert m.context is not None and m.context.is_reply
    assert m.context.id == "wamid.NEVERSTORED33" and m.context.from_ == corpus.DISPLAY_NUMBER


def test_case_34_flow_reply_parsed_twice_or_error_kept() -> None:
    good, bad = (only_message(b).content for b in corpus.case_34_flow_reply())
    assert good == FlowReply("flow", "Sent", {"flow_token": "tkt-991", "rating": "4"}, None)
    assert isinstance(bad, FlowReply)
    assert bad.response is None
    assert bad.response_error is not None and "JSON" in bad.response_error


def test_flow_reply_inner_json_not_an_object() -> None:
    msg = corpus.message(
        "interactive",
        "wamid.F",
        interactive={"type": "nfm_reply", "nfm_reply": {"name": "flow", "response_json": "[1]"}},
    )
    content = only_message(corpus.inbound(msg)).content
    assert isinstance(content, FlowReply)
    assert content.response is None and content.response_error is not None


def test_list_reply_and_interactive_without_type() -> None:
    listed = corpus.message(
        "interactive",
        "wamid.L",
        interactive={
            "type": "list_reply",
            "list_reply": {"id": "ship_express", "title": "Express", "description": "1-2 days"},
        },
    )
    broken = corpus.message(
        "interactive",
        "wamid.I",
        timestamp=corpus.T0 + 1,
        interactive={},
        errors=[{"code": 131051, "title": "Message type unknown"}],
    )
    n = parse_notification(corpus.inbound(listed, broken))
    assert n.problems == []
    first, second = n.messages
    assert first.content == ListReply("ship_express", "Express", "1-2 days")
    assert second.content == Unsupported("interactive", [ApiError(131051, "Message type unknown")])


def test_case_35_template_quick_reply_button() -> None:
    m = only_message(corpus.case_35_template_button())
    assert m.content == TemplateButton("order:8812:track", "Track my order")
    assert m.context is not None and m.context.id == "wamid.OUT35"


def test_case_36_media_variants_and_filename_sanitized() -> None:
    n = parse_notification(corpus.case_36_media())
    assert n.problems == []
    with_url, without_url, voice, document = (m.content for m in n.messages)
    assert isinstance(with_url, Media) and with_url.url is not None
    assert with_url.media_id == "1001" and with_url.caption == "Broken"
    assert with_url.filename == "image.jpg"
    assert isinstance(without_url, Media) and without_url.url is None
    assert without_url.filename == "image.png"
    assert isinstance(voice, Media) and voice.voice and voice.media_type == "audio"
    assert voice.mime_type == "audio/ogg; codecs=opus" and voice.filename == "audio.ogg"
    assert isinstance(document, Media)
    assert document.original_filename == "../../etc/passwd"
    assert document.filename == "passwd"
    assert "/" not in document.filename and ".." not in document.filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, "file"),
        ("", "file"),
        ("..", "file"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/abs/path/report.pdf", "report.pdf"),
        (".bashrc", "bashrc"),
        ("in\x00voice\x1f.pdf", "invoice.pdf"),
        ("my\u202egnp.exe", "mygnp.exe"),
        ("a..b...c.txt", "a.b.c.txt"),
        ('inv<o>i:c"e|?*.pdf', "inv_o_i_c_e___.pdf"),
        ("CON.txt", "_CON.txt"),
        ("  spaced   name .pdf ", "spaced name.pdf"),
        ("factura ñandú.pdf", "factura ñandú.pdf"),
    ],
)
def test_sanitize_filename_examples(name: str | None, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_sanitize_filename_truncates_keeping_extension() -> None:
    long = sanitize_filename("a" * 500 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")
    wide = sanitize_filename("€" * 300 + ".docx")
    assert len(wide.encode()) <= 255 and wide.endswith(".docx")


@given(st.one_of(st.none(), st.text(max_size=400)))
def test_sanitize_filename_properties(name: str | None) -> None:
    result = sanitize_filename(name)
    assert result
    assert "/" not in result and "\\" not in result and ".." not in result
    assert not result.startswith(".")
    assert len(result) <= 200 and len(result.encode()) <= 255
    assert all(ord(ch) >= 0x20 and ch != "\x7f" for ch in result)


def test_case_38_file_too_large_is_unsupported_with_131052() -> None:
    m = only_message(corpus.case_38_file_too_large())
    assert isinstance(m.content, Unsupported)
    assert [e.code for e in m.content.errors] == [131052]


def test_case_39_location_with_only_coordinates() -> None:
    content = only_message(corpus.case_39_location_minimal()).content
    assert content == Location(40.4168, -3.7038)
    assert isinstance(content, Location) and isinstance(content.latitude, float)


def test_case_40_shared_contact_with_only_a_name() -> None:
    content = only_message(corpus.case_40_contacts_minimal()).content
    assert content == SharedContacts([{"name": {"formatted_name": "Luis Gómez"}}])


def test_case_41_order_fractional_prices_as_decimal() -> None:
    content = only_message(corpus.case_41_order_fractional()).content
    assert isinstance(content, Order)
    assert content.catalog_id == "777000111" and content.text == "Para el viernes"
    assert [i.item_price for i in content.items] == [
        Decimal("12.5"),
        Decimal("0.10"),
        Decimal("19.99"),
    ]
    assert [i.quantity for i in content.items] == [2, 3, 1]
    assert content.total == Decimal("45.29")


def test_case_42_referral_with_and_without_ctwa_clid() -> None:
    ad, status_ad = (only_message(b) for b in corpus.case_42_referral())
    assert ad.referral is not None and status_ad.referral is not None
    assert ad.referral.ctwa_clid is not None and ad.referral.ctwa_clid.startswith("ARA")
    assert ad.referral.source_type == "ad" and ad.referral.headline == "20% off"
    assert ad.referral.raw["welcome_message"]["text"] == "Hi! How can we help?"
    assert status_ad.referral.ctwa_clid is None
    assert status_ad.referral.source_id == "120200000000001"


def test_case_43_forwarded_is_not_a_reply() -> None:
    n = parse_notification(corpus.case_43_forwarded())
    forwarded, frequently = n.messages
    assert forwarded.context is not None and forwarded.context.forwarded
    assert not forwarded.context.is_reply
    assert frequently.context is not None and frequently.context.frequently_forwarded
    assert not frequently.context.is_reply


def test_case_44_late_delivery_keeps_original_timestamp() -> None:
    m = only_message(corpus.case_44_old_timestamp())
    assert m.timestamp == corpus.CASE_44_TIMESTAMP
    assert corpus.NOW - m.timestamp > 24 * 3600


def test_case_45_numbers_normalised() -> None:
    n = parse_notification(corpus.case_45_int_timestamp_numeric_id())
    assert n.problems == []
    (m,) = n.messages
    assert m.wamid == "123456789" and m.timestamp == corpus.T0
    assert m.sender == "34600111222" and m.waba_id == "310000000000001"
    assert m.phone_number_id == "420000000000002" and m.display_phone_number == "15550001111"
    assert m.contact is not None and m.contact.wa_id == "34600111222"
    (s,) = n.statuses
    assert s.wamid == "987654321" and s.timestamp == corpus.T0 + 1
    assert s.recipient_id == "34600111222"


def test_case_46_unconfigured_number_still_parses() -> None:
    m = only_message(corpus.case_46_unknown_phone_number_id())
    assert m.phone_number_id == "123456123" and m.waba_id == "0"


def test_case_47_template_status_routed_by_waba() -> None:
    n = parse_notification(corpus.case_47_template_status())
    (change,) = n.changes
    assert change.field == "message_template_status_update" and change.waba_id == corpus.WABA_ID
    (update,) = n.template_updates
    assert update.waba_id == corpus.WABA_ID
    assert (update.event, update.template_id, update.template_name, update.language) == (
        "APPROVED",
        "594425479261596",
        "order_update",
        "es",
    )
    assert update.reason == "NONE"
    assert n.messages == [] and n.statuses == []


def test_other_fields_become_field_changes() -> None:
    body = corpus.encode(
        corpus.envelope(
            corpus.entry(
                {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
                {"field": "user_preferences", "value": "not-an-object"},
            )
        )
    )
    n = parse_notification(body)
    assert [(c.field, c.value) for c in n.changes] == [
        ("account_update", {"event": "VERIFIED_ACCOUNT"}),
        ("user_preferences", {}),
    ]
    assert n.template_updates == []


def test_case_48_value_level_errors_only() -> None:
    n = parse_notification(corpus.case_48_value_errors())
    assert n.messages == [] and n.statuses == [] and n.problems == []
    (errors,) = n.errors
    assert errors.phone_number_id == corpus.PHONE_NUMBER_ID and errors.waba_id == corpus.WABA_ID
    assert errors.errors == [
        ApiError(
            130429,
            "Rate limit hit",
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        )
    ]
    assert error_policy(130429).retryable


def test_case_49_edit_and_revoke() -> None:
    edit_body, revoke_body = corpus.case_49_edit_revoke()
    edit = only_message(edit_body).content
    assert isinstance(edit, Edit)
    assert edit.original_message_id == "wamid.C49orig"
    assert edit.content == Text("Hola, corrected")
    assert edit.raw_message["type"] == "text"
    assert only_message(revoke_body).content == Revoke("wamid.C49orig")


def test_nested_edit_does_not_recurse() -> None:
    inner = {"type": "edit", "edit": {"original_message_id": "x", "message": {"type": "edit"}}}
    msg = corpus.message("edit", "wamid.E", edit={"original_message_id": "y", "message": inner})
    content = only_message(corpus.inbound(msg)).content
    assert isinstance(content, Edit) and content.content == Unsupported("edit")


def test_case_50_request_welcome() -> None:
    m = only_message(corpus.case_50_request_welcome())
    assert m.content == RequestWelcome() and m.type == "request_welcome"


def test_every_body_case_parses() -> None:
    for name in dir(corpus):
        if not name.startswith("case_") or name == "case_13_not_json":
            continue
        value = getattr(corpus, name)()
        values = value if isinstance(value, tuple) else (value,)
        for body in values:
            if isinstance(body, bytes):
                assert isinstance(parse_notification(body), Notification), name


# -- error policy --------------------------------------------------------------------------------


def test_error_policy_table() -> None:
    assert error_policy(131056).action == "retry_pair_backoff" and error_policy(131056).retryable
    for code in (1, 2, 131000, 131016, 133004, 130429, 131057, 4, 80007):
        assert error_policy(code).retryable, code
    for code in (0, 190):
        assert error_policy(code).action == "token_alert"
    assert error_policy(250).action == "config_alert"
    assert error_policy(131026).action == "unreachable" and not error_policy(131026).retryable
    assert error_policy(132015).action == "config_alert"
    assert error_policy(100).action == "no_retry"
    assert error_policy(999_999) is DEFAULT_ERROR_POLICY and DEFAULT_ERROR_POLICY.retryable
    for policy in ERROR_POLICY.values():
        assert policy.retryable == (policy.action in {"retry_backoff", "retry_pair_backoff"})
        assert policy.description


def test_api_error_lenient_builder() -> None:
    assert ApiError.from_raw("nope") == ApiError()
    assert ApiError.from_raw({"code": "131047", "error_data": "x"}).code == 131047
    assert ApiError.from_raw({"code": 100, "error_user_msg": "bad"}).details == "bad"
    assert ApiError.list_from_raw({"code": 1}) == []


# -- robustness ----------------------------------------------------------------------------------

_KEYS = [
    "object",
    "entry",
    "id",
    "time",
    "changes",
    "field",
    "value",
    "messaging_product",
    "metadata",
    "display_phone_number",
    "phone_number_id",
    "contacts",
    "profile",
    "name",
    "wa_id",
    "user_id",
    "messages",
    "statuses",
    "errors",
    "from",
    "from_user_id",
    "timestamp",
    "type",
    "text",
    "body",
    "context",
    "referral",
    "image",
    "audio",
    "document",
    "sticker",
    "video",
    "filename",
    "location",
    "latitude",
    "longitude",
    "interactive",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "response_json",
    "button",
    "reaction",
    "emoji",
    "message_id",
    "order",
    "product_items",
    "item_price",
    "quantity",
    "system",
    "unsupported",
    "edit",
    "message",
    "original_message_id",
    "revoke",
    "status",
    "recipient_id",
    "pricing",
    "conversation",
    "code",
    "error_data",
    "details",
    "event",
    "message_template_id",
    "forwarded",
]
_TYPES = [
    "text",
    "image",
    "document",
    "location",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "unsupported",
    "unknown",
    "edit",
    "revoke",
    "contacts",
    "request_welcome",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "hologram",
    "messages",
    "message_template_status_update",
    "whatsapp_business_account",
]

_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(_TYPES),
)
_json = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(_KEYS), children, max_size=4),
    ),
    max_leaves=12,
)
_fields = st.dictionaries(st.sampled_from(_KEYS), _json, max_size=5)


def _or_junk(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the expected shape, sometimes anything at all."""
    return st.one_of(shape, shape, shape, _json)


_messages = st.builds(
    lambda fields, msg_type, type_object: {**fields, "type": msg_type, msg_type: type_object},
    _fields,
    st.sampled_from(_TYPES),
    _json,
)
_values = st.fixed_dictionaries(
    {},
    optional={
        "metadata": _or_junk(
            st.fixed_dictionaries(
                {}, optional={"phone_number_id": _json, "display_phone_number": _json}
            )
        ),
        "contacts": _or_junk(st.lists(_or_junk(_fields), max_size=3)),
        "messages": _or_junk(st.lists(_or_junk(_messages), max_size=4)),
        "statuses": _or_junk(st.lists(_or_junk(_fields), max_size=3)),
        "errors": _or_junk(st.lists(_or_junk(_fields), max_size=2)),
    },
)
_changes = st.fixed_dictionaries(
    {},
    optional={
        "field": _or_junk(st.sampled_from(["messages", "message_template_status_update"])),
        "value": _or_junk(_values),
    },
)
_entries = st.fixed_dictionaries(
    {}, optional={"id": _json, "changes": _or_junk(st.lists(_or_junk(_changes), max_size=3))}
)
_documents = st.fixed_dictionaries(
    {"object": st.just("whatsapp_business_account")},
    optional={"entry": _or_junk(st.lists(_or_junk(_entries), max_size=3))},
)


@settings(max_examples=250, deadline=None)
@given(_documents)
def test_random_shapes_under_known_keys_never_raise(document: dict[str, Any]) -> None:
    """Any JSON under the known keys parses; nothing but InvalidNotification may escape."""
    n = parse_notification(json.dumps(document).encode())
    assert n.ignored is None
    for m in n.messages:
        assert isinstance(m.wamid, str) and m.wamid
        assert isinstance(m.timestamp, int)
    for s in n.statuses:
        assert isinstance(s.wamid, str) and s.wamid
        assert all(isinstance(e.code, int) for e in s.errors)


@settings(max_examples=250, deadline=None)
@given(_messages)
def test_random_message_bodies_never_lose_the_message(message: dict[str, Any]) -> None:
    message = {**message, "id": "wamid.H"}
    n = parse_notification(corpus.inbound(message))
    assert [m.wamid for m in n.messages] == ["wamid.H"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_invalid_notification(body: bytes) -> None:
    with contextlib.suppress(InvalidNotification):
        parse_notification(body)


def test_events_are_frozen() -> None:
    m = only_message(corpus.case_05_text())
    with pytest.raises(AttributeError):
        m.wamid = "other"  # type: ignore[misc]
    assert not hasattr(m, "__dict__")  # slots


def test_sorting_is_stable_for_equal_keys() -> None:
    same = [corpus.text(f"wamid.S{i}", str(i)) for i in range(5)]
    n = parse_notification(corpus.inbound(*same))
    assert [m.wamid for m in n.messages] == [f"wamid.S{i}" for i in range(5)]


def test_contact_matching_falls_back_to_first() -> None:
    stranger = corpus.text("wamid.X", sender="34999")
    m = only_message(
        corpus.inbound(
            stranger, contacts=[corpus.contact("111", "First"), corpus.contact("222", "Second")]
        )
    )
    assert m.contact is not None and m.contact.name == "First"


# -- the Cloud API stand-in's webhook shapes (2026 identities) -----------------------------------


def test_stand_in_bodies_parse_bsuid_customers_and_statuses_with_contacts() -> None:
    """What the stand-in's simulator posts since the BSUID change: a customer known only by
    user id, a button tap naming the business in ``context.from``, and statuses that carry
    ``value.contacts`` (ids, no profile) for a message sent to a BSUID."""
    business = Business()
    bia = Customer(wa_id="", name="Bia", user_id="BR.12345678901234567890")
    ana = Customer(wa_id=corpus.CUSTOMER, name="Ana")
    tap = payloads.button_reply_message(
        bia, "yes", "Sim", context_id="wamid.OUT1", business_number="15550001111", timestamp=1
    )
    statuses = [
        payloads.status(
            "wamid.OUT1", "sent", recipient_id="", recipient_user_id=bia.user_id, timestamp=4
        ),
        payloads.status("wamid.OUT2", "read", recipient_id=ana.wa_id, timestamp=5),
    ]
    contacts = [payloads.status_contact(bia), payloads.status_contact(ana)]
    values = [
        payloads.messages_value(business, bia, [payloads.text_message(bia, "oi", timestamp=2)]),
        payloads.messages_value(business, bia, [tap]),
        payloads.messages_value(business, ana, [payloads.text_message(ana, "olá", timestamp=3)]),
        payloads.statuses_value(business, statuses, contacts),
    ]
    body = encode(payloads.envelope(business, values))
    notification = parse_notification(body)
    assert notification.problems == []
    by_type = {m.type: m for m in notification.messages if m.sender == ""}
    text, button = by_type["text"], by_type["interactive"]
    for message in (text, button):
        assert message.sender_user_id == bia.user_id and message.customer_id == bia.user_id
        assert message.contact is not None and message.contact.user_id == bia.user_id
    assert button.context is not None and button.context.from_ == "15550001111"
    [from_ana] = [m for m in notification.messages if m.sender == ana.wa_id]
    assert from_ana.customer_id == ana.wa_id
    assert from_ana.contact is not None and from_ana.contact.user_id == ana.user_id
    sent, read = notification.statuses
    assert (sent.recipient_id, sent.recipient_user_id) == ("", bia.user_id)
    assert (read.recipient_id, read.recipient_user_id) == (ana.wa_id, "")

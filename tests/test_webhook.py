"""The webhook over real HTTP, on PostgreSQL: the cases of tests/whatsapp_corpus.py
(docs/whatsapp.md#webhook-cases) that involve the edge, storage and the conversation actors
(the parser's own cases are in test_whatsapp_parse)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import trio
from hypothesis import strategies as st

from pytake.contracts import GetConversation
from pytake.messaging import _inbox as inbox_module
from pytake.whatsapp import sign

from ._support import brief
from .webhook_support import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    Edge,
    encode,
    envelope,
    running_edge,
    text_message,
    wa_id,
    wamid,
    webhook_settings,
)


@pytest.fixture
async def edge(pg_url: str) -> AsyncIterator[Edge]:
    async with running_edge(webhook_settings(pg_url)) as e:
        yield e


async def messages_of(edge: Edge, sender: str) -> list[str]:
    rows = await edge.query(
        "SELECT m.whatsapp_message_id FROM messages m JOIN conversations c "
        "ON c.id = m.conversation_id JOIN customers u ON u.id = c.customer_id "
        "WHERE u.wa_id = :w ORDER BY m.id",
        w=sender,
    )
    return [r[0] for r in rows]


async def conversation_view(edge: Edge, sender: str) -> object:
    (row,) = await edge.query(
        "SELECT id FROM customers WHERE wa_id = :w AND business_phone_number_id = :p",
        w=sender, p=PHONE_NUMBER_ID,
    )
    ref = edge.engine.router.ref("conversation", f"{PHONE_NUMBER_ID}:{row[0]}")
    return await ref.ask(GetConversation())


# -- 1-4: the verification handshake


async def test_handshake(edge: Edge) -> None:
    ok = await edge.client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "8837261054"},
    )
    assert ok.status_code == 200 and ok.text == "8837261054"
    assert ok.headers["content-type"].startswith("text/plain")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ):
        refused = await edge.client.get("/webhooks/whatsapp", params=params)
        assert refused.status_code == 403 and "1" not in refused.text


# -- 5-8: storing once


async def test_signed_text_is_stored_once_and_reaches_its_conversation(edge: Edge) -> None:
    sender = wa_id()
    message = text_message(sender, "Hola, ¿dónde está mi pedido? 📦 https://x.y/z")
    body = encode(envelope([message]))
    assert b"\\u00bf" in body and b"\\/" in body  # Meta's escaping (case 12)
    first = await edge.post(body)
    second = await edge.post(body)  # case 6: Meta's retry
    assert first.status_code == 200 and second.status_code == 200
    await edge.settle()
    assert await messages_of(edge, sender) == [message["id"]]
    (payload,) = await edge.query(
        "SELECT payload FROM messages WHERE whatsapp_message_id = :w", w=message["id"]
    )
    assert payload[0]["text"]["body"] == "Hola, ¿dónde está mi pedido? 📦 https://x.y/z"
    view = await conversation_view(edge, sender)
    assert view.inbound_count == 1 and view.last_customer_message_at == 1767225600  # type: ignore[attr-defined]


async def test_stored_rows_go_to_processing_without_being_read_back(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "SCAN_INTERVAL", 3600.0)
    async with running_edge(webhook_settings(pg_url)) as edge:
        inbox = edge.engine.inbox
        with trio.fail_after(5):
            while inbox.scans < 1:  # the read at start
                await trio.sleep(0.01)
        scans = inbox.scans
        senders = [wa_id() for _ in range(10)]
        for sender in senders:
            assert (await edge.post(encode(envelope([text_message(sender)])))).status_code == 200
        with trio.fail_after(10):
            while not all([await messages_of(edge, sender) for sender in senders]):
                await trio.sleep(0.02)
        assert inbox.scans == scans


async def test_a_body_is_processed_in_the_transaction_that_stores_it(pg_url: str) -> None:
    async with running_edge(webhook_settings(pg_url)) as edge:
        inbox = edge.engine.inbox
        with trio.fail_after(5):
            while not inbox.ingest.caught_up:  # the processor has read the table at start
                await trio.sleep(0.01)
        sender = wa_id()
        sent = [text_message(sender, str(i), ts=1767225600 + i) for i in range(5)]
        for i, m in enumerate(sent):
            assert (await edge.post(encode(envelope([m])))).status_code == 200
            # already stored as a message when acknowledged: no later processing step
            assert await messages_of(edge, sender) == [x["id"] for x in sent[: i + 1]]
        assert inbox.ingested == 5
        view = await conversation_view(edge, sender)
        assert view.inbound_count == 5  # type: ignore[attr-defined]


async def test_a_batch_over_the_ingest_limit_is_only_stored_then_processed_in_order(
    pg_url: str,
) -> None:
    async with running_edge(webhook_settings(pg_url)) as edge:
        inbox = edge.engine.inbox
        inbox.ingest.max_batch = 0  # every batch is "too big"
        sender = wa_id()
        sent = [text_message(sender, str(i), ts=1767225600 + i) for i in range(5)]
        for m in sent:
            assert (await edge.post(encode(envelope([m])))).status_code == 200
        await edge.settle()
        assert await messages_of(edge, sender) == [m["id"] for m in sent]
        assert inbox.ingested == 0
        assert inbox.processed >= 5


async def test_same_wamid_in_differently_batched_bodies_and_in_parallel(edge: Edge) -> None:
    sender, other = wa_id(), wa_id()
    m1, m2 = text_message(sender, "um"), text_message(other, "dois")
    bodies = [encode(envelope([m1])), encode(envelope([m2, m1])), encode(envelope([m1, m2]))]
    async with trio.open_nursery() as nursery:  # case 8: at the same moment
        for body in bodies * 3:
            nursery.start_soon(edge.post, body)
    await edge.settle()
    assert await messages_of(edge, sender) == [m1["id"]]
    assert await messages_of(edge, other) == [m2["id"]]
    view = await conversation_view(edge, sender)
    assert view.inbound_count == 1  # type: ignore[attr-defined]


# -- 9-11, 14: refused before anything is stored


async def test_bad_signatures_are_refused_and_nothing_is_stored(edge: Edge) -> None:
    sender = wa_id()
    body = encode(envelope([text_message(sender)]))
    good = sign(body, APP_SECRET)
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    cases = {
        flipped: "does not match",
        None: "missing",
        "SHA256=" + good[7:]: "must start with",
        good[:-2]: "64 lowercase hex",
        sign(body, "another-secret"): "does not match",
    }
    for signature, reason in cases.items():
        response = await edge.post(body, signature=signature)
        assert response.status_code == 401, signature
        assert reason in response.json()["error"]
    await edge.settle()
    assert await messages_of(edge, sender) == []
    assert (await edge.query("SELECT count(*) FROM inbox WHERE body = :b", b=body))[0][0] == 0


async def _raw_post(edge: Edge, head: bytes, body: bytes) -> bytes:
    """Talk HTTP/1.1 by hand, so a body can be announced and not sent, or streamed."""
    port = int(str(edge.client.base_url).rsplit(":", 1)[1].rstrip("/"))
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    answer = b""

    async def send() -> None:
        # the server may answer and close before the body is all sent: that is the point
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(head + body)

    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(send)
        with trio.fail_after(10):
            while b"\r\n\r\n" not in answer:
                try:
                    chunk = await stream.receive_some()
                except trio.BrokenResourceError:
                    break
                if not chunk:
                    break
                answer += chunk
        nursery.cancel_scope.cancel()
    return answer


async def test_oversized_body_is_refused_before_reading(edge: Edge) -> None:
    # announced as 5 MB and never sent: the answer comes without reading (or hashing) it
    head = (b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
            b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n\r\n")
    assert (await _raw_post(edge, head, b"")).startswith(b"HTTP/1.1 413")
    # chunked, no length: the limit applies while reading
    chunk = b" " * (1024 * 1024)
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"
    head = (b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"\r\n")
    assert (await _raw_post(edge, head, body)).startswith(b"HTTP/1.1 413")


# -- 13, 15, 16: acknowledged, not processed further


async def test_unparseable_body_is_acked_and_dead_lettered(edge: Edge) -> None:
    body = b"hello " + wamid().encode()
    response = await edge.post(body)
    assert response.status_code == 200
    await edge.settle()
    (state,) = await edge.query("SELECT state FROM inbox WHERE body = :b", b=body)
    assert state[0] == "dead"
    letters = await edge.engine.dead_letters(kind="whatsapp-inbox")
    assert any("hello" in d.message for d in letters)
    metrics = (await edge.client.get("/metrics")).text
    assert 'pytake_inbound_messages_total{outcome="dead_letter"}' in metrics


async def test_wrong_object_and_empty_entries_are_acked_noops(edge: Edge) -> None:
    for doc in ({"object": "page", "entry": []}, {"object": "whatsapp_business_account",
                                                  "entry": []},
                {"object": "whatsapp_business_account", "entry": [{"id": "1"}]}):
        assert (await edge.post(encode(doc))).status_code == 200
    await edge.settle()


# -- 17, 18: batches


async def test_batch_of_entries_changes_and_messages_all_processed(edge: Edge) -> None:
    senders = [wa_id() for _ in range(3)]
    entries = []
    for e in range(2):
        changes = []
        for c in range(2):
            msgs = [text_message(s, f"{e}{c}", ts=1767225600 + e * 10 + c) for s in senders]
            changes.append(envelope(msgs)["entry"][0]["changes"][0])
        entries.append({"id": "310000000000001", "changes": changes})
    body = encode({"object": "whatsapp_business_account", "entry": entries})
    assert (await edge.post(body)).status_code == 200
    await edge.settle()
    for sender in senders:
        assert len(await messages_of(edge, sender)) == 4
        view = await conversation_view(edge, sender)
        assert view.inbound_count == 4 and view.last_customer_message_at == 1767225611  # type: ignore[attr-defined]


async def _outbound(edge: Edge, sender: str) -> str:
    """Store an outbound message for ``sender``'s conversation; return its wamid."""
    out = wamid()
    await edge.post(encode(envelope([text_message(sender)])))
    await edge.settle()
    (conv,) = await edge.query(
        "SELECT c.id FROM conversations c JOIN customers u ON u.id = c.customer_id "
        "WHERE u.wa_id = :w", w=sender,
    )

    def insert(session: object) -> None:
        import sqlalchemy as sa

        session.execute(  # type: ignore[attr-defined]
            sa.text("INSERT INTO messages (conversation_id, whatsapp_message_id, direction, type,"
                    " payload, status, created_at) VALUES (:c, :w, 'out', 'text', '{}', 'sent', "
                    "CURRENT_TIMESTAMP)"),
            {"c": conv[0], "w": out},
        )

    await edge.engine.db.run(insert)
    return out


def status(id: str, state: str, ts: int, recipient: str, **extra: object) -> dict[str, object]:
    return {"id": id, "status": state, "timestamp": str(ts), "recipient_id": recipient, **extra}


# -- 19-24: statuses


async def test_statuses_never_move_backwards_and_unknown_ones_are_ignored(edge: Edge) -> None:
    sender = wa_id()
    out = await _outbound(edge, sender)
    batch = [status(out, "read", 300, sender), status(wamid(), "delivered", 301, sender),
             status(out, "delivered", 200, sender), status(out, "sent", 100, sender)]
    assert (await edge.post(encode(envelope(statuses=batch)))).status_code == 200
    await edge.settle()
    (row,) = await edge.query(
        "SELECT status, read_at IS NOT NULL, sent_at IS NOT NULL FROM messages "
        "WHERE whatsapp_message_id = :w", w=out,
    )
    assert tuple(row) == ("read", True, True)


async def test_failed_131047_marks_the_conversation_as_needing_a_template(edge: Edge) -> None:
    sender = wa_id()
    out = await _outbound(edge, sender)
    error = {"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
             "error_data": {"details": "more than 24 hours"}}
    batch = [status(out, "failed", 400, sender, errors=[error])]
    await edge.post(encode(envelope(statuses=batch)))
    await edge.settle()
    (row,) = await edge.query(
        "SELECT status, error_code FROM messages WHERE whatsapp_message_id = :w", w=out
    )
    assert tuple(row) == ("failed", 131047)
    view = await conversation_view(edge, sender)
    assert view.needs_template  # type: ignore[attr-defined]
    # a new customer message opens the window again
    await edge.post(encode(envelope([text_message(sender, ts=1767300000)])))
    await edge.settle()
    assert not (await conversation_view(edge, sender)).needs_template  # type: ignore[attr-defined]


# -- 26, 27, 31, 44, 46, 49


async def test_bsuid_user_without_phone_gets_a_conversation(edge: Edge) -> None:
    bsuid = "BR.user." + wamid()
    message = {"from": "", "from_user_id": bsuid, "id": wamid(), "timestamp": "1767225600",
               "type": "text", "text": {"body": "oi"}}
    contacts = [{"user_id": bsuid, "wa_id": "", "profile": {"username": "ana"}}]
    await edge.post(encode(envelope([message], contacts=contacts)))
    await edge.settle()
    rows = await edge.query("SELECT wa_id, bsuid FROM customers WHERE bsuid = :b", b=bsuid)
    assert [tuple(r) for r in rows] == [(None, bsuid)]


async def test_changed_number_rekeys_customer_and_keeps_history(edge: Edge) -> None:
    old, new = wa_id(), wa_id()
    first = text_message(old)
    await edge.post(encode(envelope([first])))
    system = {"from": old, "id": wamid(), "timestamp": "1767225700", "type": "system",
              "system": {"body": "changed", "wa_id": new, "type": "user_changed_number"}}
    await edge.post(encode(envelope([system], contacts=[])))
    later = text_message(new, ts=1767225800)
    await edge.post(encode(envelope([later])))
    await edge.settle()
    assert await messages_of(edge, new) == [first["id"], system["id"], later["id"]]
    assert await messages_of(edge, old) == []


async def test_reaction_set_then_cleared_without_a_new_message(edge: Edge) -> None:
    sender = wa_id()
    target = text_message(sender)
    await edge.post(encode(envelope([target])))
    react = {"from": sender, "id": wamid(), "timestamp": "1767225601", "type": "reaction",
             "reaction": {"message_id": target["id"], "emoji": "👍"}}
    await edge.post(encode(envelope([react])))
    await edge.settle()
    (payload,) = await edge.query(
        "SELECT payload FROM messages WHERE whatsapp_message_id = :w", w=target["id"]
    )
    assert payload[0]["reaction"]["emoji"] == "👍"
    for removal in ({"message_id": target["id"]}, {"message_id": target["id"], "emoji": ""}):
        msg = {"from": sender, "id": wamid(), "timestamp": "1767225602", "type": "reaction",
               "reaction": removal}
        await edge.post(encode(envelope([msg])))
        await edge.settle()
        (payload,) = await edge.query(
            "SELECT payload FROM messages WHERE whatsapp_message_id = :w", w=target["id"]
        )
        assert "reaction" not in payload[0]
    stray = {"from": sender, "id": wamid(), "timestamp": "1767225603", "type": "reaction",
             "reaction": {"message_id": wamid(), "emoji": "🔥"}}  # case 32
    assert (await edge.post(encode(envelope([stray])))).status_code == 200
    await edge.settle()
    assert await messages_of(edge, sender) == [target["id"]]


async def test_late_retry_keeps_original_time_and_does_not_reopen_the_window(edge: Edge) -> None:
    sender = wa_id()
    await edge.post(encode(envelope([text_message(sender, ts=1767400000)])))
    await edge.post(encode(envelope([text_message(sender, ts=1767100000)])))  # 3 days older
    await edge.settle()
    view = await conversation_view(edge, sender)
    assert view.last_customer_message_at == 1767400000  # type: ignore[attr-defined]


async def test_unconfigured_phone_number_is_acked_and_ignored(pg_url: str) -> None:
    settings = webhook_settings(pg_url, PYTAKE_WHATSAPP_PHONE_NUMBER_IDS="111,222")
    async with running_edge(settings) as e:
        sender = wa_id()
        response = await e.post(encode(envelope([text_message(sender)])))
        assert response.status_code == 200
        await e.settle()
        assert await e.query("SELECT id FROM customers WHERE wa_id = :w", w=sender) == []


async def test_edit_and_revoke_change_the_original(edge: Edge) -> None:
    sender = wa_id()
    original = text_message(sender, "first")
    await edge.post(encode(envelope([original])))
    edit = {"from": sender, "id": wamid(), "timestamp": "1767225700", "type": "edit",
            "edit": {"original_message_id": original["id"],
                     "message": {"type": "text", "text": {"body": "second"}}}}
    await edge.post(encode(envelope([edit])))
    await edge.settle()
    (payload,) = await edge.query(
        "SELECT payload FROM messages WHERE whatsapp_message_id = :w", w=original["id"]
    )
    assert payload[0]["edits"][0]["message"]["message"]["text"]["body"] == "second"
    revoke = {"from": sender, "id": wamid(), "timestamp": "1767225800", "type": "revoke",
              "revoke": {"original_message_id": original["id"]}}
    await edge.post(encode(envelope([revoke])))
    await edge.settle()
    (payload,) = await edge.query(
        "SELECT payload FROM messages WHERE whatsapp_message_id = :w", w=original["id"]
    )
    assert payload[0]["revoked"] is True and "text" not in payload[0]


async def test_webhook_metrics(edge: Edge) -> None:
    await edge.post(encode(envelope([text_message(wa_id())])))
    await edge.post(b"{}", signature="sha256=" + "0" * 64)
    await edge.settle()
    text = (await edge.client.get("/metrics")).text
    assert 'pytake_webhook_requests_total{status="200"}' in text
    assert 'pytake_webhook_requests_total{status="401"}' in text
    assert "pytake_webhook_ack_seconds_bucket" in text
    assert 'pytake_inbound_messages_total{outcome="stored"}' in text


# -- acknowledged means durable: a restart between the 200 and the processing loses nothing


async def test_restart_between_ack_and_processing_loses_nothing(pg_url: str) -> None:
    settings = webhook_settings(pg_url)
    sender = wa_id()
    messages = [text_message(sender, str(i), ts=1767225600 + i) for i in range(5)]
    async with running_edge(settings) as e:
        # the processor is stopped first: the bodies are acknowledged, then the process "dies"
        await e.engine.root.terminate_child("whatsapp-inbox")
        for m in messages:
            assert (await e.post(encode(envelope([m])))).status_code == 200
        assert await messages_of(e, sender) == []
    async with running_edge(settings) as e:
        await e.settle()
        assert await messages_of(e, sender) == [m["id"] for m in messages]
        view = await conversation_view(e, sender)
        assert view.inbound_count == 5  # type: ignore[attr-defined]


async def test_storage_outage_answers_503_with_retry_after(private_postgres: object) -> None:
    pg = private_postgres
    async with running_edge(webhook_settings(pg.url)) as e:  # type: ignore[attr-defined]
        sender = wa_id()
        assert (await e.post(encode(envelope([text_message(sender)])))).status_code == 200
        pg.stop()  # type: ignore[attr-defined]
        refused = await e.post(encode(envelope([text_message(sender)])))
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert brief(refused) == {"error": "storage unavailable, retry later"}
        pg.start()  # type: ignore[attr-defined]
        with trio.fail_after(30):
            while (await e.post(encode(envelope([text_message(sender)])))).status_code != 200:
                await trio.sleep(0.2)


# -- nothing a sender sends yields a 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["object", "entry", "changes", "value", "messages", "statuses", "id",
                         "from", "type", "text", "timestamp", "metadata", "phone_number_id",
                         "errors", "contacts", "reaction", "field"]), inner, max_size=5),
    max_leaves=20,
)


async def test_no_input_yields_a_500(edge: Edge) -> None:
    import json as _json

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as hst

    bodies: list[bytes] = []

    @settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None)
    @given(json_values, hst.binary(max_size=50))
    def collect(doc: object, junk: bytes) -> None:
        bodies.append(_json.dumps(doc).encode())
        bodies.append(junk)

    collect()
    for body in bodies:
        signed = await edge.post(body)
        unsigned = await edge.post(body, signature=None)
        assert signed.status_code == 200, body
        assert unsigned.status_code == 401
    for method in ("PUT", "DELETE", "PATCH"):
        response = await edge.client.request(method, "/webhooks/whatsapp")
        assert response.status_code == 405
    weird = await edge.client.post(
        "/webhooks/whatsapp", content=b"{}", headers={"x-hub-signature-256": b"sha256=\xc3\xa9"}
    )
    assert weird.status_code == 401
    await edge.settle()
    (pending,) = await edge.query("SELECT count(*) FROM inbox WHERE state = 'pending'")
    assert pending[0] == 0


async def test_a_backlog_is_processed_in_batches_with_the_same_effects(pg_url: str) -> None:
    """Bodies that pile up are processed set-based (PostgreSQL); interleaved reactions,
    renames and duplicates still take effect in order."""
    async with running_edge(webhook_settings(pg_url)) as e:
        await e.engine.root.terminate_child("whatsapp-inbox")
        senders = [wa_id() for _ in range(6)]
        sent: dict[str, list[str]] = {s: [] for s in senders}
        first = text_message(senders[0], "primeira", ts=1767225600)
        bodies = [encode(envelope([first]))]
        sent[senders[0]].append(first["id"])
        for i in range(40):
            sender = senders[i % 6]
            m = text_message(sender, f"m{i}", ts=1767225601 + i)
            sent[sender].append(m["id"])
            bodies.append(encode(envelope([m])))
            if i == 10:  # a reaction in the middle of the backlog
                react = {"from": senders[0], "id": wamid(), "timestamp": "1767225700",
                         "type": "reaction", "reaction": {"message_id": first["id"],
                                                          "emoji": "🙂"}}
                bodies.append(encode(envelope([react])))
            if i == 20:  # the same body again (Meta's retry) inside the backlog
                bodies.append(bodies[-1])
        renamed = text_message(senders[1], "novo nome", ts=1767225800)
        bodies.append(encode(envelope([renamed], contacts=[{"profile": {"name": "Bia"},
                                                             "wa_id": senders[1]}])))
        sent[senders[1]].append(renamed["id"])
        for body in bodies:
            assert (await e.post(body)).status_code == 200
        assert await e.engine.inbox.process_pending() == len(bodies)
        await e.settle()
        for sender, ids in sent.items():
            assert await messages_of(e, sender) == ids
            view = await conversation_view(e, sender)
            assert view.inbound_count == len(ids)  # type: ignore[attr-defined]
        (payload,) = await e.query(
            "SELECT payload FROM messages WHERE whatsapp_message_id = :w", w=first["id"]
        )
        assert payload[0]["reaction"]["emoji"] == "🙂"
        (name,) = await e.query("SELECT name FROM customers WHERE wa_id = :w", w=senders[1])
        assert name[0] == "Bia"

"""Acknowledged means stored, once: unstorable characters, one bad element of a batch, two
writers on the same rows, and a body too large for the webhook (real PostgreSQL and SQLite,
real HTTP on loopback)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import sqlalchemy as sa
import trio
from hypothesis import HealthCheck, given, settings

from pytake.store import Database

from .agent_support import running_desk
from .test_webhook import _raw_post
from .webhook_support import (
    Edge,
    encode,
    envelope,
    running_edge,
    text_message,
    wa_id,
    webhook_settings,
)

NUL = "bad \u0000 nul"
SURROGATE = "\ud800x lone"
PLAIN = "plain olá 😀"
REPLACED = {NUL: "bad \ufffd nul", SURROGATE: "\ufffdx lone", PLAIN: PLAIN}


async def _stored_texts(edge: Edge, wamids: list[str]) -> dict[str, list[str]]:
    rows = await edge.query(
        "SELECT whatsapp_message_id, payload FROM messages WHERE whatsapp_message_id IN "
        "(" + ", ".join(f"'{w}'" for w in wamids) + ")"
    )
    texts: dict[str, list[str]] = {}
    for wamid_, payload in rows:
        if isinstance(payload, str):  # SQLite's JSON is text to a plain query
            payload = json.loads(payload)
        texts.setdefault(wamid_, []).append(payload["text"]["body"])
    return texts


async def test_a_batch_with_nul_and_lone_surrogates_stores_and_delivers_every_message(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, capacity=10) as desk:
        (email,) = desk.agents
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            orders = [(NUL, SURROGATE, PLAIN), (SURROGATE, PLAIN, NUL), (PLAIN, NUL, SURROGATE)]
            sent: dict[str, str] = {}  # wamid -> expected stored text
            previews: list[str] = []
            for order in orders:
                messages = []
                for text in order:
                    message = text_message(wa_id(), text)
                    messages.append(message)
                    sent[message["id"]] = REPLACED[text]
                    previews.append(REPLACED[text])
                # Meta's encoding: "\u0000" and "\ud800" arrive as JSON escapes.
                response = await desk.edge.post(encode(envelope(messages)))
                assert response.status_code == 200
            await desk.edge.settle()
            stored = await _stored_texts(desk.edge, list(sent))
            assert stored == {w: [text] for w, text in sent.items()}
            # Every customer reached the agent: one offer each, the text made storable.
            with trio.fail_after(15):
                while len(agent.events_of("conversation.offered")) < len(sent):
                    await agent.changed.wait()
            offered = sorted(e["data"]["preview"] for e in agent.events_of("conversation.offered"))
            assert offered == sorted(previews)
            events = await desk.edge.query(
                "SELECT count(*) FROM conversation_events e JOIN messages m "
                "ON m.id = CAST(e.payload->>'message_id' AS BIGINT) "
                "WHERE e.type = 'customer_message' AND m.whatsapp_message_id = ANY(:w)",
                w=list(sent),
            )
            assert events[0][0] == len(sent)
            letters = [*await desk.edge.engine.dead_letters(kind="whatsapp-inbox"),
                       *await desk.edge.engine.dead_letters(kind="whatsapp-element")]
            # (The run's database is shared: other tests' dead letters may be there.)
            assert [d for d in letters if any(w in d.message for w in sent)] == []



async def test_unstorable_names_and_ids_are_stored_on_either_database(db_url: str) -> None:
    async with running_edge(webhook_settings(db_url)) as edge:
        sender = wa_id()
        message = text_message(sender, NUL, context={"from": "x\u0000", "id": "\ud800"})
        contacts = [{"profile": {"name": "Ana \u0000 \udc00"}, "wa_id": sender}]
        assert (await edge.post(encode(envelope([message], contacts=contacts)))).status_code \
            == 200
        await edge.settle()
        (name,) = await edge.query("SELECT name FROM customers WHERE wa_id = :w", w=sender)
        assert name[0] == "Ana \ufffd \ufffd"
        stored = await _stored_texts(edge, [message["id"]])
        assert stored == {message["id"]: [REPLACED[NUL]]}


async def test_one_element_the_database_refuses_is_dead_lettered_alone(pg_url: str) -> None:
    async with running_edge(webhook_settings(pg_url)) as edge:
        good = [text_message(wa_id(), "primeira"), text_message(wa_id(), "terceira")]
        # A wamid longer than the column holds: the database refuses that message only.
        bad = text_message(wa_id(), "segunda", id="wamid." + "x" * 300)
        body = encode(envelope([good[0], bad, good[1]]))
        assert (await edge.post(body)).status_code == 200
        await edge.settle()
        stored = await _stored_texts(edge, [m["id"] for m in good])
        assert stored == {good[0]["id"]: ["primeira"], good[1]["id"]: ["terceira"]}
        (state,) = await edge.query("SELECT state FROM inbox WHERE body = :b", b=body)
        assert state[0] == "processed"
        letters = await edge.engine.dead_letters(kind="whatsapp-element")
        assert len([d for d in letters if bad["id"] in d.message]) == len(letters) == 1
        assert "segunda" in letters[0].message and "x" * 300 in letters[0].message
        assert "too long" in letters[0].error
        metrics = (await edge.client.get("/metrics")).text
        assert 'pytake_inbound_messages_total{outcome="dead_letter"} 1.0' in metrics
        assert 'pytake_inbound_messages_total{outcome="stored"} 2.0' in metrics


# Random Unicode, controls and lone surrogates included (what JSON can carry).
_TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                              categories=None), min_size=1, max_size=40)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(_TEXT, min_size=1, max_size=6))
async def test_every_acknowledged_message_of_random_unicode_is_stored_once(
    pg_url: str, batch: list[str]
) -> None:
    async with running_edge(webhook_settings(pg_url)) as edge:
        messages = [text_message(wa_id(), text) for text in batch]
        body = encode(envelope(messages))
        assert (await edge.post(body)).status_code == 200
        assert (await edge.post(body)).status_code == 200  # Meta's retry: nothing twice
        await edge.settle()
        stored = await _stored_texts(edge, [m["id"] for m in messages])
        assert sorted(stored) == sorted(m["id"] for m in messages)
        for m in messages:
            (text,) = stored[m["id"]]
            expected = "".join(
                "\ufffd" if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF else c
                for c in m["text"]["body"]
            )
            assert text == expected
        events = await edge.query(
            "SELECT count(*) FROM conversation_events WHERE type = 'customer_message' "
            "AND conversation_id IN (SELECT conversation_id FROM messages "
            "WHERE whatsapp_message_id = ANY(:w))", w=[m["id"] for m in messages])
        assert events[0][0] == len(messages)


class _Rendezvous:
    """Both first attempts meet between their two updates; a retry goes straight on."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2)
        self.lock = threading.Lock()
        self.runs = 0

    def meet(self) -> None:
        with self.lock:
            self.runs += 1
            first_attempts = self.runs <= 2
        if first_attempts:
            self.barrier.wait(timeout=10)


def _lock_both(session: Any, first: int, second: int, rendezvous: _Rendezvous) -> None:
    session.execute(sa.text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :id"), {"id": first})
    rendezvous.meet()
    session.execute(sa.text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :id"),
                    {"id": second})


async def test_a_deadlock_victim_is_retried_and_both_writers_succeed(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        await db.run(lambda s: s.execute(sa.text(
            "CREATE TABLE IF NOT EXISTS deadlock_probe (id int PRIMARY KEY, n int)")))
        await db.run(lambda s: s.execute(sa.text(
            "INSERT INTO deadlock_probe VALUES (1, 0), (2, 0) "
            "ON CONFLICT (id) DO UPDATE SET n = 0")))
        # Each transaction takes one row, waits for the other, then takes the other's row:
        # PostgreSQL aborts one as the deadlock's victim; run_sync runs it again.
        rendezvous = _Rendezvous()
        errors: list[BaseException] = []

        def writer(first: int, second: int) -> None:
            try:
                db.run_sync(_lock_both, first, second, rendezvous)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=pair) for pair in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        await trio.to_thread.run_sync(lambda: [t.join(30) for t in threads])
        assert errors == []
        assert rendezvous.runs == 3  # the victim ran twice
        rows = await db.run(lambda s: list(s.execute(sa.text(
            "SELECT id, n FROM deadlock_probe ORDER BY id"))))
        assert [tuple(r) for r in rows] == [(1, 2), (2, 2)]
    finally:
        # The run's database is shared: leave it with the schema's tables only.
        await db.run(lambda s: s.execute(sa.text("DROP TABLE IF EXISTS deadlock_probe")))
        await db.aclose()


async def test_a_body_too_large_sent_whole_still_gets_its_413(pg_url: str) -> None:
    async with running_edge(webhook_settings(pg_url)) as edge:
        size = 4 * 1024 * 1024 + 1
        head = (b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                b"X-Hub-Signature-256: sha256=" % size + b"0" * 64 + b"\r\n\r\n")
        answer = await _raw_post(edge, head, b"{" + b" " * (size - 1))
        assert answer.startswith(b"HTTP/1.1 413")

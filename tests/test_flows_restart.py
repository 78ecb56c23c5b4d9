"""A `pytake serve` process killed with SIGKILL right after a flow answered: the customer's
message is replayed from the journal over an older snapshot when it starts again, the flow
runs that turn again, and its messages are not sent a second time (real PostgreSQL, HTTP and
the Cloud API stand-in)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.standins.whatsapp import Customer, CustomerSimulator, run_standin
from pytake.store import Database

from .flow_support import publish_examples
from .process_support import free_port, server_env, server_process, until_ready
from .webhook_support import APP_SECRET, wa_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "flows"
#: The triage flow's nodes by id (what it sends).
NODES = {n["id"]: n for n in json.loads((EXAMPLES / "triage.json").read_text())["nodes"]}


def _publish_triage(session: Any) -> None:
    publish_examples(session, ("triage",))


def _unrecorded(session: Session, wa_id: str) -> tuple[int, int]:
    """How many replies to the customer ``wa_id`` are stored, and how many of those are
    still without the id WhatsApp gave them."""
    row = session.execute(sa.text(
        "SELECT count(*), count(*) FILTER (WHERE m.whatsapp_message_id IS NULL) "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "JOIN customers u ON u.id = c.customer_id WHERE u.wa_id = :w AND m.direction = 'out'"),
        {"w": wa_id}).one()
    return int(row[0]), int(row[1])


async def until_recorded(*, db_url: str, wa_id: str, n: int) -> None:
    async with Database(db_url) as db:
        with trio.fail_after(20):
            while True:
                stored, unrecorded = await db.run(_unrecorded, wa_id, readonly=True)
                if stored >= n and not unrecorded:
                    return
                await trio.sleep(0.01)


async def test_a_turn_replayed_after_a_kill_sends_nothing_twice(
    pg_url: str, tmp_path: Path
) -> None:
    async with Database(pg_url) as db:
        await db.run(_publish_triage)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    async with run_standin(token="sim-token") as standin:
        env = server_env(
            pg_url, tmp_path,
            PYTAKE_WHATSAPP_APP_SECRET=APP_SECRET,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_FLOWS_DEFAULT="triage",
        )
        customer = Customer(wa_id(), "Ana")

        def bodies() -> list[Any]:
            return [s.body for s in standin.sent if not s.is_read_receipt]

        async def until_sent(n: int) -> None:
            with trio.fail_after(20):
                while len(bodies()) < n:
                    await trio.sleep(0.01)

        async with CustomerSimulator(base + "/webhooks/whatsapp", APP_SECRET,
                                     customers=[customer], standin=standin) as sim:
            with server_process(env, port, log) as first:
                await until_ready(base)
                await sim.send_text(customer, "oi")
                await until_sent(2)  # the welcome and the menu
                # Their sends are recorded: killed between a send and its record, a row
                # would hold back the customer's next messages until a status webhook or
                # the stale sweep settles it (sends are at most once; see
                # pytake/messaging/_outbox.py), which is not what this test is about.
                await until_recorded(db_url=pg_url, wa_id=customer.wa_id, n=2)
                # Killed before the actor's snapshot is written behind (every second).
                first.send_signal(signal.SIGKILL)
                first.wait(10)
            with server_process(env, port, log):
                await until_ready(base)  # the journal has been replayed by now
                assert [b["type"] for b in bodies()] == ["text", "interactive"]
                await sim.send_text(customer, "2")  # the flow goes on where it was
                await until_sent(3)
                # No waiting for duplicates to show up: the replayed "oi" is handled before
                # "2" (journal order), and its messages are stored before its turn ends; a
                # customer's messages go out in the order stored. So had the replay stored
                # any anew, they would have been sent before the answer to "2", third here.
                sent = bodies()
                assert [b["type"] for b in sent[:3]] == ["text", "interactive", "text"]
                assert sent[0]["text"]["body"] == NODES["welcome"]["text"]
                assert sent[2]["text"]["body"] == NODES["ask_problem"]["text"]
                # And nothing is left to go out later: no message to the customer is still
                # pending or being sent in the outbox; it holds three, and three were sent.
                assert await _settled_outbox(pg_url, str(sent[0]["to"])) == 3
                assert len(bodies()) == 3
    assert "Traceback" not in log.read_text(errors="replace")


async def _settled_outbox(pg_url: str, recipient: str) -> int:
    """Once no message to ``recipient`` is pending or being sent in the outbox (every one is
    sent or failed for good): how many messages to ``recipient`` it holds."""
    async with Database(pg_url) as db:
        with trio.fail_after(20):
            while True:
                waiting, total = await db.run(_outbox_counts, recipient, readonly=True)
                if not waiting:
                    return total
                await trio.sleep(0.01)


def _outbox_counts(session: Session, recipient: str) -> tuple[int, int]:
    """The outbox's messages to ``recipient``: (still pending or being sent, all)."""
    waiting, total = session.execute(
        sa.text(
            "SELECT count(*) FILTER (WHERE state IN ('pending', 'sending')), count(*) "
            "FROM outbox WHERE recipient = :recipient AND message_id IS NOT NULL"
        ),
        {"recipient": recipient},
    ).one()
    return int(waiting), int(total)

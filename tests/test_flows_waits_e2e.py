"""A flow's timed nodes in a live conversation: an engine with a published flow, a customer
writing through signed webhooks, the bot's messages arriving at the Cloud API stand-in.

The flow greets, pauses (``wait``), sends one message per item (a ``loop`` over a list), then
waits for the customer (``silence_timeout`` with two reminders). A customer who stays silent
gets both reminders and then the ``timeout`` edge's goodbye; one who answers after the first
reminder takes the ``reply`` edge, with the answer in the variable.

The engine's timers follow trio's clock, so these tests run on a `trio.testing.MockClock`
that moves at real speed (the engine talks to its database and to the stand-in for real) and
is jumped past each wait once the engine is quiet, instead of sleeping through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from trio.testing import MockClock

from pytake.flowrun import publish
from pytake.standins.whatsapp import CloudApiStandIn, Customer, CustomerSimulator, run_standin

from .webhook_support import APP_SECRET, Edge, running_edge, wa_id, webhook_settings

SILENCE = 600  # seconds the flow waits for the customer before each reminder
PAUSE = 30  # seconds of the wait node

FLOW: dict[str, Any] = {
    "format": 1,
    "id": "timed",
    "name": "Timed nodes",
    "start": "greet",
    "nodes": [
        {"id": "greet", "type": "send_text", "text": "Olá! Já te passo a lista."},
        {"id": "pause", "type": "wait", "seconds": PAUSE},
        {"id": "items", "type": "set_variable", "variable": "items",
         "value": ["boleto", "nota", "recibo"]},
        {"id": "each", "type": "loop", "max_iterations": 5, "for_each": "vars.items",
         "item": "doc"},
        {"id": "say", "type": "send_text", "text": "Documento: {{vars.doc}}"},
        {"id": "listen", "type": "silence_timeout", "seconds": SILENCE,
         "reminder": "Ainda está aí?", "reminders": 2, "variable": "answer"},
        {"id": "thanks", "type": "send_text", "text": "Obrigado: {{vars.answer}}"},
        {"id": "bye", "type": "send_text", "text": "Encerrando por falta de resposta."},
        {"id": "done", "type": "end"},
        {"id": "gone", "type": "end", "resolved": False},
        {"id": "too_many", "type": "end", "resolved": False},
    ],
    "edges": [
        {"from": "greet", "to": "pause"},
        {"from": "pause", "to": "items"},
        {"from": "items", "to": "each"},
        {"from": "each", "on": "body", "to": "say"},
        {"from": "say", "to": "each"},
        {"from": "each", "on": "done", "to": "listen"},
        {"from": "each", "on": "exceeded", "to": "too_many"},
        {"from": "listen", "on": "reply", "to": "thanks"},
        {"from": "listen", "on": "timeout", "to": "bye"},
        {"from": "thanks", "to": "done"},
        {"from": "bye", "to": "gone"},
    ],
}


@pytest.fixture
def clock() -> MockClock:
    """The run's clock (pytest-trio uses a `trio.abc.Clock` fixture): real speed, jumped
    by the tests."""
    return MockClock(rate=1.0)


@attrs.define
class Live:
    edge: Edge
    standin: CloudApiStandIn
    sim: CustomerSimulator
    customer: Customer
    clock: MockClock

    @property
    def to(self) -> str:
        return "+" + self.customer.wa_id  # how the engine addresses the customer

    def texts(self) -> list[str]:
        return [s.body["text"]["body"] for s in self.standin.sent
                if s.body.get("to") == self.to and s.body.get("type") == "text"]

    async def wait_texts(self, n: int) -> list[str]:
        """The customer's first ``n`` texts, once they have reached the stand-in."""
        with trio.fail_after(15):
            while len(self.texts()) < n:
                await trio.sleep(0.01)
        return self.texts()

    async def quiet(self) -> None:
        """Wait until the engine has nothing left to do (its turns run, its timers armed,
        its messages sent), so that a jump of the clock only fires the flow's wait."""
        await self.edge.settle()
        with trio.fail_after(15):
            while await self.edge.query(
                "SELECT id FROM outbox WHERE recipient = :w AND state IN ('pending', 'sending')",
                w=self.to,
            ):
                await trio.sleep(0.01)

    async def jump(self, seconds: float) -> None:
        await self.quiet()
        self.clock.jump(seconds)

    async def steps(self) -> list[tuple[str, str]]:
        """The flow's steps so far (node, step type), for the customer's conversation."""
        with trio.fail_after(15):  # steps are written behind the replies
            while True:
                rows = await self.edge.query(
                    "SELECT e.node_key, e.step_type FROM flow_executions e "
                    "JOIN conversations c ON c.id = e.conversation_id "
                    "JOIN customers u ON u.id = c.customer_id WHERE u.wa_id = :w "
                    "ORDER BY e.id", w=self.customer.wa_id)
                steps = [(str(node), str(kind)) for node, kind in rows]
                if steps and steps[-1][0] in {"done", "gone", "too_many"}:
                    return steps
                await trio.sleep(0.02)


@asynccontextmanager
async def live(url: str, tmp_path: Path, clock: MockClock) -> AsyncIterator[Live]:
    async with run_standin(token="sim-token") as standin:
        settings = webhook_settings(
            url, PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_WHATSAPP_MEDIA_DIR=str(tmp_path / "media"),
            PYTAKE_FLOWS_DEFAULT="timed", PYTAKE_SECRET_KEY="w" * 40,
        )
        customer = Customer(wa_id(), "Ana")
        async with running_edge(settings) as edge:
            await edge.engine.db.run(lambda session: publish(session, FLOW))
            target = str(edge.client.base_url).rstrip("/") + "/webhooks/whatsapp"
            # No status webhooks: nothing is in flight when the clock jumps.
            async with CustomerSimulator(target, APP_SECRET, customers=[customer],
                                         standin=standin, follow_statuses=False) as sim:
                yield Live(edge, standin, sim, customer, clock)


#: The steps up to the silence wait: the loop's body once per item, then ``done``.
LIST_STEPS: list[tuple[str, str]] = [
    ("greet", "next"), ("pause", "next"), ("items", "next"),
    *[("each", "body"), ("say", "next")] * 3,
    ("each", "done"),
]


async def _until_the_list(live: Live) -> None:
    """The customer writes; the greeting comes at once, the loop's messages after the
    pause (and not before)."""
    await live.sim.send_text(live.customer, "oi")
    assert await live.wait_texts(1) == ["Olá! Já te passo a lista."]
    await live.jump(PAUSE - 1)
    await live.quiet()
    assert len(live.texts()) == 1  # the pause is not over yet
    await live.jump(2)
    assert (await live.wait_texts(4))[1:] == [
        "Documento: boleto", "Documento: nota", "Documento: recibo",
    ]


async def test_a_silent_customer_gets_the_reminders_then_the_timeout_edge(
    sqlite_url: str, tmp_path: Path, clock: MockClock
) -> None:
    async with live(sqlite_url, tmp_path, clock) as live_:
        await _until_the_list(live_)
        for n in (5, 6):  # each reminder after another stretch of silence
            await live_.jump(SILENCE - 1)
            await live_.quiet()
            assert len(live_.texts()) == n - 1
            await live_.jump(2)
            assert (await live_.wait_texts(n))[-1] == "Ainda está aí?"
        await live_.jump(SILENCE + 1)
        texts = await live_.wait_texts(7)
        assert texts[4:] == ["Ainda está aí?", "Ainda está aí?",
                             "Encerrando por falta de resposta."]
        assert await live_.steps() == [*LIST_STEPS, ("listen", "timeout"), ("bye", "next"),
                                       ("gone", "end")]
        await live_.jump(SILENCE * 10)
        await live_.quiet()
        assert len(live_.texts()) == 7  # the flow is over: no more reminders


async def test_a_customer_who_answers_after_a_reminder_takes_the_reply_edge(
    sqlite_url: str, tmp_path: Path, clock: MockClock
) -> None:
    async with live(sqlite_url, tmp_path, clock) as live_:
        await _until_the_list(live_)
        await live_.jump(SILENCE + 1)
        assert (await live_.wait_texts(5))[-1] == "Ainda está aí?"
        await live_.sim.send_text(live_.customer, "estou sim")
        assert (await live_.wait_texts(6))[-1] == "Obrigado: estou sim"
        assert await live_.steps() == [*LIST_STEPS, ("listen", "reply"), ("thanks", "next"),
                                       ("done", "end")]
        await live_.jump(SILENCE * 10)
        await live_.quiet()
        assert len(live_.texts()) == 6  # the silence wait ended with the answer

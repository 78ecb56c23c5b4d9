"""The triage example flow end to end through the WhatsApp stand-in: a customer writes, the
bot's flow answers with a menu, asks, and hands the conversation to the right team with the
answers in the note; every step is in ``flow_executions``."""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from pytake.standins.apis import BillingApiStandIn, run_app
from pytake.standins.whatsapp import CloudApiStandIn, Customer, CustomerSimulator, run_standin

from .agent_support import running_desk
from .flow_support import publish_examples
from .webhook_support import APP_SECRET, Edge, running_edge, wa_id, webhook_settings


def _publish_examples(session: Any) -> None:
    publish_examples(session)


async def test_triage_flow_answers_asks_and_hands_off_to_the_team(
    pg_url: str, tmp_path: Path
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_FLOWS_DEFAULT="triage",
                            PYTAKE_ROUTING_DEFAULT_TEAM="") as desk:
        db = desk.edge.engine.db
        # The support hand-off goes to the desk's team.
        await db.run(publish_examples, ("triage", "boleto"), {"suporte": str(desk.team_id)})
        (email,) = desk.agents
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            customer = desk.customer()
            await desk.sim.send_text(customer, "oi")
            welcome, menu = await desk.wait_sent_to(customer, n=2)
            assert welcome.body["type"] == "text"
            assert menu.body["type"] == "interactive"
            assert menu.body["interactive"]["type"] == "list"

            # A tap on a row: WhatsApp sends its id and title, no text body.
            await desk.sim.send_list_reply(customer, "support", "Suporte técnico")
            await desk.wait_sent_to(customer, n=3)
            # A photo without a caption is no answer to "describe the problem": asked again
            # (not handed the words of an earlier message).
            await desk.sim.send_image(customer)
            *_, asked_again = await desk.wait_sent_to(customer, n=4)
            assert asked_again.body["type"] == "text"
            await desk.sim.send_text(customer, "a internet caiu")
            offered = await agent.event("conversation.offered")
            assert "a internet caiu" in offered["data"]["note"]
            assert offered["data"]["team"] == str(desk.team_id)

            conversation_id = offered["data"]["conversation_id"]
            steps: list[tuple[str, str]] = []
            with trio.fail_after(10):  # steps are written behind the replies
                while ("to_support", "handoff") not in steps:
                    steps = [tuple(s) for s in await desk.edge.query(
                        "SELECT node_key, step_type FROM flow_executions "
                        "WHERE conversation_id = :c ORDER BY id", c=conversation_id)]
                    await trio.sleep(0.02)
            assert ("menu", "support") in steps
            # Handed off: the bot says nothing more.
            sent = len(desk.sent_to(customer))
            await desk.sim.send_text(customer, "alô?")
            await desk.edge.settle()
            assert len(desk.sent_to(customer)) == sent


async def test_boleto_flow_sends_the_slip_from_the_billing_api_and_resolves(
    pg_url: str, tmp_path: Path
) -> None:
    async with run_app(BillingApiStandIn(token="billing-token", seed=1)) as billing, \
            running_desk(pg_url, tmp_path, agents=1, PYTAKE_FLOWS_KEYWORDS="boleto=boleto",
                         PYTAKE_SECRET_KEY="s" * 40) as desk:
        engine = desk.edge.engine
        await engine.db.run(_publish_examples)
        modules = engine.modules
        assert modules.configs is not None
        await modules.configs.save("boleto", {"base_url": billing.base_url,
                                              "api_token": "billing-token", "send_pdf": False})
        billing.add_slip("52998224725", "123.45", datetime.date(2026, 12, 10))
        customer = desk.customer()
        await desk.sim.send_text(customer, "Boleto")  # the keyword starts the flow
        (ask,) = await desk.wait_sent_to(customer, n=1)
        assert "CPF" in ask.body["text"]["body"]
        await desk.sim.send_text(customer, "111.111.111-11")  # fails the check digits
        await desk.wait_sent_to(customer, n=2)
        await desk.sim.send_text(customer, "529.982.247-25")
        sent = await desk.wait_sent_to(customer, n=4, timeout=15)
        bodies = " ".join(json.dumps(s.body, ensure_ascii=False) for s in sent)
        assert billing.requests and "52998224725" in str(billing.requests[-1].query)
        assert any(ch.isdigit() for ch in bodies) and "Pronto" in bodies

        async def resolved() -> bool:
            rows = await desk.edge.query(
                "SELECT c.status FROM conversations c JOIN customers u ON u.id = c.customer_id "
                "WHERE u.wa_id = :w", w=customer.wa_id)
            return [r[0] for r in rows] == ["resolved"]

        with trio.fail_after(10):
            while not await resolved():
                await trio.sleep(0.05)
        metrics_rows = await desk.edge.query(
            "SELECT e.type FROM conversation_events e JOIN conversations c "
            "ON c.id = e.conversation_id JOIN customers u ON u.id = c.customer_id "
            "WHERE u.wa_id = :w ORDER BY e.seq", w=customer.wa_id)
        assert "resolve" in [r[0] for r in metrics_rows]  # resolved by the bot


async def test_a_flow_interrupted_by_a_restart_resumes_at_its_node(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The flow waits for the CPF when the engine stops; a new engine on the same database
    takes the customer's answer at that node (from the conversation's snapshot)."""
    async with run_app(BillingApiStandIn(token="t", seed=2)) as billing, \
            run_standin(token="sim-token") as standin:
        settings = webhook_settings(
            sqlite_url, PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_WHATSAPP_MEDIA_DIR=str(tmp_path / "media"),
            PYTAKE_FLOWS_DEFAULT="boleto", PYTAKE_SECRET_KEY="r" * 40,
        )
        customer = Customer(wa_id(), "Ana")
        async with running_edge(settings) as edge:
            await edge.engine.db.run(_publish_examples)
            assert edge.engine.modules.configs is not None
            await edge.engine.modules.configs.save(
                "boleto", {"base_url": billing.base_url, "api_token": "t", "send_pdf": False})
            async with _customers(edge, standin, customer) as sim:
                await sim.send_text(customer, "oi")
                await standin.wait_for_sent(1, timeout=10)  # the CPF question
                await edge.settle()
        billing.add_slip("52998224725", "50.00", datetime.date(2026, 12, 1))
        async with running_edge(settings) as edge, \
                _customers(edge, standin, customer) as sim:
            await sim.send_text(customer, "529.982.247-25")
            with trio.fail_after(15):
                while not billing.requests:
                    await trio.sleep(0.05)
            await standin.wait_for_sent(3, timeout=15)  # the slip, then the thanks
            texts = json.dumps([s.body for s in standin.sent], ensure_ascii=False)
            assert "Pronto" in texts
            assert texts.count("CPF do titular") == 1  # not asked again after the restart


@asynccontextmanager
async def _customers(edge: Edge, standin: CloudApiStandIn, customer: Customer,
                     ) -> AsyncIterator[CustomerSimulator]:
    target = str(edge.client.base_url).rstrip("/") + "/webhooks/whatsapp"
    async with CustomerSimulator(target, APP_SECRET, customers=[customer],
                                 standin=standin) as sim:
        yield sim

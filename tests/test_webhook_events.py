"""Outbound webhooks: conversation events reach a subscribed URL, signed, in the background
(the WebhookReceiver stand-in checks the HMAC signature)."""

from __future__ import annotations

from pathlib import Path

import trio

from pytake.standins.apis import WebhookReceiver, run_app

from .agent_support import running_desk


async def test_conversation_events_are_posted_signed_to_subscribers(
    pg_url: str, tmp_path: Path
) -> None:
    async with run_app(WebhookReceiver()) as receiver, \
            running_desk(pg_url, tmp_path, agents=1, PYTAKE_SECRET_KEY="w" * 40) as desk:
        webhook = desk.edge.engine.modules.registry.get("webhook")
        _, secret = await webhook.subscribe(receiver.base_url + "/hook", ["conversation.*"])
        receiver.secret = secret
        customer = desk.customer()
        await desk.sim.send_text(customer, "oi")
        with trio.fail_after(15):
            while not {"conversation.customer_message", "conversation.handoff"} <= {
                d.event["type"] for d in receiver.deliveries
            }:
                await trio.sleep(0.05)
        assert all(d.signature_valid for d in receiver.deliveries)
        handoff = next(d.event for d in receiver.deliveries
                       if d.event["type"] == "conversation.handoff")
        assert handoff["data"]["to"] == "queued" and handoff["data"]["team"] == str(desk.team_id)
        # The delivery log is written after each POST is answered: wait for it.
        with trio.fail_after(15):
            while (await desk.edge.query("SELECT count(*) FROM webhook_deliveries"))[0][0] < 2:
                await trio.sleep(0.05)

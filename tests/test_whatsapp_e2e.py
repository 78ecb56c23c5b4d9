"""End to end through the stand-in: simulated customers → signed webhooks → PyTake →
replies at the Cloud API stand-in → statuses back (cases 28, 36-38, 50 of
tests/whatsapp_corpus.py)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from pytake.conversations import AutomaticReplies
from pytake.standins.whatsapp import (
    CloudApiStandIn,
    Customer,
    CustomerSimulator,
    new_wamid,
    run_standin,
)

from .webhook_support import APP_SECRET, Edge, running_edge, wa_id, webhook_settings


@attrs.define
class World:
    edge: Edge
    standin: CloudApiStandIn
    sim: CustomerSimulator
    customer: Customer


@pytest.fixture
async def world(pg_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with run_standin(token="sim-token") as standin:
        settings = webhook_settings(
            pg_url,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=standin.base_url,
            PYTAKE_WHATSAPP_MEDIA_DIR=str(tmp_path / "media"),
        )
        async with running_edge(settings) as edge:
            customer = Customer(wa_id(), "Ana")
            target = str(edge.client.base_url).rstrip("/") + "/webhooks/whatsapp"
            async with CustomerSimulator(
                target, APP_SECRET, customers=[customer], standin=standin
            ) as sim:
                yield World(edge, standin, sim, customer)


def now() -> str:
    return str(int(time.time()))


async def first_sent_to(world: World, timeout: float = 15.0) -> Any:
    """The first send to this test's customer. The database is shared by the whole run, so
    the engine may first send what an earlier test left in its outbox (to someone else)."""
    with trio.fail_after(timeout):
        while True:
            for sent in world.standin.sent:
                if not sent.is_read_receipt and sent.to.lstrip("+") == world.customer.wa_id:
                    return sent
            await world.standin.wait_for_more(len(world.standin.sent))


async def test_unsupported_message_gets_a_polite_reply_and_its_statuses(world: World) -> None:
    message = {
        "from": world.customer.wa_id, "id": new_wamid(), "timestamp": now(),
        "type": "unsupported", "unsupported": {"type": "poll"},
        "errors": [{"code": 131051, "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."}}],
    }
    await world.sim.send_message(world.customer, message)
    sent = await first_sent_to(world)
    assert sent.body["text"]["body"] == AutomaticReplies().unsupported
    assert sent.body["biz_opaque_callback_data"].startswith("outbox:")
    # the simulator posts sent/delivered/read for it; the message row follows them
    with trio.fail_after(15):
        while True:
            await world.edge.settle()
            rows = await world.edge.query(
                "SELECT status FROM messages WHERE whatsapp_message_id = :w", w=sent.wamid
            )
            if rows and rows[0][0] == "read":
                break
            await trio.sleep(0.05)


async def test_welcome_is_sent_once(world: World) -> None:
    for _ in range(2):
        await world.sim.send_message(
            world.customer,
            {"from": world.customer.wa_id, "id": new_wamid(), "timestamp": now(),
             "type": "request_welcome"},
        )
    await first_sent_to(world)
    # Both requests handled and every reply they caused sent: a second welcome would be in.
    await world.edge.settle()
    with trio.fail_after(15):
        while await world.edge.query(
            "SELECT id FROM outbox WHERE recipient LIKE :w AND state IN ('pending', 'sending')",
            w="%" + world.customer.wa_id,
        ):
            await trio.sleep(0.01)
    texts = [r.body.get("text", {}).get("body") for r in world.standin.sent
             if r.to.lstrip("+") == world.customer.wa_id]
    assert texts.count(AutomaticReplies().welcome) == 1


async def test_file_too_large_is_explained(world: World) -> None:
    await world.sim.send_message(
        world.customer,
        {"from": world.customer.wa_id, "id": new_wamid(), "timestamp": now(),
         "type": "unsupported", "unsupported": {"type": "document"},
         "errors": [{"code": 131052, "title": "Media download error",
                     "message": "Media download error",
                     "error_data": {"details": "file larger than 100 MB"}}]},
    )
    sent = await first_sent_to(world)
    assert sent.body["text"]["body"] == AutomaticReplies().file_too_large


async def test_inbound_image_is_downloaded_and_verified(world: World, tmp_path: Path) -> None:
    data = b"\xff\xd8\xff" + b"jpeg" * 1000
    wamid = await world.sim.send_image(world.customer, data, caption="nota")
    await world.edge.settle()
    media_dir = tmp_path / "media"
    with trio.fail_after(15):
        while not (media_dir.exists() and any(p.read_bytes() == data for p in media_dir.iterdir()
                                              if p.is_file())):
            await trio.sleep(0.05)
    (row,) = await world.edge.query(
        "SELECT type FROM messages WHERE whatsapp_message_id = :w", w=wamid
    )
    assert row[0] == "image"
    assert not any(".." in p.name or "/" in p.name for p in media_dir.iterdir())

"""Business numbers over HTTP (/api/v1/numbers), on PostgreSQL and SQLite: a number added
while the engine runs is sent with its own token and accepted by the inbox; paused, its
webhooks are acknowledged and ignored; its token never comes back in any answer."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
import trio

from pytake.conversations import AutomaticReplies
from pytake.standins.whatsapp import CloudApiStandIn, new_wamid, run_standin

from ._support import admin_headers
from .webhook_support import (
    PHONE_NUMBER_ID,
    Edge,
    encode,
    envelope,
    running_edge,
    wa_id,
    webhook_settings,
)

SECRET_KEY = "n" * 48
DEFAULT_TOKEN = "sim-token"


@attrs.define
class World:
    edge: Edge
    standin: CloudApiStandIn
    admin: dict[str, str]


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with run_standin(token=DEFAULT_TOKEN) as standin:
        settings = webhook_settings(
            db_url,
            PYTAKE_WHATSAPP_ACCESS_TOKEN=DEFAULT_TOKEN,
            PYTAKE_WHATSAPP_API_BASE=standin.base_url,
            PYTAKE_WHATSAPP_MEDIA_DIR=str(tmp_path / "media"),
            # The environment's number: the default, next to those added over the API.
            PYTAKE_WHATSAPP_PHONE_NUMBER_IDS=PHONE_NUMBER_ID,
            PYTAKE_SECRET_KEY=SECRET_KEY,
        )
        async with running_edge(settings) as edge:
            world = World(edge, standin, await admin_headers(edge.engine))
            try:
                yield world
            finally:
                # The PostgreSQL database is shared by the session's tests: leave no number
                # behind to change what their inboxes accept.
                await edge.engine.db.run(
                    lambda s: s.execute(sa.text("DELETE FROM business_numbers")))


def new_number() -> str:
    return "4200" + str(secrets.randbelow(10**11)).zfill(11)


def unsupported(customer: str) -> dict[str, object]:
    """A message PyTake answers by itself (the polite 'cannot read this' reply)."""
    return {
        "from": customer, "id": new_wamid(), "timestamp": str(int(time.time())),
        "type": "unsupported", "unsupported": {"type": "poll"},
        "errors": [{"code": 131051, "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."}}],
    }


async def customer_writes(world: World, number: str) -> str:
    customer = wa_id()
    response = await world.edge.post(encode(envelope([unsupported(customer)],
                                                     phone_number_id=number)))
    assert response.status_code == 200, response.text
    await world.edge.settle()
    return customer


async def stored_customers(world: World, customer: str) -> int:
    rows = await world.edge.query("SELECT count(*) FROM customers WHERE wa_id = :w", w=customer)
    return int(rows[0][0])


async def reply_to(world: World, customer: str) -> object:
    with trio.fail_after(15):
        while True:
            for sent in world.standin.sent:
                if sent.wa_id == customer and not sent.is_read_receipt:
                    return sent
            await trio.sleep(0.02)


async def test_a_number_added_live_sends_with_its_own_token(world: World) -> None:
    client, admin = world.edge.client, world.admin
    number, token = new_number(), "EAAG" + secrets.token_hex(24)
    # Not configured yet: acknowledged and ignored, as any unknown number.
    ignored = await customer_writes(world, number)
    assert await stored_customers(world, ignored) == 0

    added = await client.post("/api/v1/numbers", headers=admin, json={
        "phone_number_id": number, "waba_id": "310000000000099", "display_name": "Vendas",
        "access_token": token,
    })
    assert added.status_code == 201, added.text
    assert added.headers["location"] == f"/api/v1/numbers/{number}"
    assert added.json() == {
        "phone_number_id": number, "waba_id": "310000000000099", "display_name": "Vendas",
        "has_token": True, "paused": False,
        "created_at": added.json()["created_at"], "updated_at": added.json()["updated_at"],
    }
    # Stored encrypted, bound to the number.
    stored = await world.edge.query(
        "SELECT access_token FROM business_numbers WHERE phone_number_id = :n", n=number)
    assert stored[0][0].startswith("pts1:") and token not in stored[0][0]

    # Without a restart: the stand-in now accepts only the new number's token.
    world.standin.token = token
    customer = await customer_writes(world, number)
    sent = await reply_to(world, customer)
    assert sent.phone_number_id == number  # type: ignore[attr-defined]
    assert sent.headers["authorization"] == f"Bearer {token}"  # type: ignore[attr-defined]
    assert sent.body["text"]["body"] == AutomaticReplies().unsupported  # type: ignore[attr-defined]

    # The environment's number keeps the environment's token.
    world.standin.token = DEFAULT_TOKEN
    other = await customer_writes(world, PHONE_NUMBER_ID)
    sent = await reply_to(world, other)
    assert sent.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"  # type: ignore[attr-defined]

    # A new token replaces the old one at once; a token of null falls back to the default.
    changed = await client.patch(f"/api/v1/numbers/{number}", headers=admin,
                                 json={"access_token": "EAAG-second", "display_name": "Loja"})
    assert changed.status_code == 200 and changed.json()["display_name"] == "Loja"
    assert world.edge.engine.cloud_api._headers(number) == {"Authorization":
                                                            "Bearer EAAG-second"}
    cleared = await client.patch(f"/api/v1/numbers/{number}", headers=admin,
                                 json={"access_token": None})
    assert cleared.json()["has_token"] is False
    world.standin.token = DEFAULT_TOKEN
    third = await customer_writes(world, number)
    sent = await reply_to(world, third)
    assert sent.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"  # type: ignore[attr-defined]

    # No answer ever shows a token.
    answers = [added, changed, cleared,
               await client.get("/api/v1/numbers", headers=admin),
               await client.get(f"/api/v1/numbers/{number}", headers=admin)]
    for answer in answers:
        assert token not in answer.text and "EAAG-second" not in answer.text
        assert "access_token" not in json.dumps(answer.json())


async def test_a_paused_number_is_acknowledged_and_ignored(world: World) -> None:
    client, admin = world.edge.client, world.admin
    number = new_number()
    added = await client.post("/api/v1/numbers", headers=admin, json={
        "phone_number_id": number, "display_name": "Suporte"})
    assert added.status_code == 201 and added.json()["has_token"] is False
    accepted = await customer_writes(world, number)
    assert await stored_customers(world, accepted) == 1

    paused = await client.post(f"/api/v1/numbers/{number}/pause", headers=admin)
    assert paused.status_code == 200 and paused.json()["paused"] is True
    ignored = await customer_writes(world, number)
    assert await stored_customers(world, ignored) == 0
    # The environment's number is not affected.
    default = await customer_writes(world, PHONE_NUMBER_ID)
    assert await stored_customers(world, default) == 1

    resumed = await client.post(f"/api/v1/numbers/{number}/resume", headers=admin)
    assert resumed.json()["paused"] is False
    again = await customer_writes(world, number)
    assert await stored_customers(world, again) == 1

    removed = await client.delete(f"/api/v1/numbers/{number}", headers=admin)
    assert removed.status_code == 204
    gone = await customer_writes(world, number)
    assert await stored_customers(world, gone) == 0
    assert (await client.get(f"/api/v1/numbers/{number}", headers=admin)).status_code == 404


async def test_other_nodes_follow_within_seconds(world: World) -> None:
    """A change made through another node (straight in the table here) is read by the
    periodic refresh: no restart, no call on this node."""
    number = new_number()
    book = world.edge.engine.numbers
    assert number not in book.accepted
    await world.edge.engine.numbers.repository.add({"phone_number_id": number,
                                                    "access_token": "EAAG-other-node"})
    with trio.fail_after(book.interval + 5):
        while number not in book.accepted:
            await trio.sleep(0.05)
    assert book.token_for(number) == "EAAG-other-node"


async def test_bad_input_answers_422_naming_the_field(world: World) -> None:
    client, admin = world.edge.client, world.admin
    number = new_number()
    cases = [
        ({}, "phone_number_id"),
        ({"phone_number_id": "abc"}, "phone_number_id"),
        ({"phone_number_id": 42}, "phone_number_id"),
        ({"phone_number_id": number, "access_token": ""}, "access_token"),
        ({"phone_number_id": number, "access_token": "two words"}, "access_token"),
        ({"phone_number_id": number, "waba_id": "waba"}, "waba_id"),
        ({"phone_number_id": number, "display_name": "x" * 201}, "display_name"),
        ({"phone_number_id": number, "paused": "yes"}, "paused"),
        ({"phone_number_id": number, "colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/numbers", headers=admin, json=body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["field"] == field and problem["code"] == "invalid", (body, problem)
    not_json = await client.post("/api/v1/numbers", headers=admin, content=b"[1]")
    assert not_json.status_code in (400, 422)

    assert (await client.post("/api/v1/numbers", headers=admin,
                              json={"phone_number_id": number})).status_code == 201
    twice = await client.post("/api/v1/numbers", headers=admin, json={"phone_number_id": number})
    assert twice.status_code == 409
    renamed = await client.patch(f"/api/v1/numbers/{number}", headers=admin,
                                 json={"phone_number_id": new_number()})
    assert renamed.status_code == 422 and renamed.json()["field"] == "phone_number_id"

    unknown = new_number()
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"),
                         ("POST", "/resume")]:
        response = await client.request(method, f"/api/v1/numbers/{unknown}{path}",
                                        headers=admin, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["status"] == 404
    assert (await client.get("/api/v1/numbers?cursor=x", headers=admin)).status_code == 400


async def test_listing_pages_with_a_cursor(world: World) -> None:
    client, admin = world.edge.client, world.admin
    numbers = [new_number() for _ in range(3)]
    for number in numbers:
        assert (await client.post("/api/v1/numbers", headers=admin,
                                  json={"phone_number_id": number})).status_code == 201
    seen: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        page = (await client.get(f"/api/v1/numbers?limit=2&cursor={cursor}",
                                 headers=admin)).json()
        assert len(page["numbers"]) <= 2
        seen += [n["phone_number_id"] for n in page["numbers"]]
        cursor = page["next_cursor"]
    assert seen == numbers

"""The WhatsApp stand-ins: the Cloud API (`CloudApiStandIn`) and the webhook side
(`CustomerSimulator`), over real HTTP on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import hypercorn.trio
import pytest
import trio
from hypercorn.config import Config as HypercornConfig

from pytake.cli import main
from pytake.standins.whatsapp import (
    CloudApiStandIn,
    Customer,
    CustomerSimulator,
    Faults,
    Outcome,
    RetryPolicy,
    bsuid_for,
    make_customers,
    run_standin,
)
from pytake.whatsapp import signature_problem

from ._support import clean_environ

TOKEN = "test-token"
SECRET = "app-secret-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEND = "/v23.0/420000000000002/messages"


def text_body(to: str = "+55 11 99999-0001", body: str = "Olá") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


@asynccontextmanager
async def standin_client(**config: Any) -> AsyncIterator[tuple[CloudApiStandIn, httpx.AsyncClient]]:
    config.setdefault("token", TOKEN)
    async with (
        run_standin(**config) as standin,
        httpx.AsyncClient(base_url=standin.base_url or "", trust_env=False) as client,
    ):
        yield standin, client


def assert_meta_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"}
    assert error["code"] == code
    assert error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException"
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert isinstance(error["error_data"]["details"], str)
    return dict(error)


# -- a tiny webhook receiver ------------------------------------------------------------------

Scope = MutableMapping[str, Any]


class Receiver:
    """Records every POST (raw body, headers); answers the queued statuses, then 200."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.posts: list[tuple[bytes, dict[str, str]]] = []
        self.answers = list(answers or [])
        self._changed = trio.Event()

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.posts.append((body, headers))
        self._changed.set()
        self._changed = trio.Event()
        status = self.answers.pop(0) if self.answers else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self.posts]

    def statuses(self) -> list[dict[str, Any]]:
        return [
            status
            for payload in self.payloads()
            for entry in payload["entry"]
            for change in entry["changes"]
            for status in change["value"].get("statuses", [])
        ]

    def messages(self) -> list[dict[str, Any]]:
        return [
            message
            for payload in self.payloads()
            for entry in payload["entry"]
            for change in entry["changes"]
            for message in change["value"].get("messages", [])
        ]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await self._changed.wait()


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    """Serve ``receiver`` on loopback; yield its webhook URL."""
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.graceful_timeout = 0.5
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            lambda task_status: hypercorn.trio.serve(
                receiver,  # type: ignore[arg-type]
                config,
                shutdown_trigger=stop.wait,
                task_status=task_status,
            )
        )
        yield f"{urls[0]}/webhooks/whatsapp"
        stop.set()


def fast_retry() -> RetryPolicy:
    return RetryPolicy(delays=(0.0, 0.01, 0.02))


# -- send endpoint ----------------------------------------------------------------------------


async def test_send_text_answers_like_meta() -> None:
    async with standin_client() as (standin, client):
        response = await client.post(SEND, json=text_body(), headers=AUTH)
        assert response.status_code == 200
        answer = response.json()
        assert answer["messaging_product"] == "whatsapp"
        assert answer["contacts"] == [{"input": "+55 11 99999-0001", "wa_id": "5511999990001"}]
        wamid = answer["messages"][0]["id"]
        assert wamid.startswith("wamid.")
        again = await client.post("/v24.0/420000000000002/messages", json=text_body(), headers=AUTH)
        assert again.json()["messages"][0]["id"] != wamid
    [first, second] = standin.sent
    assert (first.index, first.wamid, first.phone_number_id) == (1, wamid, "420000000000002")
    assert first.body == text_body()
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.wa_id == "5511999990001" and first.type == "text"
    assert second.index == 2


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
async def test_send_without_valid_token_is_190(headers: dict[str, str]) -> None:
    async with standin_client() as (standin, client):
        response = await client.post(SEND, json=text_body(), headers=headers)
        error = assert_meta_error(response, 401, 190)
        assert error["message"] == "(#190) Error validating access token"
    assert standin.sent == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**text_body(), "messaging_product": "sms"}, "messaging_product"),
        ({k: v for k, v in text_body().items() if k != "to"}, "to"),
        ({**text_body(), "type": "hologram"}, "type"),
        ({**text_body(), "type": "image"}, "image"),
        ({**text_body(), "text": {"body": ""}}, "body"),
        ({**text_body(), "type": "template", "template": {"name": "x"}}, "language"),
    ],
)
async def test_send_validation_is_code_100(body: dict[str, Any], fragment: str) -> None:
    async with standin_client() as (standin, client):
        response = await client.post(SEND, json=body, headers=AUTH)
        error = assert_meta_error(response, 400, 100)
        assert fragment in error["error_data"]["details"]
        bad_json = await client.post(SEND, content=b"{nope", headers=AUTH)
        assert_meta_error(bad_json, 400, 100)
    assert standin.sent == []


async def test_unknown_phone_number_id_is_refused() -> None:
    async with standin_client(phone_number_ids=["111"]) as (_, client):
        assert (await client.post("/v23.0/111/messages", json=text_body(), headers=AUTH)).is_success
        assert_meta_error(await client.post(SEND, json=text_body(), headers=AUTH), 400, 100)


async def test_mark_as_read_and_typing_indicator() -> None:
    async with standin_client() as (standin, client):
        read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}
        typing = {**read, "typing_indicator": {"type": "text"}}
        for body in (read, typing):
            response = await client.post(SEND, json=body, headers=AUTH)
            assert response.status_code == 200
            assert response.json() == {"success": True}
        assert_meta_error(
            await client.post(SEND, json={**read, "message_id": None}, headers=AUTH), 400, 100
        )
    assert [r.is_read_receipt for r in standin.sent] == [True, True]
    assert standin.sent[1].body["typing_indicator"] == {"type": "text"}


async def test_wait_for_sent_and_sent_endpoint() -> None:
    async with standin_client() as (standin, client):
        with pytest.raises(trio.TooSlowError):
            await standin.wait_for_sent(1, timeout=0.02)
        async with trio.open_nursery() as nursery:
            results: list[str | None] = []

            async def waiter() -> None:
                results.append((await standin.wait_for_sent(2, timeout=2)).wamid)

            nursery.start_soon(waiter)
            await client.post(SEND, json=text_body(), headers=AUTH)
            second = await client.post(SEND, json=text_body(body="2"), headers=AUTH)
        assert results == [second.json()["messages"][0]["id"]]

        listing = (await client.get("/_sim/sent", params={"after": 1})).json()
        assert listing["count"] == 2
        assert [item["index"] for item in listing["sent"]] == [2]
        assert listing["sent"][0]["body"]["text"]["body"] == "2"

        async with trio.open_nursery() as nursery:  # long poll returns on the next send
            polled: list[dict[str, Any]] = []

            async def poll() -> None:
                answer = await client.get("/_sim/sent", params={"after": 2, "wait": 2})
                polled.append(answer.json())

            nursery.start_soon(poll)
            await trio.sleep(0.05)
            await client.post(SEND, json=text_body(body="3"), headers=AUTH)
        assert [item["index"] for item in polled[0]["sent"]] == [3]


# -- faults -----------------------------------------------------------------------------------


async def test_rate_limit_next_n() -> None:
    async with standin_client() as (standin, client):
        standin.faults.rate_limit_next = 2
        for _ in range(2):
            error = assert_meta_error(
                await client.post(SEND, json=text_body(), headers=AUTH), 429, 130429
            )
            assert error["message"] == "(#130429) Rate limit hit"
        assert (await client.post(SEND, json=text_body(), headers=AUTH)).status_code == 200
    assert len(standin.sent) == 1
    assert standin.rejected == {"rate_limit": 2}


async def test_server_errors_meta_shaped_and_bare() -> None:
    async with standin_client() as (standin, client):
        standin.faults.server_error_next = 1
        assert_meta_error(await client.post(SEND, json=text_body(), headers=AUTH), 500, 131000)
        standin.faults.server_error_next = 1
        standin.faults.server_error_status = 503
        bare = await client.post(SEND, json=text_body(), headers=AUTH)
        assert bare.status_code == 503
        assert "error" not in bare.text
        assert (await client.post(SEND, json=text_body(), headers=AUTH)).status_code == 200


@pytest.mark.parametrize(
    ("code", "status"), [(131047, 400), (131026, 400), (131056, 400), (190, 401)]
)
async def test_per_recipient_forced_error(code: int, status: int) -> None:
    async with standin_client() as (standin, client):
        standin.faults.recipient_errors["+55 11 99999-0002"] = code
        response = await client.post(SEND, json=text_body("5511999990002"), headers=AUTH)
        assert_meta_error(response, status, code)
        ok = await client.post(SEND, json=text_body("+5511999990001"), headers=AUTH)
        assert ok.status_code == 200


async def test_slow_answers() -> None:
    async with standin_client() as (standin, client):
        standin.faults.slow_next = 1
        standin.faults.slow_ms = 150
        start = trio.current_time()
        assert (await client.post(SEND, json=text_body(), headers=AUTH)).status_code == 200
        assert trio.current_time() - start >= 0.15
        start = trio.current_time()
        await client.post(SEND, json=text_body(), headers=AUTH)
        assert trio.current_time() - start < 0.15


async def test_dropped_connection() -> None:
    async with standin_client() as (standin, client):
        standin.faults.drop_next = 1
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(SEND, json=text_body(), headers=AUTH)
        assert standin.sent == []
        standin.faults.drop_next = 1
        standin.faults.drop_after_accept = True  # the reply is lost, the message is not
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(SEND, json=text_body(), headers=AUTH)
        assert len(standin.sent) == 1
        assert (await client.post(SEND, json=text_body(), headers=AUTH)).status_code == 200


async def test_probability_mode_is_seeded() -> None:
    async with standin_client(seed=7) as (standin, client):
        standin.faults.rate_limit_probability = 0.5
        codes = [
            (await client.post(SEND, json=text_body(), headers=AUTH)).status_code for _ in range(30)
        ]
    assert set(codes) == {200, 429}
    assert codes.count(200) == len(standin.sent)


async def test_faults_over_http() -> None:
    async with standin_client() as (standin, client):
        response = await client.post(
            "/_sim/faults", json={"rate_limit_next": 1, "recipient_errors": {"+551100": 131047}}
        )
        assert response.status_code == 200
        assert response.json()["rate_limit_next"] == 1
        assert standin.faults.recipient_errors == {"+551100": 131047}
        assert_meta_error(await client.post(SEND, json=text_body(), headers=AUTH), 429, 130429)
        assert_meta_error(await client.post("/_sim/faults", json={"nope": 1}), 400, 100)
        assert_meta_error(await client.post("/_sim/faults", json={"drop_next": "x"}), 400, 100)
        assert (await client.get("/_sim/faults")).json()["drop_next"] == 0
        await client.post("/_sim/reset")
        assert standin.faults == Faults()


def test_fault_decision_is_pure() -> None:
    rng = random.Random(0)
    faults = Faults(drop_next=1, server_error_next=1, rate_limit_next=1, latency_ms=5)
    faults.recipient_errors["+1 555"] = 131026
    faults.fail_by_webhook["1666"] = 131047
    outcomes = [faults.decide("1555", rng).outcome for _ in range(5)]
    assert outcomes == [
        Outcome.DROP,
        Outcome.SERVER_ERROR,
        Outcome.RATE_LIMIT,
        Outcome.RECIPIENT_ERROR,
        Outcome.RECIPIENT_ERROR,
    ]
    accepted = faults.decide("+1 666", rng)
    assert (accepted.outcome, accepted.webhook_failure, accepted.delay) == (
        Outcome.ACCEPT,
        131047,
        0.005,
    )
    always = Faults(slow_probability=1.0, slow_ms=100)
    assert always.decide("1", rng).delay == 0.1


# -- media ------------------------------------------------------------------------------------


async def test_media_url_and_download() -> None:
    async with standin_client() as (standin, client):
        media_id = standin.add_media(b"\x89PNG fake", "image/png")
        info = await client.get(f"/v23.0/{media_id}", headers=AUTH)
        assert info.status_code == 200
        meta = info.json()
        assert meta["messaging_product"] == "whatsapp"
        assert meta["id"] == media_id and meta["mime_type"] == "image/png"
        assert meta["file_size"] == 9
        assert meta["sha256"] == hashlib.sha256(b"\x89PNG fake").hexdigest()
        assert meta["url"].startswith(f"{standin.base_url}/_media/")

        download = await client.get(meta["url"], headers=AUTH)
        assert download.status_code == 200
        assert download.content == b"\x89PNG fake"
        assert download.headers["content-type"] == "image/png"
        assert (await client.get(meta["url"])).status_code == 401
        assert (
            await client.get(meta["url"], headers={"Authorization": "Bearer x"})
        ).status_code == 401
        assert_meta_error(await client.get(f"/v23.0/{media_id}"), 401, 190)
        assert_meta_error(await client.get("/v23.0/999", headers=AUTH), 400, 100)

        standin.expire_media_urls()
        assert (await client.get(meta["url"], headers=AUTH)).status_code == 404
        fresh = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()["url"]
        assert (await client.get(fresh, headers=AUTH)).status_code == 200
        await client.post("/_sim/media/expire")
        assert (await client.get(fresh, headers=AUTH)).status_code == 404

        registered = await client.post(
            "/_sim/media", content=b"abc", headers={"content-type": "audio/ogg"}
        )
        other = (await client.get(f"/v23.0/{registered.json()['id']}", headers=AUTH)).json()
        assert other["mime_type"] == "audio/ogg"


async def test_media_upload_as_meta_takes_it() -> None:
    async with standin_client() as (standin, client):
        url = "/v23.0/310000000000001/media"
        form = {"messaging_product": "whatsapp", "type": "application/pdf"}
        uploaded = await client.post(url, headers=AUTH, data=form,
                                     files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")})
        assert uploaded.status_code == 200, uploaded.text
        media_id = uploaded.json()["id"]
        meta = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()
        assert meta["mime_type"] == "application/pdf" and meta["file_size"] == 8

        # Refused before its body is read: sent as bytes, not as httpx's multipart stream
        # (a stream left half-read is garbage collected with a ResourceWarning).
        assert_meta_error(await client.post(url, content=b"--b\r\n\r\nx\r\n--b--\r\n", headers={
            "content-type": "multipart/form-data; boundary=b"}), 401, 190)
        assert_meta_error(await client.post(url, headers=AUTH, data={"type": "image/png"},
                                            files={"file": ("a.png", b"x", "image/png")}),
                          400, 100)
        assert_meta_error(await client.post(url, headers=AUTH, data=form), 400, 100)
        html = {"messaging_product": "whatsapp", "type": "text/html"}
        assert_meta_error(await client.post(url, headers=AUTH, data=html, files={
            "file": ("a.html", b"<b>", "text/html")}), 400, 131053)
        big = {"messaging_product": "whatsapp", "type": "image/webp"}
        assert_meta_error(await client.post(url, headers=AUTH, data=big, files={
            "file": ("s.webp", b"x" * (501 * 1024), "image/webp")}), 400, 131053)
        assert_meta_error(await client.post(url, headers=AUTH, json={"file": "x"}), 400, 100)
        assert len(standin._media) == 1


async def test_media_url_ttl() -> None:
    now = [1000.0]
    async with standin_client(media_url_ttl=300, clock=lambda: now[0]) as (standin, client):
        media_id = standin.add_media(b"x", "image/jpeg")
        url = (await client.get(f"/v23.0/{media_id}", headers=AUTH)).json()["url"]
        now[0] += 299
        assert (await client.get(url, headers=AUTH)).status_code == 200
        now[0] += 1
        assert (await client.get(url, headers=AUTH)).status_code == 404


# -- templates --------------------------------------------------------------------------------


async def test_templates_list() -> None:
    async with standin_client() as (_, client):
        listing = (
            await client.get("/v23.0/310000000000001/message_templates", headers=AUTH)
        ).json()
        names = {(t["name"], t["language"], t["status"]) for t in listing["data"]}
        assert ("ticket_update", "es_ES", "APPROVED") in names
        for template in listing["data"]:
            assert set(template) == {
                "name", "language", "status", "category", "id", "components", "parameter_format"
            }  # fmt: skip
        assert "next" not in listing["paging"]

        page = (
            await client.get(
                "/v23.0/310000000000001/message_templates", params={"limit": 1}, headers=AUTH
            )
        ).json()
        assert len(page["data"]) == 1
        assert "after=1" in page["paging"]["next"]
        only = await client.get(
            "/v23.0/310000000000001/message_templates",
            params={"name": "ticket_update"},
            headers=AUTH,
        )
        assert [t["name"] for t in only.json()["data"]] == ["ticket_update"]
        assert_meta_error(await client.get("/v23.0/310000000000001/message_templates"), 401, 190)


# -- customer simulator -----------------------------------------------------------------------


async def test_customer_posts_signed_meta_envelope() -> None:
    receiver = Receiver()
    async with receiving(receiver) as url, CustomerSimulator(url, SECRET, customers=2) as sim:
        customer = sim.customers[0]
        wamid = await sim.send_text(customer, "¿Dónde está mi pedido? https://x.example/1 🙂")
    [(body, headers)] = receiver.posts
    assert signature_problem(body, headers["x-hub-signature-256"], [SECRET]) is None
    assert signature_problem(body, headers["x-hub-signature-256"], ["other"]) is not None
    assert b"\\u00bf" in body and b"\\/" in body  # escaped like Meta's own bodies
    payload = json.loads(body)
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    assert entry["id"] == "310000000000001"
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["metadata"]["phone_number_id"] == "420000000000002"
    assert value["contacts"] == [
        {"profile": {"name": customer.name}, "wa_id": customer.wa_id, "user_id": customer.user_id}
    ]
    assert customer.user_id.startswith("BR.") and customer.user_id[3:].isdigit()
    [message] = value["messages"]
    assert message["id"] == wamid and message["from"] == customer.wa_id
    assert message["from_user_id"] == customer.user_id
    assert message["text"]["body"].startswith("¿Dónde")
    assert isinstance(message["timestamp"], str)


async def test_customer_message_types() -> None:
    receiver = Receiver()
    async with (
        standin_client() as (standin, client),
        receiving(receiver) as url,
        CustomerSimulator(url, SECRET, standin=standin, customers=1) as sim,
    ):
        customer = sim.customers[0]
        await sim.send_image(customer, b"jpegbytes", caption="foto")
        await sim.send_location(customer, -23.5, -46.6, name="Loja")
        await sim.send_button_reply(customer, "yes", "Sim", context_id="wamid.OUT")
        await sim.send_reaction(customer, "👍", message_id="wamid.OUT")
        await sim.send_reaction(customer, None, message_id="wamid.OUT")
        image, location, button, reaction, removal = receiver.messages()
        # The image's media id was registered in the stand-in, so a receiver can fetch it.
        media = (await client.get(f"/v23.0/{image['image']['id']}", headers=AUTH)).json()
        download = await client.get(media["url"], headers=AUTH)
        assert download.content == b"jpegbytes"
    digest = base64.b64encode(hashlib.sha256(b"jpegbytes").digest()).decode()
    assert image["image"] == {
        "mime_type": "image/jpeg",
        "sha256": digest,
        "id": media["id"],
        "caption": "foto",
    }
    assert location["location"]["latitude"] == -23.5
    assert button["interactive"]["button_reply"] == {"id": "yes", "title": "Sim"}
    # The tapped message came from the business: its number is the context's sender.
    assert button["context"] == {"from": "15550001111", "id": "wamid.OUT"}
    assert reaction["reaction"] == {"message_id": "wamid.OUT", "emoji": "👍"}
    assert "emoji" not in removal["reaction"]


async def test_duplicates_and_batching() -> None:
    receiver = Receiver()
    async with (
        receiving(receiver) as url,
        CustomerSimulator(url, SECRET, customers=3, duplicates=1.0, batch=3, seed=1) as sim,
    ):
        stats = await sim.run(rate=200, duration=0.03, types=("text", "location"))
    assert stats.sent == 6
    assert stats.posts == 2 and stats.duplicates == 2
    assert stats.acked == 2 and stats.messages_acked == 6
    assert len(receiver.posts) == 4
    bodies = [body for body, _ in receiver.posts]
    assert len(set(bodies)) == 2  # each body delivered twice, byte for byte
    for body, headers in receiver.posts:
        assert signature_problem(body, headers["x-hub-signature-256"], [SECRET]) is None
        assert len(json.loads(body)["entry"][0]["changes"]) == 3  # one change per customer
    assert len({m["id"] for m in receiver.messages()}) == 6


async def test_retries_non_200_like_meta() -> None:
    receiver = Receiver(answers=[500, 503])
    async with (
        receiving(receiver) as url,
        CustomerSimulator(url, SECRET, retry=fast_retry()) as sim,
    ):
        await sim.send_text(sim.customers[0], "oi")
        assert sim.stats.retries == 2 and sim.stats.acked == 1
        assert sim.stats.status_codes == {500: 1, 503: 1, 200: 1}
    assert len({body for body, _ in receiver.posts}) == 1 and len(receiver.posts) == 3

    receiver = Receiver(answers=[401] * 10)
    async with (
        receiving(receiver) as url,
        CustomerSimulator(url, SECRET, retry=fast_retry()) as sim,
    ):
        from pytake.standins.whatsapp import DeliveryFailed

        with pytest.raises(DeliveryFailed) as failure:
            await sim.send_text(sim.customers[0], "oi")
    assert failure.value.status == 401 and failure.value.attempts == 4


async def test_statuses_follow_outbound_sends() -> None:
    receiver = Receiver()
    async with (
        standin_client() as (standin, client),
        receiving(receiver) as url,
        CustomerSimulator(url, SECRET, standin=standin, status_delays=(0.01, 0.01)) as sim,
    ):
        standin.faults.fail_by_webhook["+5511999990009"] = 131047
        sent = await client.post(SEND, json=text_body(), headers=AUTH)
        wamid = sent.json()["messages"][0]["id"]
        reaction = {
            "messaging_product": "whatsapp",
            "to": "+5511999990003",
            "type": "reaction",
            "reaction": {"message_id": "wamid.IN", "emoji": "👍"},
        }
        reacted = (await client.post(SEND, json=reaction, headers=AUTH)).json()["messages"][0]["id"]
        failed = (await client.post(SEND, json=text_body("+5511999990009"), headers=AUTH)).json()
        read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}
        await client.post(SEND, json=read, headers=AUTH)
        await receiver.wait_until(lambda: len(receiver.statuses()) >= 5)
        await trio.sleep(0.05)  # nothing more may follow
        assert sim.last_outbound["5511999990001"] == wamid
    statuses = receiver.statuses()
    assert len(statuses) == 5
    mine = [s for s in statuses if s["id"] == wamid]
    assert [s["status"] for s in mine] == ["sent", "delivered", "read"]
    assert all(s["recipient_id"] == "5511999990001" for s in mine)
    assert mine[0]["timestamp"] <= mine[1]["timestamp"] <= mine[2]["timestamp"]
    assert [s["status"] for s in statuses if s["id"] == reacted] == ["sent"]
    [failure] = [s for s in statuses if s["id"] == failed["messages"][0]["id"]]
    assert failure["status"] == "failed"
    assert failure["errors"][0]["code"] == 131047
    for body, headers in receiver.posts:
        assert signature_problem(body, headers["x-hub-signature-256"], [SECRET]) is None
    # Every status value names its recipient's ids in contacts (no profile), failed included.
    for payload in receiver.payloads():
        for change in payload["entry"][0]["changes"]:
            value = change["value"]
            ids = {s["recipient_id"] for s in value["statuses"]}
            assert {c["wa_id"] for c in value["contacts"]} == ids
            for contact in value["contacts"]:
                assert contact == {
                    "wa_id": contact["wa_id"],
                    "user_id": bsuid_for(contact["wa_id"]),
                }


async def test_statuses_out_of_order_batched_and_remote() -> None:
    receiver = Receiver()
    async with (
        standin_client() as (standin, client),
        receiving(receiver) as url,
        CustomerSimulator(
            url,
            SECRET,
            standin_url=standin.base_url,  # the cross-process path: long polls /_sim/sent
            out_of_order=1.0,
            batch=10,
            status_delays=(0.0, 0.0),
        ) as sim,
    ):
        sent = await client.post(SEND, json=text_body(), headers=AUTH)
        wamid = sent.json()["messages"][0]["id"]
        await receiver.wait_until(lambda: len(receiver.statuses()) >= 3)
        assert sim.stats.statuses == 3
    order = [s["status"] for s in receiver.statuses() if s["id"] == wamid]
    assert order == ["read", "delivered", "sent"]
    assert len(receiver.posts) < 3  # several statuses shared a POST


async def test_run_reports_stats() -> None:
    receiver = Receiver(answers=[503])
    async with (
        run_standin(token=TOKEN) as standin,
        receiving(receiver) as url,
        CustomerSimulator(
            url, SECRET, customers=make_customers(4), standin=standin, retry=fast_retry()
        ) as sim,
    ):
        stats = await sim.run(
            rate=100, duration=0.1, types=("text", "image", "location", "button_reply", "reaction")
        )
    assert stats.sent == 10 and stats.acked == 10 and stats.failed == 0
    assert stats.retries == 1 and stats.status_codes[503] == 1
    assert len(stats.ack_latencies) == 10
    summary = stats.summary()
    assert summary["ack_ms"]["p50"] is not None and summary["status_codes"]["200"] == 10
    assert {m["from"] for m in receiver.messages()} == {c.wa_id for c in make_customers(4)}


# -- CLI --------------------------------------------------------------------------------------


def test_cli_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["whatsapp-sim", "customers", "--target", "http://x", "--app-secret", "s", "--types", "fax"]
    )
    assert status == 1
    assert "fax" in capsys.readouterr().err
    assert main(["whatsapp-sim", "serve", "--webhook-url", "http://x"]) == 1


def test_cli_serve(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytake", "whatsapp-sim", "serve", "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_environ(tmp_path),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        with httpx.Client(base_url=url, trust_env=False) as client:
            response = client.post(SEND, json=text_body(), headers=AUTH)
            assert response.status_code == 200
            assert client.get("/_sim/sent").json()["count"] == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# -- Meta's checks of a send ------------------------------------------------------------------


def interactive_body(interactive: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": "+5511999990001",
        "type": "interactive",
        "interactive": interactive,
    }


def buttons(*titles: str, body: str = "Resolvido?") -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": body},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": f"b{i}", "title": t}}
                for i, t in enumerate(titles)
            ]
        },
    }


def list_of(*rows_per_section: int, **changes: Any) -> dict[str, Any]:
    sections = [
        {
            "title": f"Seção {s}",
            "rows": [{"id": f"r{s}.{r}", "title": f"Opção {r}"} for r in range(count)],
        }
        for s, count in enumerate(rows_per_section)
    ]
    interactive: dict[str, Any] = {
        "type": "list",
        "body": {"text": "Escolha"},
        "action": {"button": "Opções", "sections": sections},
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = interactive
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[leaf] = value
    return interactive


def template_body(
    name: str = "ticket_update", language: str = "es_ES", *params: dict[str, Any]
) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if params:
        template["components"] = [{"type": "body", "parameters": list(params)}]
    return {
        "messaging_product": "whatsapp",
        "to": "+5511999990001",
        "type": "template",
        "template": template,
    }


def text_param(text: str, name: str | None = None) -> dict[str, Any]:
    param = {"type": "text", "text": text}
    if name is not None:
        param["parameter_name"] = name
    return param


async def test_four_reply_buttons_are_refused_like_meta() -> None:
    async with standin_client() as (standin, client):
        for count in (1, 3):
            ok = await client.post(
                SEND, json=interactive_body(buttons(*"ABC"[:count])), headers=AUTH
            )
            assert ok.status_code == 200, ok.text
        four = await client.post(SEND, json=interactive_body(buttons(*"ABCD")), headers=AUTH)
        error = assert_meta_error(four, 400, 131009)
        assert error["message"] == "(#131009) Parameter value is not valid"
        assert (
            "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3"
            in (error["error_data"]["details"])
        )
        assert_meta_error(
            await client.post(SEND, json=interactive_body(buttons()), headers=AUTH), 400, 131009
        )
    assert len(standin.sent) == 2


async def test_a_list_of_eleven_rows_is_refused_like_meta() -> None:
    async with standin_client() as (standin, client):
        ten = await client.post(SEND, json=interactive_body(list_of(4, 6)), headers=AUTH)
        assert ten.status_code == 200, ten.text
        eleven = await client.post(SEND, json=interactive_body(list_of(5, 6)), headers=AUTH)
        error = assert_meta_error(eleven, 400, 131009)
        assert error["error_data"]["details"] == "Total row count exceed max allowed count: 10"
    assert len(standin.sent) == 1


LONG = "x" * 5000


@pytest.mark.parametrize(
    ("interactive", "code", "fragment"),
    [
        (buttons("A" * 21), 131009, "Button title length invalid"),
        (buttons("Sim", "Sim"), 131009, "Button titles must be unique"),
        (buttons("Sim", body=LONG[:1025]), 131009, "Body text length invalid"),
        ({**buttons("Sim"), "footer": {"text": "f" * 61}}, 131009, "Footer text"),
        ({**buttons("Sim"), "header": {"type": "text", "text": "h" * 61}}, 131009, "Header text"),
        ({**buttons("Sim"), "header": {"type": "sticker"}}, 131009, "Header type"),
        (
            {
                "type": "button",
                "body": {"text": "b"},
                "action": {
                    "buttons": [{"type": "reply", "reply": {"id": "i" * 257, "title": "Sim"}}]
                },
            },
            131009,
            "Button id length invalid",
        ),
        (list_of(*[1] * 11), 131009, "Invalid sections count"),
        (list_of(2, action__sections__0__rows__0__title="t" * 25), 131009, "Row title"),
        (list_of(2, action__sections__0__rows__0__id="i" * 201), 131009, "Row id"),
        (list_of(2, action__sections__0__rows__0__description="d" * 73), 131009, "Row description"),
        (list_of(2, action__sections__0__rows__1__id="r0.0"), 131009, "Row ids must be unique"),
        (list_of(1, 1, action__sections__1__title="s" * 25), 131009, "Section title"),
        (list_of(1, 1, action__sections__1__title=None), 131009, "Section title is required"),
        (list_of(2, action__button="b" * 21), 131009, "List button text"),
        (list_of(2, body={"text": LONG}), 131009, "Body text length invalid"),
        (list_of(2, header={"type": "image", "image": {"id": "1"}}), 131009, "Header type"),
        ({"type": "hologram", "action": {}}, 100, "interactive type"),
    ],
)
async def test_interactive_limits(interactive: dict[str, Any], code: int, fragment: str) -> None:
    async with standin_client() as (standin, client):
        response = await client.post(SEND, json=interactive_body(interactive), headers=AUTH)
        error = assert_meta_error(response, 400, code)
        assert fragment in error["error_data"]["details"]
    assert standin.sent == []


def media_body(kind: str, **obj: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": "+5511999990001", "type": kind, kind: obj}


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (text_body(body="x" * 4097), 100, "at most 4096 characters"),
        (media_body("image", link="ftp://x.example/a.jpg"), 100, "http or https"),
        (media_body("image", link="https://x.example/a.jpg", id="1"), 100, "exactly one"),
        (media_body("image", link="https://x.example/a.jpg", caption="c" * 1025), 100, "1024"),
        (media_body("audio", link="https://x.example/a.ogg", caption="c"), 100, "caption"),
        (media_body("image", link="https://x.example/a.jpg", filename="a.jpg"), 100, "filename"),
        (media_body("location", latitude=91, longitude=0), 100, "latitude"),
        ({**text_body(), "type": "contacts", "contacts": [{"phones": []}]}, 100, "formatted_name"),
        ({**text_body(), "to": "12"}, 100, "phone number"),
        ({**text_body(), "to": "not a user"}, 100, "user id"),
    ],
)
async def test_message_limits(body: dict[str, Any], code: int, fragment: str) -> None:
    async with standin_client() as (standin, client):
        error = assert_meta_error(await client.post(SEND, json=body, headers=AUTH), 400, code)
        assert fragment in error["error_data"]["details"]
    assert standin.sent == []


async def test_media_by_id_is_checked_for_type_and_size() -> None:
    async with standin_client() as (standin, client):
        png = standin.add_media(b"\x89PNG", "image/png")
        gif = standin.add_media(b"GIF89a", "image/gif")
        huge = standin.add_media(b"\0" * (5 * 1024 * 1024 + 1), "image/jpeg")
        voice = standin.add_media(b"OggS", "audio/ogg; codecs=opus")
        assert (await client.post(SEND, json=media_body("image", id=png), headers=AUTH)).is_success
        assert (
            await client.post(SEND, json=media_body("audio", id=voice), headers=AUTH)
        ).is_success
        wrong_type = await client.post(SEND, json=media_body("image", id=gif), headers=AUTH)
        assert "image/gif" in assert_meta_error(wrong_type, 400, 131053)["error_data"]["details"]
        too_big = await client.post(SEND, json=media_body("image", id=huge), headers=AUTH)
        assert "limit" in assert_meta_error(too_big, 400, 131053)["error_data"]["details"]
        as_sticker = await client.post(SEND, json=media_body("sticker", id=png), headers=AUTH)
        assert_meta_error(as_sticker, 400, 131053)
    assert [r.type for r in standin.sent] == ["image", "audio"]


async def test_templates_are_checked_against_the_catalogue() -> None:
    async with standin_client() as (standin, client):

        async def send(body: dict[str, Any]) -> httpx.Response:
            return await client.post(SEND, json=body, headers=AUTH)

        two = template_body("ticket_update", "es_ES", text_param("991"), text_param("resolvido"))
        assert (await send(two)).status_code == 200
        assert (await send(template_body("hello_world", "en_US"))).status_code == 200
        named = template_body(
            "order_shipped", "pt_BR", text_param("Ana", "customer"), text_param("991", "order")
        )
        assert (await send(named)).status_code == 200

        unknown = assert_meta_error(await send(template_body("nope", "es_ES")), 400, 132001)
        assert unknown["message"] == "(#132001) Template name does not exist in the translation"
        assert_meta_error(await send(template_body("ticket_update", "en_US")), 400, 132001)
        pending = template_body("spring_offer", "pt_BR", text_param("20%"))
        assert (
            "PENDING"
            in assert_meta_error(await send(pending), 400, 132001)["error_data"]["details"]
        )

        one = template_body("ticket_update", "es_ES", text_param("991"))
        error = assert_meta_error(await send(one), 400, 132000)
        assert error["message"].startswith("(#132000) Number of parameters does not match")
        assert "(1)" in error["error_data"]["details"] and "(2)" in error["error_data"]["details"]
        assert_meta_error(await send(template_body("ticket_update", "es_ES")), 400, 132000)

        positional_as_named = template_body(
            "ticket_update", "es_ES", text_param("991", "1"), text_param("ok", "2")
        )
        assert_meta_error(await send(positional_as_named), 400, 132012)
        named_as_positional = template_body(
            "order_shipped", "pt_BR", text_param("Ana"), text_param("991")
        )
        assert_meta_error(await send(named_as_positional), 400, 132012)
        empty = template_body("ticket_update", "es_ES", text_param("991"), {"type": "text"})
        assert_meta_error(await send(empty), 400, 131008)
        too_long = template_body("ticket_update", "es_ES", text_param("9"), text_param(LONG[:1000]))
        assert_meta_error(await send(too_long), 400, 132005)
        button = two | {
            "template": two["template"]
            | {
                "components": [
                    *two["template"]["components"],
                    {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": []},
                ]
            }
        }
        assert_meta_error(await send(button), 400, 131009)
    assert len(standin.sent) == 3


async def test_template_listing_honours_fields_and_summary() -> None:
    path = "/v23.0/310000000000001/message_templates"
    async with standin_client() as (_, client):

        async def listing(**params: Any) -> httpx.Response:
            return await client.get(path, params=params, headers=AUTH)

        everything = (await listing()).json()
        by_name = {t["name"]: t for t in everything["data"]}
        assert by_name["ticket_update"]["parameter_format"] == "POSITIONAL"
        assert by_name["order_shipped"]["parameter_format"] == "NAMED"
        # A body with variables carries an example of each (clients rebuild templates from it).
        for template in everything["data"]:
            for component in template["components"]:
                if "{{" in component.get("text", ""):
                    assert component["example"], template["name"]
        assert "summary" not in everything

        some = (
            await listing(
                fields="name,status",
                summary="total_count,message_template_count",
                status="APPROVED,REJECTED",
                limit=2,
            )
        ).json()
        assert [set(t) for t in some["data"]] == [{"name", "status", "id"}] * 2
        assert some["summary"] == {"total_count": 3, "message_template_count": 4}
        assert "fields=name,status" in some["paging"]["next"]
        rest = (await client.get(some["paging"]["next"], headers=AUTH)).json()
        assert [t["name"] for t in rest["data"]] == ["order_shipped"]
        assert set(rest["data"][0]) == {"name", "status", "id"}

        total = (await listing(summary="true", language="pt_BR", category="marketing")).json()
        assert total["summary"] == {"total_count": 1}
        assert [t["name"] for t in total["data"]] == ["spring_offer"]
        bad = assert_meta_error(await listing(fields="name,colour"), 400, 100)
        assert "colour" in bad["error_data"]["details"]


# -- identities and statuses as Meta sends them since the BSUIDs ------------------------------

BSUID_ONLY = Customer(wa_id="", name="Bia", user_id="BR.12345678901234567890")


async def test_a_bsuid_only_customer_and_sends_to_a_bsuid() -> None:
    receiver = Receiver()
    async with (
        standin_client() as (standin, client),
        receiving(receiver) as url,
        CustomerSimulator(
            url, SECRET, standin=standin, customers=[BSUID_ONLY], status_delays=(0.0, 0.0)
        ) as sim,
    ):
        await sim.send_text(BSUID_ONLY, "oi")
        [inbound] = receiver.payloads()
        value = inbound["entry"][0]["changes"][0]["value"]
        assert value["contacts"] == [
            {"profile": {"name": "Bia"}, "wa_id": "", "user_id": BSUID_ONLY.user_id}
        ]
        assert value["messages"][0]["from"] == ""
        assert value["messages"][0]["from_user_id"] == BSUID_ONLY.user_id

        by_to = await client.post(SEND, json=text_body(to=BSUID_ONLY.user_id), headers=AUTH)
        assert by_to.json()["contacts"] == [
            {"input": BSUID_ONLY.user_id, "user_id": BSUID_ONLY.user_id}
        ]
        by_recipient = {**text_body(), "recipient": BSUID_ONLY.user_id}
        del by_recipient["to"]
        assert (await client.post(SEND, json=by_recipient, headers=AUTH)).status_code == 200
        await receiver.wait_until(lambda: len(receiver.statuses()) >= 6)
        assert sim.last_outbound[BSUID_ONLY.user_id] == standin.sent[-1].wamid
    assert standin.sent[0].user_id == BSUID_ONLY.user_id and standin.sent[0].wa_id == ""
    for status in receiver.statuses():
        assert status["recipient_id"] == ""
        assert status["recipient_user_id"] == BSUID_ONLY.user_id
    for payload in receiver.payloads()[1:]:
        assert payload["entry"][0]["changes"][0]["value"]["contacts"] == [
            {"wa_id": "", "user_id": BSUID_ONLY.user_id}
        ]


async def test_statuses_name_the_phone_number_that_sent() -> None:
    """Without a configured phone number id, a status still names the number the message
    was sent from, not the simulator's default business."""
    receiver = Receiver()
    async with (
        standin_client() as (standin, client),  # any phone number id may send
        receiving(receiver) as url,
        CustomerSimulator(url, SECRET, standin=standin, batch=10, status_delays=(0.0, 0.0)) as sim,
    ):
        for phone_number_id in ("420000000000077", "420000000000088"):
            sent = await client.post(
                f"/v23.0/{phone_number_id}/messages", json=text_body(), headers=AUTH
            )
            assert sent.status_code == 200
        await receiver.wait_until(lambda: len(receiver.statuses()) >= 6)
        assert sim.business.phone_number_id == "420000000000002"
    by_number: dict[str, set[str]] = {}
    for payload in receiver.payloads():
        for change in payload["entry"][0]["changes"]:
            number = change["value"]["metadata"]["phone_number_id"]
            by_number.setdefault(number, set()).update(s["id"] for s in change["value"]["statuses"])
    assert by_number == {
        "420000000000077": {standin.sent[0].wamid},
        "420000000000088": {standin.sent[1].wamid},
    }

"""Building and posting signed webhook bodies, and a running engine with the app served."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import sqlalchemy as sa
import trio

from pytake.config import Settings, load_settings
from pytake.engine import Engine
from pytake.web import create_app
from pytake.whatsapp import sign

from ._support import serving

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "420000000000002"
WABA_ID = "310000000000001"


def webhook_settings(database_url: str, **env: str) -> Settings:
    return load_settings(
        environ={
            "PYTAKE_DATABASE_URL": database_url,
            "PYTAKE_WHATSAPP_APP_SECRET": APP_SECRET,
            "PYTAKE_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            **env,
        }
    )


def wa_id() -> str:
    """A fresh customer number, so tests sharing a database never see each other's data."""
    return "55119" + str(secrets.randbelow(10**8)).zfill(8)


def wamid() -> str:
    return "wamid." + secrets.token_hex(12)


def text_message(sender: str, body: str = "olá", *, id: str | None = None, ts: int = 1767225600,
                 **extra: Any) -> dict[str, Any]:
    return {"from": sender, "id": id or wamid(), "timestamp": str(ts), "type": "text",
            "text": {"body": body}, **extra}


def envelope(
    messages: list[dict[str, Any]] = (),  # type: ignore[assignment]
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    phone_number_id: str = PHONE_NUMBER_ID,
    contacts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        value["messages"] = list(messages)
        value["contacts"] = contacts if contacts is not None else [
            {"profile": {"name": "Ana"}, "wa_id": m["from"]} for m in messages if m.get("from")
        ]
    if statuses:
        value["statuses"] = list(statuses)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]}


def encode(doc: dict[str, Any]) -> bytes:
    """Like Meta: compact, non-ASCII escaped as \\uXXXX, "/" escaped."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


@attrs.define
class Edge:
    engine: Engine
    client: httpx.AsyncClient

    async def post(self, body: bytes, *, signature: str | None = "auto",
                   headers: dict[str, str] | None = None) -> httpx.Response:
        hdrs = {"content-type": "application/json", **(headers or {})}
        if signature == "auto":
            hdrs["x-hub-signature-256"] = sign(body, APP_SECRET)
        elif signature is not None:
            hdrs["x-hub-signature-256"] = signature
        return await self.client.post("/webhooks/whatsapp", content=body, headers=hdrs)

    async def settle(self) -> None:
        """Wait until every stored webhook is processed and every mailbox drained."""
        with trio.fail_after(30):
            while True:
                await self.engine.inbox.process_pending()
                if self.engine.router.idle():
                    pending = await self.engine.db.run(
                        lambda s: s.execute(
                            sa.text("SELECT count(*) FROM inbox WHERE state = 'pending'")
                        ).scalar(),
                        readonly=True,
                    )
                    if not pending:
                        return
                await trio.sleep(0.01)

    async def query(self, sql: str, **params: Any) -> list[Any]:
        return await self.engine.db.run(
            lambda s: list(s.execute(sa.text(sql), params)), readonly=True
        )


@asynccontextmanager
async def running_edge(settings: Settings) -> AsyncIterator[Edge]:
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            async with serving(create_app(engine)) as client:
                yield Edge(engine, client)
        finally:
            await engine.aclose()
            nursery.cancel_scope.cancel()

"""``/webhooks/whatsapp``: the Cloud API's door, as a lean ASGI handler.

This is the hot path (Meta wants a median answer well under 250 ms and retries anything that
is not a 200), so it bypasses the framework: raw ASGI, no routing table, no request object.

- ``GET``: the verification handshake.  ``hub.mode=subscribe`` and a ``hub.verify_token``
  equal (constant time) to the configured one → 200 with exactly the challenge, text/plain;
  anything else → 403.
- ``POST``: the body is read up to the limit (413 beyond it, before any hashing or parsing),
  the ``X-Hub-Signature-256`` checked over the raw bytes (401 with a JSON reason and a
  security log line otherwise), then the body is stored in the inbox and the answer is 200
  only once that row is committed.  Storage trouble or overload → 503 with Retry-After, so
  Meta retries.  Nothing a sender can send produces a 500.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import trio

from ..errors import StorageUnavailable
from ..messaging import STORE_INBOX, WebhookMetrics
from ..store import GroupCommitter, WriteKind
from ..whatsapp import signature_problem, verify_token_matches

log = logging.getLogger("pytake.webhook")
security = logging.getLogger("pytake.security")

PATH = "/webhooks/whatsapp"
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: seconds the webhook waits for the inbox write before answering 503
STORE_TIMEOUT = 5.0


class _TooLarge(Exception):
    def __init__(self, *, more_body: bool) -> None:
        super().__init__()
        #: whether the client is still sending the body
        self.more_body = more_body


class _Disconnected(Exception):
    pass


class WhatsAppWebhook:
    def __init__(
        self,
        *,
        verify_token: str,
        app_secrets: list[str],
        max_body: int,
        committer: GroupCommitter,
        on_stored: Callable[[], None],
        metrics: WebhookMetrics,
        store: WriteKind[tuple[bytes, str], Any] = STORE_INBOX,
        hold: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.verify_token = verify_token
        self.app_secrets = [s for s in app_secrets if s]
        self.max_body = max_body
        self.committer = committer
        #: The write that makes a body durable before the 200 (`STORE_INBOX`, or an
        #: `InboxProcessor`'s ``ingest``, which also processes it in that transaction).
        self.store = store
        self.on_stored = on_stored
        self.metrics = metrics
        #: Awaited after storing, before the 200 (`InboxProcessor.wait_for_room`): whether
        #: it held the answer back.
        self.hold = hold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "")
        if method == "GET":
            status, body, ctype, headers = self._handshake(scope)
        elif method == "POST":
            started = time.perf_counter()
            try:
                status, body, ctype, headers = await self._notification(scope, receive)
            except _TooLarge as exc:
                self.metrics.requests.labels("413").inc()
                await self._refuse_too_large(exc, receive, send)
                return
            self.metrics.ack_seconds.observe(time.perf_counter() - started)
        else:
            status, body, ctype, headers = _json(405, {"error": f"method {method} not allowed"})
            headers.append((b"allow", b"GET, POST"))
        self.metrics.requests.labels(str(status)).inc()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                # A length, not chunked framing: the end of the answer costs no extra write.
                "headers": [(b"content-type", ctype),
                            (b"content-length", str(len(body)).encode()), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _handshake(self, scope: Scope) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        mode = query.get("hub.mode", [""])[0]
        token = query.get("hub.verify_token", [None])[0]
        challenge = query.get("hub.challenge", [""])[0]
        if mode == "subscribe" and challenge and verify_token_matches(token, self.verify_token):
            return 200, challenge.encode(), b"text/plain", []
        security.warning("webhook verification refused (mode=%r)", mode[:40])
        return 403, b"verification refused", b"text/plain", []

    async def _notification(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            raise _TooLarge(more_body=length.isdigit())
        try:
            body = await self._read(receive)
        except _Disconnected:
            return _json(400, {"error": "client disconnected before the body was complete"})
        signature = headers.get(b"x-hub-signature-256", b"").decode("latin-1") or None
        problem = (
            signature_problem(body, signature, self.app_secrets)
            if self.app_secrets
            else "the webhook app secret is not configured"
        )
        if problem is not None:
            self.metrics.signature_failures.inc()
            client = scope.get("client") or ("?", 0)
            security.warning("webhook refused from %s: %s", client[0], problem)
            return _json(401, {"error": problem})
        try:
            await self.committer.submit(self.store, (body, signature or ""), timeout=STORE_TIMEOUT)
        except StorageUnavailable as exc:
            log.warning("webhook answered 503: %s", exc)
            status, out, ctype, _ = _json(503, {"error": "storage unavailable, retry later"})
            return status, out, ctype, [(b"retry-after", str(int(exc.retry_after or 1)).encode())]
        self.on_stored()
        if self.hold is not None and await self.hold():
            self.metrics.held.inc()
        return 200, b'{"status":"ok"}', b"application/json", []

    async def _refuse_too_large(self, exc: _TooLarge, receive: Receive, send: Send) -> None:
        """Answer 413 at once, then read what the client still sends (up to `DRAIN_LIMIT`
        bytes, for `DRAIN_SECONDS`) before closing: a client that writes its whole body
        before it reads gets to read the answer, instead of a reset connection."""
        _, body, ctype, _ = _json(413, {"error": f"body larger than {self.max_body} bytes"})
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body, "more_body": exc.more_body})
        if exc.more_body:
            with trio.move_on_after(DRAIN_SECONDS):
                await _drain(receive, DRAIN_LIMIT)
            await send({"type": "http.response.body", "body": b""})

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge(more_body=bool(message.get("more_body", False)))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


#: Bytes of a too large body read (and dropped) before the 413, so that a client that sends
#: the whole body before reading the answer gets to read it, instead of a connection reset
#: under its feet.  A bigger body has its connection closed as soon as that is known.
DRAIN_LIMIT = 16 * 1024 * 1024
DRAIN_SECONDS = 10.0


async def _drain(receive: Receive, limit: int) -> None:
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def webhook_for(engine: Any) -> WhatsAppWebhook:
    """The engine's webhook: bodies stored through its webhook writer and processed in the
    same transaction when the inbox is caught up (one transaction less per message, and the
    conversation learns of it one commit sooner); answers held while its backlog is full."""
    settings = engine.settings
    inbox = engine.inbox
    return WhatsAppWebhook(
        verify_token=settings.whatsapp_verify_token,
        app_secrets=[settings.whatsapp_app_secret, settings.whatsapp_app_secret_previous],
        max_body=settings.whatsapp_max_body_bytes,
        committer=engine.inbox_committer,
        store=inbox.ingest,
        on_stored=inbox.wake,
        hold=functools.partial(inbox.wait_for_room, settings.whatsapp_inbox_backlog_wait),
        metrics=engine.webhook_metrics,
    )


def _json(status: int, doc: dict[str, Any]) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    """An error as the rest of the app answers it: an RFC 9457 problem document."""
    title = HTTPStatus(status).phrase
    detail = doc["error"]
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail,
               "code": title.lower().replace(" ", "_").replace("-", "_"), "error": detail}
    return status, json.dumps(problem).encode(), b"application/problem+json", []


class LeanRoutes:
    """ASGI middleware: exact paths go to their own handler, the rest to the framework."""

    def __init__(self, fallback: ASGIApp, routes: dict[str, ASGIApp]) -> None:
        self.fallback = fallback
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.routes.get(scope.get("path", ""))
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self.fallback(scope, receive, send)

"""The raw-ASGI plumbing the stand-ins share: a request read whole, JSON answers, faults.

`StandIn` is the base of every stand-in: it serves ``/_sim/*`` control routes, records each
request, checks the Bearer token, applies the `ApiFaults`, then hands the request to the
subclass's `StandIn.handle`. Raw ASGI rather than Quart keeps a stand-in's own cost and
behaviour (dropped connections, truncated bodies) entirely in our hands.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qs

import attrs
import trio

from pytake.standins.apis._faults import ApiFaults, Fault
from pytake.standins.whatsapp import drop_connection, serve_lifespan

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY: Final = 1024 * 1024


@attrs.frozen
class Request:
    """One request as a stand-in saw it."""

    method: str
    path: str
    #: Query parameters, the first value of each.
    query: dict[str, str]
    #: Headers, names lower-case.
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or ``None`` if it is not JSON."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    @property
    def bearer(self) -> str | None:
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None


@attrs.frozen
class Reply:
    """What a handler answers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, value: Any) -> Reply:
        return cls(status, json.dumps(value, separators=(",", ":")).encode())


class StandIn:
    """Base of the stand-ins: an ASGI app with faults, a request log and control routes.

    ``token``: the Bearer token required on API routes (``None``: no authentication).
    ``base_url`` is set by `pytake.standins.apis.run_app` once the server is bound.

    Control routes (no token): ``GET|POST /_sim/faults`` reads or changes the faults (JSON),
    ``POST /_sim/reset`` forgets requests and turns the faults off.
    """

    def __init__(self, *, token: str | None = None, faults: ApiFaults | None = None) -> None:
        self.token = token
        self.faults = faults if faults is not None else ApiFaults()
        self.base_url = ""
        #: Every API request received (control routes aside), in order.
        self.requests: list[Request] = []

    # -- for tests ----------------------------------------------------------------------------

    def reset(self) -> None:
        self.requests.clear()
        self.faults.reset()

    # -- for subclasses -----------------------------------------------------------------------

    def received(self, request: Request) -> None:
        """Called for every API request as it arrives, before the token and the faults."""

    def public(self, request: Request) -> bool:
        """Whether ``request`` needs no token (e.g. a document download)."""
        return False

    async def handle(self, request: Request) -> Reply:
        """Answer one API request (faults and the token were dealt with)."""
        raise NotImplementedError

    def malformed(self, request: Request) -> bytes:
        """The body of a malformed answer: JSON cut short."""
        return b'{"data": [{"id": '

    # -- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        if body is None:
            return
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query={k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()},
            headers={
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            },
            body=body,
        )
        if request.path.startswith("/_sim/"):
            await _reply(send, self._control(request))
            return
        self.requests.append(request)
        self.received(request)
        if self.token is not None and not self.public(request) and request.bearer != self.token:
            await _reply(send, Reply.json(401, {"error": "unauthorized"}))
            return
        decision = self.faults.decide()
        if decision.delay > 0 and not await _sleep_unless_gone(decision.delay, receive):
            return
        if decision.fault is Fault.DROP:
            await drop_connection(send)
        elif decision.fault is Fault.SERVER_ERROR:
            status = self.faults.server_error_status
            await _reply(send, Reply(status, f"{status} upstream failed\n".encode(), "text/plain"))
        elif decision.fault is Fault.MALFORMED:
            await _reply(send, Reply(200, self.malformed(request)))
        else:
            await _reply(send, await self.handle(request))

    def _control(self, request: Request) -> Reply:
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/_sim/faults"):
            return Reply.json(200, self.faults.to_json())
        if route == ("POST", "/_sim/faults"):
            changes = request.json()
            if not isinstance(changes, dict):
                return Reply.json(400, {"error": "a JSON object is required"})
            try:
                self.faults.update(changes)
            except ValueError as exc:
                return Reply.json(400, {"error": str(exc)})
            return Reply.json(200, self.faults.to_json())
        if route == ("POST", "/_sim/reset"):
            self.reset()
            return Reply.json(200, {"ok": True})
        return Reply.json(404, {"error": f"unknown simulator route {request.path}"})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _sleep_unless_gone(seconds: float, receive: Receive) -> bool:
    """Sleep ``seconds``; ``False`` as soon as the client disconnects (so that a slow answer
    whose client gave up never holds the server's shutdown)."""
    gone = False

    async def watch(scope: trio.CancelScope) -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        scope.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch, nursery.cancel_scope)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    return not gone


async def _reply(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", reply.content_type.encode("latin-1")),
        (b"content-length", str(len(reply.body)).encode()),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers),
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})



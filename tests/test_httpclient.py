"""`pytake.httpclient`: `LeanTransport` against scripted HTTP/1.1 servers on loopback.

Each test runs a small server (`serve`) whose handler plays the server's side of the
conversation byte for byte and records what it saw: the connections it accepted, the
requests it read, the connections the client closed.  Timeouts run on trio's MockClock, and
only where no real I/O is pending while the clock may jump (the server never answers, or the
requests that do get answers carry no deadline).
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pytake.httpclient import (
    ChunkedDecoder,
    EnvironmentProxies,
    LeanTransport,
    ProtocolError,
    parse_response_head,
    pooled_client,
)

# --- a scripted server ------------------------------------------------------------------------


@dataclass
class Received:
    """One request as the server read it."""

    connection: int  # the connection it came on: 0 for the first one accepted, ...
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    body: bytes  # de-chunked
    raw_body: bytes  # as it came over the wire


@dataclass
class Server:
    """What the server saw, updated as it happens."""

    port: int = 0
    accepted: int = 0
    open_now: int = 0
    peak_open: int = 0
    requests: list[Received] = field(default_factory=list)
    #: Connections on which the server read end-of-file (or a reset) from the client.
    closed_by_client: set[int] = field(default_factory=set)
    #: Connections whose handler returned: the server closed them.
    finished: set[int] = field(default_factory=set)
    _changed: trio.Event = field(default_factory=trio.Event)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def connections_used(self) -> list[int]:
        """The connection each request came on, in order."""
        return [request.connection for request in self.requests]

    def changed(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, condition: Callable[[], bool], *, seconds: float = 5.0) -> None:
        """Until ``condition()`` holds; failing after ``seconds`` rather than hanging (at once,
        under an autojumping MockClock, if nothing else can happen)."""
        with trio.fail_after(seconds):
            while not condition():
                await self._changed.wait()


class Peer:
    """The server's end of one accepted connection."""

    def __init__(self, server: Server, stream: trio.abc.Stream, index: int) -> None:
        self.server = server
        self.stream = stream
        self.index = index
        self._buffer = bytearray()

    async def _more(self) -> bool:
        try:
            data = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:  # reset by the client
            data = b""
        if not data:
            self.server.closed_by_client.add(self.index)
            self.server.changed()
            return False
        self._buffer += data
        return True

    async def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._more():
                raise EOFError(f"connection {self.index} closed inside a request")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def _read_until(self, delimiter: bytes) -> bytes:
        while (end := self._buffer.find(delimiter)) < 0:
            if not await self._more():
                raise EOFError(f"connection {self.index} closed inside a request")
        data = bytes(self._buffer[:end])
        del self._buffer[: end + len(delimiter)]
        return data

    async def _read_chunked(self) -> tuple[bytes, bytes]:
        raw, body = bytearray(), bytearray()
        while True:
            line = await self._read_until(b"\r\n")
            raw += line + b"\r\n"
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            data = await self._read_exactly(size + 2)
            assert data.endswith(b"\r\n"), data
            raw += data
            body += data[:-2]
        while trailer := await self._read_until(b"\r\n"):
            raw += trailer + b"\r\n"
        raw += b"\r\n"
        return bytes(raw), bytes(body)

    async def read_request(self) -> Received | None:
        """The next request; ``None`` once the client closed the connection instead."""
        if not self._buffer and not await self._more():
            return None
        head = await self._read_until(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ")
        assert version == "HTTP/1.1", request_line
        headers: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            assert colon, line
            headers[name.lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            raw, body = await self._read_chunked()
        else:
            raw = body = await self._read_exactly(int(headers.get("content-length", "0")))
        request = Received(self.index, method, target, headers, body, raw)
        self.server.requests.append(request)
        self.server.changed()
        return request

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)


Handler = Callable[[Peer], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Serve on an ephemeral loopback port, running ``handler`` for each connection (over
    TLS with ``tls``)."""
    server = Server()

    async def on_connection(tcp: trio.SocketStream) -> None:
        stream: trio.abc.Stream = tcp
        if tls is not None:
            stream = trio.SSLStream(tcp, tls, server_side=True)
        index = server.accepted
        server.accepted += 1
        server.open_now += 1
        server.peak_open = max(server.peak_open, server.open_now)
        server.changed()
        try:
            await handler(Peer(server, stream, index))
        finally:
            tcp.socket.close()  # now: the FIN is out before `finished` says so
            server.open_now -= 1
            server.finished.add(index)
            server.changed()

    async with trio.open_nursery() as nursery:
        server.port = await listen(nursery, on_connection)
        yield server
        nursery.cancel_scope.cancel()


async def listen(
    nursery: trio.Nursery, on_connection: Callable[[trio.SocketStream], Awaitable[None]]
) -> int:
    """Run ``on_connection`` for each connection to an ephemeral loopback port; the port."""
    listeners = await nursery.start(partial(trio.serve_tcp, on_connection, 0, host="127.0.0.1"))
    return int(listeners[0].socket.getsockname()[1])


def answering(respond: Callable[[Received], bytes]) -> Handler:
    """A handler answering every request on a connection with ``respond(request)``."""

    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            await peer.send(respond(request))

    return handler


def ok(body: bytes = b"", *headers: str, status: str = "200 OK") -> bytes:
    """An HTTP/1.1 response delimited by ``Content-Length``."""
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def lean_client(**options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=LeanTransport(**options))


#: Larger than one read of the transport (64 KiB) and than ``eager_limit=1024``.
BIG = bytes(range(256)) * 1024


# --- keep-alive and the pool ------------------------------------------------------------------


async def test_sequential_requests_share_one_connection() -> None:
    def respond(request: Received) -> bytes:
        return ok(f"{request.method} {request.target}".encode())

    async with serve(answering(respond)) as server, pooled_client(trust_env=False) as client:
        for i in range(150):
            if i % 2:
                response = await client.post(server.url(f"/n/{i}"), json={"i": i})
                assert response.text == f"POST /n/{i}"
            else:
                response = await client.get(server.url(f"/n/{i}"))
                assert response.text == f"GET /n/{i}"
    assert len(server.requests) == 150
    assert [json.loads(r.body) for r in server.requests[1::2]] == [
        {"i": i} for i in range(1, 150, 2)]
    assert server.accepted == 1
    assert set(server.connections_used()) == {0}


async def test_concurrent_requests_stay_within_max_connections() -> None:
    batch: list[trio.Event] = []

    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            # Answer in batches of five: no request is answered until five are in flight,
            # so the client must run five exchanges at once (and a sixth connection shows).
            gate = trio.Event()
            batch.append(gate)
            if len(batch) == 5:
                for waiting in batch:
                    waiting.set()
                batch.clear()
            await gate.wait()
            await peer.send(ok(request.target.encode()))

    answers: dict[int, str] = {}
    async with serve(handler) as server, lean_client(max_connections=5) as client:

        async def fetch(i: int) -> None:
            answers[i] = (await client.get(server.url(f"/{i}"))).text

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(fetch, i)
    assert answers == {i: f"/{i}" for i in range(20)}
    assert len(server.requests) == 20
    assert server.accepted == 5
    assert server.peak_open == 5


@pytest.mark.parametrize(
    "options", [{"keepalive_expiry": 0.0}, {"max_keepalive_connections": 0}])
async def test_connections_beyond_keepalive_limits_are_not_reused(
    options: dict[str, float],
) -> None:
    async with serve(answering(lambda r: ok(b"hi"))) as server, lean_client(**options) as client:
        for _ in range(3):
            assert (await client.get(server.url())).content == b"hi"
        assert server.connections_used() == [0, 1, 2]
        await server.wait_until(lambda: {0, 1} <= server.closed_by_client)


async def test_server_closing_an_idle_connection_costs_nothing() -> None:
    async def handler(peer: Peer) -> None:
        # One answer per connection, then close it, though the answer said nothing of it.
        if await peer.read_request() is not None:
            await peer.send(ok(b"%d" % peer.index))

    async with serve(handler) as server, lean_client() as client:
        assert (await client.get(server.url())).text == "0"
        await server.wait_until(lambda: 0 in server.finished)
        assert (await client.get(server.url())).text == "1"
    assert server.accepted == 2
    assert server.connections_used() == [0, 1]


# --- response framing -------------------------------------------------------------------------


async def test_chunked_response_with_extension_and_trailer() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
        b"7;name=value\r\nchunked\r\n1\r\n \r\n4\r\nbody\r\n0\r\nX-Checksum: abc\r\n\r\n"
    )

    def respond(request: Received) -> bytes:
        return chunked if request.target == "/chunked" else ok(b"next")

    async with serve(answering(respond)) as server, lean_client() as client:
        response = await client.get(server.url("/chunked"))
        assert response.content == b"chunked body"
        assert (await client.get(server.url("/next"))).content == b"next"
    assert server.accepted == 1
    assert server.connections_used() == [0, 0]


async def test_body_delimited_by_the_connection_closing() -> None:
    async def handler(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if request.target == "/until-close":
                await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"
                                + BIG)
                return  # the body ends where the connection does
            await peer.send(ok(b"next"))

    async with serve(handler) as server, lean_client() as client:
        response = await client.get(server.url("/until-close"))
        assert response.content == BIG
        assert (await client.get(server.url("/next"))).content == b"next"
    assert server.accepted == 2
    assert server.connections_used() == [0, 1]


async def test_interim_1xx_responses_are_skipped() -> None:
    def respond(request: Received) -> bytes:
        if request.target != "/interim":
            return ok(b"next")
        return (b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n"
                + ok(b"final", "X-Final: yes"))

    async with serve(answering(respond)) as server, lean_client() as client:
        response = await client.post(server.url("/interim"), content=b"payload")
        assert (response.status_code, response.content) == (200, b"final")
        assert response.headers["x-final"] == "yes"
        assert "link" not in response.headers
        assert (await client.get(server.url("/next"))).content == b"next"
    assert [r.body for r in server.requests] == [b"payload", b""]
    assert server.connections_used() == [0, 0]


async def test_large_response_is_streamed_and_then_reused() -> None:
    def respond(request: Received) -> bytes:
        return ok(BIG) if request.target == "/big" else ok(b"next")

    async with serve(answering(respond)) as server, lean_client(eager_limit=1024) as client:
        async with client.stream("GET", server.url("/big")) as response:
            pieces = [piece async for piece in response.aiter_bytes()]
        assert b"".join(pieces) == BIG
        assert len(pieces) > 1  # handed over as it arrived, not read whole first
        assert (await client.get(server.url("/next"))).content == b"next"
    assert server.accepted == 1
    assert server.connections_used() == [0, 0]


@pytest.mark.parametrize("sent", [0, 4096])
async def test_streamed_response_closed_early_is_not_reused(sent: int) -> None:
    async def handler(peer: Peer) -> None:
        request = await peer.read_request()
        if peer.index == 0:
            await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG)
                            + BIG[:sent])
            # The rest never comes: the client has to give this connection up.
            assert await peer.read_request() is None
            return
        while request is not None:
            await peer.send(ok(b"next"))
            request = await peer.read_request()

    async with serve(handler) as server, lean_client(eager_limit=1024) as client:
        async with client.stream("GET", server.url("/big")) as response:
            # Closed with its body unread.  (Reading part of it first would leave httpx's own
            # async generators unfinished, which trio reports whatever the transport.)
            assert response.headers["content-length"] == str(len(BIG))
        assert response.is_closed
        assert (await client.get(server.url("/next"))).content == b"next"
        assert server.connections_used() == [0, 1]
        await server.wait_until(lambda: 0 in server.closed_by_client)


async def test_head_and_204_responses_have_no_body() -> None:
    def respond(request: Received) -> bytes:
        if request.method == "HEAD":  # the length a GET would have had, and no body
            return b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"
        if request.target == "/empty":
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        return ok(b"next")

    async with serve(answering(respond)) as server, lean_client() as client:
        head = await client.head(server.url("/doc"))
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == "1000"
        empty = await client.delete(server.url("/empty"))
        assert (empty.status_code, empty.content) == (204, b"")
        assert (await client.get(server.url("/next"))).content == b"next"
    assert [r.method for r in server.requests] == ["HEAD", "DELETE", "GET"]
    assert server.accepted == 1


PAYLOAD = {"messages": [{"id": i, "text": "olá"} for i in range(50)]}


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_gzip_response_is_decoded(framing: str) -> None:
    compressed = gzip.compress(json.dumps(PAYLOAD).encode())
    if framing == "content-length":
        answer = ok(compressed, "Content-Type: application/json", "Content-Encoding: gzip")
    else:
        half = len(compressed) // 2
        answer = (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"%x\r\n%b\r\n" % (half, compressed[:half])
                  + b"%x\r\n%b\r\n" % (len(compressed) - half, compressed[half:])
                  + b"0\r\n\r\n")

    async with serve(answering(lambda r: answer)) as server, lean_client() as client:
        response = await client.get(server.url())
    assert response.content == json.dumps(PAYLOAD).encode()
    assert response.json() == PAYLOAD


# --- request bodies ---------------------------------------------------------------------------


async def test_async_generator_body_is_sent_chunked() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"hello, "
        yield b""  # an empty piece must not end the body early
        yield b"world"

    async with serve(answering(lambda r: ok(r.body))) as server, lean_client() as client:
        response = await client.post(server.url("/upload"), content=body())
    assert response.content == b"hello, world"
    [request] = server.requests
    assert request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in request.headers
    assert request.raw_body == b"7\r\nhello, \r\n5\r\nworld\r\n0\r\n\r\n"


async def test_json_body_is_sent_with_its_length() -> None:
    payload = {"text": "olá, mundo", "n": [1, 2, 3]}
    async with serve(answering(lambda r: ok(b"{}"))) as server, lean_client() as client:
        response = await client.post(server.url("/json"), json=payload)
    assert response.json() == {}
    [request] = server.requests
    assert request.headers["content-type"] == "application/json"
    assert int(request.headers["content-length"]) == len(request.body) > 0
    assert json.loads(request.body) == payload


# --- failures ---------------------------------------------------------------------------------


async def test_server_dropping_the_connection_is_a_protocol_error() -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()  # and close without a word

    async with serve(handler) as server, lean_client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await client.get(server.url("/dropped"))
    assert [r.target for r in server.requests] == ["/dropped"]


async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))  # the port is ours but nobody listens: refused
        port = bound.getsockname()[1]
        async with lean_client() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 OK\r\n\r\n",
    b"HTTP/2 200 OK\r\n\r\n",
    b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
])
async def test_malformed_response_head_is_a_protocol_error(answer: bytes) -> None:
    async def handler(peer: Peer) -> None:
        request = await peer.read_request()
        if peer.index == 0:
            await peer.send(answer)
            assert await peer.read_request() is None  # the client drops this connection
            return
        while request is not None:
            await peer.send(ok(b"next"))
            request = await peer.read_request()

    async with serve(handler) as server, lean_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(server.url("/broken"))
        assert (await client.get(server.url("/next"))).content == b"next"
        assert server.connections_used() == [0, 1]
        await server.wait_until(lambda: 0 in server.closed_by_client)


async def test_read_timeout_when_the_server_never_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        assert await peer.read_request() is None  # silence, until the client gives up

    async with serve(handler) as server, lean_client() as client:
        started = trio.current_time()
        # Only the read has a deadline (connecting and sending involve no timer); the outer
        # one only turns a missing read timeout into a failure instead of a hang.
        with trio.fail_after(60), pytest.raises(httpx.ReadTimeout):
            await client.get(server.url("/silent"), timeout=httpx.Timeout(None, read=3.0))
        assert trio.current_time() - started == pytest.approx(3.0)
        await server.wait_until(lambda: 0 in server.closed_by_client)
    assert [r.target for r in server.requests] == ["/silent"]


async def test_pool_timeout_while_the_only_connection_is_busy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        assert await peer.read_request() is None  # the body never ends

    async with (
        serve(handler) as server,
        lean_client(max_connections=1) as client,
        # No deadline on the held request: the clock cannot jump while it talks to the server.
        client.stream("GET", server.url("/held"), timeout=None) as held,
    ):
        assert held.status_code == 200
        started = trio.current_time()
        with trio.fail_after(60), pytest.raises(httpx.PoolTimeout):
            await client.get(server.url("/second"), timeout=httpx.Timeout(5.0, pool=1.0))
        assert trio.current_time() - started == pytest.approx(1.0)
    assert [r.target for r in server.requests] == ["/held"]
    assert server.accepted == 1


async def test_cancelled_request_gives_its_slot_back() -> None:
    async def handler(peer: Peer) -> None:
        request = await peer.read_request()
        if peer.index == 0:
            assert await peer.read_request() is None  # never answered: the caller gives up
            return
        while request is not None:
            await peer.send(ok(b"healthy"))
            request = await peer.read_request()

    async with serve(handler) as server, lean_client(max_connections=1) as client:
        scope = trio.CancelScope()

        async def doomed() -> None:
            with scope:
                await client.get(server.url("/hangs"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(doomed)
            await server.wait_until(lambda: len(server.requests) == 1)
            scope.cancel()
        assert scope.cancelled_caught
        # With the slot leaked this would wait for it, and fail after the pool timeout.
        response = await client.get(server.url("/after"), timeout=httpx.Timeout(5.0, pool=1.0))
        assert response.text == "healthy"
        assert server.connections_used() == [0, 1]
        await server.wait_until(lambda: 0 in server.closed_by_client)


# --- what an httpx response promises ----------------------------------------------------------


async def test_small_response_reports_elapsed() -> None:
    """httpx sets ``elapsed`` on every response once read, whichever the transport."""
    async with serve(answering(lambda r: ok(b"small"))) as server, lean_client() as client:
        response = await client.get(server.url())
    assert response.content == b"small"
    assert response.elapsed >= timedelta(0)


async def test_small_streamed_response_can_be_read_raw() -> None:
    """``client.stream`` + ``aiter_raw`` gives the body as sent (here still gzipped), also
    when it is small enough for the transport to read it at once."""
    compressed = gzip.compress(b"x" * 1000)
    answer = ok(compressed, "Content-Encoding: gzip")
    async with (
        serve(answering(lambda r: answer)) as server,
        lean_client() as client,
        client.stream("GET", server.url()) as response,
    ):
        raw = b"".join([piece async for piece in response.aiter_raw()])
    assert raw == compressed


# httpx itself leaves its decoding generators unfinished when a body fails to decode (so it
# does over its default transport too); the garbage collector's warning about them is not
# what this test is about.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_undecodable_body_leaves_the_pool_usable() -> None:
    """A body that fails to decode must not leave a closed connection among the idle ones."""
    def respond(request: Received) -> bytes:
        if request.target == "/bad-gzip":
            return ok(b"this is not gzip", "Content-Encoding: gzip")
        return ok(b"fine")

    async with serve(answering(respond)) as server, lean_client() as client:
        with pytest.raises(httpx.DecodingError):
            await client.get(server.url("/bad-gzip"))
        # A busy process soon hands the descriptors it frees to new sockets and files;
        # make that happen at once with quiet sockets on the lowest free descriptors.
        others = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(64)]
        try:
            response = await client.get(server.url("/next"))
        finally:
            for other in others:
                other.close()
    assert response.content == b"fine"


# --- proxies named by the environment --------------------------------------------------------


@dataclass
class ProxyLog:
    """What the test proxy saw."""

    port: int = 0
    accepted: int = 0
    #: Request lines: ``CONNECT host:port`` or ``GET http://host:port/path`` (forwarded).
    requests: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials}127.0.0.1:{self.port}"


async def _pipe(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass


@asynccontextmanager
async def serve_proxy(*, refuse: bytes | None = None) -> AsyncIterator[ProxyLog]:
    """A forwarding proxy on loopback: ``CONNECT host:port`` gets ``200`` and a tunnel,
    a request in absolute form is passed on to its origin; both then pipe bytes both ways
    until one side closes.  With ``refuse``, every request gets that answer instead."""
    log = ProxyLog()

    async def on_connection(client: trio.SocketStream) -> None:
        log.accepted += 1
        buffer = bytearray()
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            data = await client.receive_some(65536)
            if not data:
                return
            buffer += data
        request_line, *lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        headers = {name.lower(): value
                   for name, _, value in (line.partition(": ") for line in lines)}
        method, target, _ = request_line.split(" ")
        log.requests.append(f"{method} {target}")
        log.authorizations.append(headers.get("proxy-authorization"))
        if refuse is not None:
            await client.send_all(refuse)
            return
        if method == "CONNECT":
            authority, rest = target, bytes(buffer[end + 4:])
        else:
            authority, rest = httpx.URL(target).netloc.decode(), bytes(buffer)
        host, _, port = authority.rpartition(":")
        async with await trio.open_tcp_stream(host, int(port)) as upstream:
            if method == "CONNECT":
                await client.send_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                await upstream.send_all(rest)
            async with trio.open_nursery() as nursery:
                async def one_way(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
                    await _pipe(source, sink)
                    nursery.cancel_scope.cancel()  # one side closed: so does the tunnel

                nursery.start_soon(one_way, client, upstream)
                nursery.start_soon(one_way, upstream, client)

    async with trio.open_nursery() as nursery:
        log.port = await listen(nursery, on_connection)
        yield log
        nursery.cancel_scope.cancel()


def loopback_certificate() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context and a client context
    that trusts it (and nothing else)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # load_cert_chain reads files only; a throwaway directory holds them for that call.
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = f"{folder}/cert.pem", f"{folder}/key.pem"
        with open(cert_file, "wb") as out:
            out.write(pem)
        with open(key_file, "wb") as out:
            out.write(key_pem)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=pem.decode())
    return server, client


@pytest.fixture
def proxy_environment(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Sets the proxy variables for a test, after clearing any the machine has (lower-case
    ones win over upper-case ones)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

    def set_proxies(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_proxies


def echo(request: Received) -> bytes:
    return ok(f"{request.method} {request.target}".encode())


async def test_https_goes_through_a_connect_tunnel_of_the_environment_proxy(
    proxy_environment: Callable[..., None],
) -> None:
    server_tls, client_tls = loopback_certificate()
    async with serve(answering(echo), tls=server_tls) as server, serve_proxy() as proxy:
        proxy_environment(HTTPS_PROXY=proxy.url("agent:s3cret@"), NO_PROXY="example.com")
        async with pooled_client(verify=client_tls) as client:
            first = await client.get(f"https://127.0.0.1:{server.port}/one")
            second = await client.post(f"https://127.0.0.1:{server.port}/two", json={})
    assert (first.text, second.text) == ("GET /one", "POST /two")
    # One tunnel, kept alive for both requests; TLS ran end to end inside it.
    assert proxy.requests == [f"CONNECT 127.0.0.1:{server.port}"]
    assert proxy.authorizations == ["Basic YWdlbnQ6czNjcmV0"]  # agent:s3cret
    assert server.connections_used() == [0, 0]


async def test_http_is_forwarded_in_absolute_form_by_the_environment_proxy(
    proxy_environment: Callable[..., None],
) -> None:
    async with serve(answering(echo)) as server, serve_proxy() as proxy:
        proxy_environment(http_proxy=proxy.url())
        async with pooled_client() as client:
            response = await client.get(server.url("/plain?q=1"))
    absolute = f"http://127.0.0.1:{server.port}/plain?q=1"
    assert proxy.requests == [f"GET {absolute}"]
    assert proxy.authorizations == [None]
    assert response.text == f"GET {absolute}"  # what reached the origin, through the proxy


@pytest.mark.parametrize(("no_proxy", "trust_env"), [
    ("127.0.0.1", True), ("*", True), ("localhost,127.0.0.0/8", True),
    ("", False),  # a client told not to trust the environment ignores its proxies
])
async def test_requests_go_direct_where_the_environment_says_so(
    proxy_environment: Callable[..., None], no_proxy: str, trust_env: bool,
) -> None:
    async with serve(answering(echo)) as server, serve_proxy() as proxy:
        proxy_environment(HTTP_PROXY=proxy.url(), ALL_PROXY=proxy.url(), NO_PROXY=no_proxy)
        async with pooled_client(trust_env=trust_env) as client:
            response = await client.get(server.url("/direct"))
    assert response.text == "GET /direct"
    assert proxy.accepted == 0


async def test_a_proxy_refusing_the_tunnel_is_a_proxy_error(
    proxy_environment: Callable[..., None],
) -> None:
    refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
    async with serve_proxy(refuse=refusal) as proxy:
        proxy_environment(HTTPS_PROXY=proxy.url())
        async with pooled_client() as client:
            with pytest.raises(httpx.ProxyError, match="407 Proxy Authentication Required"):
                await client.get("https://pytake.invalid/")
    assert proxy.requests == ["CONNECT pytake.invalid:443"]


@pytest.mark.parametrize(("host", "port", "direct"), [
    ("example.com", 443, True),
    ("api.example.com", 443, True),
    ("notexample.com", 443, False),
    ("internal.corp", 8443, True),
    ("internal.corp", 443, False),
    ("10.1.2.3", 80, True),
    ("11.1.2.3", 80, False),
    ("fe80::1", 80, True),
    ("2001:db8::1", 99, True),
    ("2001:db8::1", 98, False),
])
def test_no_proxy_entries(host: str, port: int, direct: bool) -> None:
    proxies = EnvironmentProxies({
        "https": "proxy.local:3128",
        "no": " .example.com, internal.corp:8443,10.0.0.0/8 ,fe80::1,[2001:db8::1]:99",
    })
    assert proxies.bypasses(host, port) is direct
    assert (proxies.proxy_for("https", host, port) is None) is direct


# --- _wire: the protocol rules on their own ---------------------------------------------------


def test_http10_response_is_kept_alive_only_when_it_says_so() -> None:
    closing = parse_response_head(b"HTTP/1.0 200 OK\r\nContent-Length: 2", request_method=b"GET")
    assert (closing.version, closing.content_length, closing.keep_alive) == (
        b"HTTP/1.0", 2, False)
    kept = parse_response_head(
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2", request_method=b"GET")
    assert kept.keep_alive


def test_conflicting_content_lengths_are_refused() -> None:
    with pytest.raises(ProtocolError, match="conflicting"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3",
                            request_method=b"GET")
    same = parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2",
                               request_method=b"GET")
    assert same.content_length == 2


def test_chunked_transfer_encoding_overrides_content_length() -> None:
    head = parse_response_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked",
        request_method=b"GET")
    assert (head.chunked, head.content_length, head.keep_alive) == (True, None, True)


def test_header_line_without_colon_is_refused() -> None:
    with pytest.raises(ProtocolError, match="malformed header"):
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length 2", request_method=b"GET")


CHUNKED_BODY = (b"5;ext=1\r\nhello\r\n1\r\n \r\nb\r\nchunked bod\r\n1;last\r\ny\r\n"
                b"0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n")
AFTER_BODY = b"HTTP/1.1 200 OK\r\n"


def test_chunked_decoder_fed_byte_by_byte_matches_fed_at_once() -> None:
    whole = ChunkedDecoder()
    assert whole.feed(CHUNKED_BODY + AFTER_BODY) == b"hello chunked body"
    assert whole.done
    assert whole.leftover == AFTER_BODY

    piecewise = ChunkedDecoder()
    data = bytearray()
    stream = CHUNKED_BODY + AFTER_BODY
    for i in range(len(stream)):
        data += piecewise.feed(stream[i: i + 1])
        assert piecewise.done == (i >= len(CHUNKED_BODY) - 1), i
        if not piecewise.done:
            assert piecewise.leftover == b""
    assert bytes(data) == b"hello chunked body"
    assert piecewise.leftover == AFTER_BODY


@pytest.mark.parametrize("broken", [b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n"])
def test_chunked_decoder_refuses_broken_framing(broken: bytes) -> None:
    with pytest.raises(ProtocolError):
        ChunkedDecoder().feed(broken)

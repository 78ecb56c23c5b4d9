"""`LeanTransport`: an `httpx` transport speaking HTTP/1.1 over trio streams, pooled per origin.

Why not httpcore, httpx's default: a profile of the engine sending Cloud API messages at a
few hundred per second put a third of the event loop's CPU in the request, most of it in
httpcore's generic machinery (h11 events, pool bookkeeping and its locks, per-chunk
response iteration).  A Cloud API send is one small JSON POST answered by one small JSON
body on a kept-alive connection; this transport does exactly that in a handful of
buffer operations, and everything else an HTTP client must (TLS, chunked bodies, bodies
delimited by the connection closing, 1xx answers, streamed request and response bodies,
timeouts per phase, stale kept-alive connections) in plain code next to it.

What it leaves to httpx: URLs, headers, cookies, redirects, content decoding (gzip...)
and HTTP/2 (not spoken).

Proxies.  Given ``proxies`` (`pooled_client` passes the environment's when ``trust_env``),
an origin the proxy map names for a proxy is reached through it: an ``https`` origin through
a tunnel (``CONNECT host:port``, then TLS to the origin inside it), an ``http`` origin by
sending the requests to the proxy in absolute form (``GET http://host/path``), which every
forwarding proxy accepts (many refuse CONNECT to ports other than 443).  The choice is made
once per origin; the pooling is the same as for direct connections.

Bodies.  A response whose ``Content-Length`` is at most ``eager_limit`` is read whole
before `handle_async_request` returns, its connection going back to the pool at once (the
usual case: an API's JSON answer).  Any other body is streamed: the connection is held by
the response until it is read to the end or closed, as with httpcore.

Errors are httpx's: `httpx.ConnectError`/`ConnectTimeout` (no connection),
`httpx.WriteError`/`WriteTimeout`, `httpx.ReadError`/`ReadTimeout`,
`httpx.RemoteProtocolError` (the server closed early or broke the protocol),
`httpx.PoolTimeout` (every connection to the origin busy for the pool timeout).  A
kept-alive connection is reused only if it is quiet (the server has not closed it or sent
anything unasked) and younger than ``keepalive_expiry``, so that a request is not written
into a connection the server already dropped; a request is never re-sent by the transport
(a POST may not be idempotent).
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator
from typing import Final

import httpx
import trio

from pytake.httpclient._proxy import EnvironmentProxies, Proxy
from pytake.httpclient._wire import (
    MAX_HEAD_BYTES,
    ChunkedDecoder,
    ProtocolError,
    ResponseHead,
    encode_chunk,
    encode_request_head,
    parse_response_head,
)
from pytake.sockets import has_input

__all__ = ["LeanTransport"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_RECEIVE_SIZE: Final = 65536
_END_OF_HEAD: Final = b"\r\n\r\n"


class _Connection:
    """One TCP (or TLS over TCP) connection to an origin, with what was read past a response."""

    def __init__(self, stream: trio.abc.Stream, socket: trio.socket.SocketType) -> None:
        self.stream = stream
        #: The TCP socket under any TLS layers (one, or two through an https proxy).
        self.socket = socket
        self.fileno = socket.fileno()
        self.buffer = bytearray()
        self.idle_since = 0.0
        self.closed = False

    def is_quiet(self) -> bool:
        """Nothing to read: a server that closed the connection (or broke the protocol by
        talking unasked) makes it readable."""
        return not (self.buffer or self.closed or has_input(self.fileno))

    async def send(self, data: bytes, timeout: float | None, request: httpx.Request) -> None:
        try:
            with _deadline(timeout) as scope:
                await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise httpx.WriteError(_describe(exc, "sending the request"), request=request) \
                from exc
        if scope.cancelled_caught:
            raise httpx.WriteTimeout("timed out sending the request", request=request)

    async def receive(
        self, timeout: float | None, request: httpx.Request
    ) -> bytes | bytearray:
        """More bytes from the server; empty when it closed the connection."""
        data: bytes | bytearray = b""
        try:
            with _deadline(timeout) as scope:
                data = await self.stream.receive_some(_RECEIVE_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise httpx.ReadError(_describe(exc, "reading the response"), request=request) \
                from exc
        if scope.cancelled_caught:
            raise httpx.ReadTimeout("timed out reading the response", request=request)
        return data

    async def aclose(self) -> None:
        self.closed = True
        await trio.aclose_forcefully(self.stream)


def _deadline(timeout: float | None) -> trio.CancelScope:
    return trio.CancelScope(
        deadline=math.inf if timeout is None else trio.current_time() + timeout
    )


def _describe(exc: BaseException, doing: str) -> str:
    cause = exc.__cause__ or exc
    return f"{doing}: {type(cause).__name__}: {cause}".rstrip(": ")


class _Origin:
    """The connections to one ``(scheme, host, port)``: idle ones, and a bound on all; and
    the proxy they go through, if any."""

    def __init__(self, max_connections: int, proxy: Proxy | None) -> None:
        self.idle: list[_Connection] = []
        self.slots = trio.Semaphore(max_connections)
        self.proxy = proxy


class LeanTransport(httpx.AsyncBaseTransport):
    """See the module docstring.  ``verify`` is httpx's (``True``, ``False`` or an
    `ssl.SSLContext`); the limits are per origin; ``proxies`` says which origins go through
    a proxy (none without it)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        keepalive_expiry: float = 5.0,
        eager_limit: int = 1024 * 1024,
        proxies: EnvironmentProxies | None = None,
    ) -> None:
        self._verify = verify
        self._ssl_context: ssl.SSLContext | None = verify if isinstance(
            verify, ssl.SSLContext) else None
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry
        self.eager_limit = eager_limit
        self._proxies = proxies
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._closed = False

    # --- the transport API ---------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(
                f"request URL has an unsupported scheme {scheme!r}", request=request)
        if not url.host:
            raise httpx.UnsupportedProtocol("request URL has no host", request=request)
        port = url.port or _DEFAULT_PORTS[scheme]
        key = (scheme, url.host, port)
        origin = self._origins.get(key)
        if origin is None:
            proxy = self._proxies.proxy_for(*key) if self._proxies else None
            origin = self._origins[key] = _Origin(self.max_connections, proxy)
        timeouts = request.extensions.get("timeout", {})
        with _deadline(timeouts.get("pool")) as scope:
            await origin.slots.acquire()
        if scope.cancelled_caught:
            raise httpx.PoolTimeout(
                f"every connection to {url.host}:{port} stayed busy", request=request)
        handed_over = False
        connection: _Connection | None = None
        try:
            connection = self._reuse(origin)
            if connection is None:
                connection = await self._connect(
                    origin, scheme, url.host, port, timeouts, request)
            response, handed_over = await self._exchange(
                connection, origin, request, timeouts)
            return response
        except BaseException:
            if connection is not None and not handed_over:
                await connection.aclose()
            raise
        finally:
            if not handed_over:
                origin.slots.release()

    async def aclose(self) -> None:
        self._closed = True
        origins, self._origins = self._origins, {}
        for origin in origins.values():
            idle, origin.idle = origin.idle, []
            for connection in idle:
                await connection.aclose()

    # --- connections ---------------------------------------------------------------------

    def _reuse(self, origin: _Origin) -> _Connection | None:
        now = trio.current_time()
        while origin.idle:
            connection = origin.idle.pop()
            if now - connection.idle_since < self.keepalive_expiry and connection.is_quiet():
                return connection
            _close_now(connection)
        return None

    def _release(self, connection: _Connection, origin: _Origin) -> None:
        """Back to the pool after a complete response the server keeps the connection for."""
        if self._closed or len(origin.idle) >= self.max_keepalive_connections:
            _close_now(connection)
            return
        connection.idle_since = trio.current_time()
        origin.idle.append(connection)

    async def _connect(
        self, origin: _Origin, scheme: str, host: str, port: int,
        timeouts: dict[str, float | None], request: httpx.Request,
    ) -> _Connection:
        proxy = origin.proxy
        where = f"{host}:{port}" if proxy is None else (
            f"{host}:{port} through the proxy at {proxy.host}:{proxy.port}")
        tcp: trio.SocketStream | None = None
        connection: _Connection | None = None
        try:
            with _deadline(timeouts.get("connect")):
                if proxy is None:
                    tcp = await trio.open_tcp_stream(host, port)
                    stream: trio.abc.Stream = tcp
                else:
                    tcp = await trio.open_tcp_stream(proxy.host, proxy.port)
                    stream = tcp
                    if proxy.scheme == "https":
                        stream = await self._start_tls(stream, proxy.host)
                    if scheme == "https":
                        await _open_tunnel(stream, proxy, host, port, request)
                if scheme == "https":
                    stream = await self._start_tls(stream, host)
                connection = _Connection(stream, tcp.socket)
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            raise httpx.ConnectError(_describe(exc, f"connecting to {where}"),
                                     request=request) from exc
        finally:
            if connection is None and tcp is not None:
                tcp.socket.close()  # closing the socket closes any TLS layered on it
        if connection is None:
            raise httpx.ConnectTimeout(f"connecting to {where} timed out", request=request)
        return connection

    async def _start_tls(self, stream: trio.abc.Stream, host: str) -> trio.SSLStream[
            trio.abc.Stream]:
        tls = trio.SSLStream(
            stream, self._tls_context(), server_hostname=host, https_compatible=True)
        await tls.do_handshake()
        return tls

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(verify=self._verify)
        return self._ssl_context

    # --- one request and its response ----------------------------------------------------

    async def _exchange(
        self, connection: _Connection, origin: _Origin, request: httpx.Request,
        timeouts: dict[str, float | None],
    ) -> tuple[httpx.Response, bool]:
        """Send ``request`` and read the response's head (and its body when small).

        Returns the response and whether its stream now owns the connection and the slot.
        """
        method = request.method.encode("ascii")
        url = request.url
        if origin.proxy is not None and url.scheme == "http":
            # Forwarded in absolute form (RFC 9112 §3.2.2): the proxy reads the origin from
            # the target.
            head = encode_request_head(
                method, b"http://" + url.netloc + url.raw_path,
                [*request.headers.raw, *origin.proxy.headers])
        else:
            head = encode_request_head(method, url.raw_path, request.headers.raw)
        write_timeout = timeouts.get("write")
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None
        if body is not None:
            await connection.send(head + body if body else head, write_timeout, request)
        else:
            await connection.send(head, write_timeout, request)
            chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
            async for data in request.stream:  # type: ignore[union-attr]
                if data:
                    await connection.send(encode_chunk(data) if chunked else data,
                                          write_timeout, request)
            if chunked:
                await connection.send(encode_chunk(b""), write_timeout, request)
        read_timeout = timeouts.get("read")
        response_head = await self._read_head(connection, method, read_timeout, request)
        extensions = {"http_version": response_head.version,
                      "reason_phrase": response_head.reason}
        length = response_head.content_length
        if length is not None and length <= self.eager_limit:
            content = await self._read_exactly(connection, length, read_timeout, request)
            if response_head.keep_alive and not connection.buffer:
                self._release(connection, origin)
            else:
                _close_now(connection)
            # A stream, not ``content=``: httpx then decodes (gzip...) as the caller reads,
            # so size limits apply before decompression, and ``elapsed``, ``aiter_raw``
            # work as with any transport.
            return httpx.Response(
                response_head.status, headers=response_head.headers,
                stream=_ReadBody(content), extensions=extensions,
            ), False
        stream = _ResponseBody(self, connection, origin, response_head, read_timeout, request)
        return httpx.Response(
            response_head.status, headers=response_head.headers, stream=stream,
            extensions=extensions,
        ), True

    async def _read_head(
        self, connection: _Connection, method: bytes, timeout: float | None,
        request: httpx.Request,
    ) -> ResponseHead:
        while True:
            buffer = connection.buffer
            start = 0
            while True:
                end = buffer.find(_END_OF_HEAD, start)
                if end >= 0:
                    break
                if len(buffer) > MAX_HEAD_BYTES:
                    raise httpx.RemoteProtocolError(
                        f"response head longer than {MAX_HEAD_BYTES} bytes", request=request)
                start = max(0, len(buffer) - 3)
                data = await connection.receive(timeout, request)
                if not data:
                    raise httpx.RemoteProtocolError(
                        "server disconnected without sending a complete response"
                        if buffer else "server disconnected without sending a response",
                        request=request)
                buffer += data
            raw = bytes(buffer[:end])
            del buffer[: end + 4]
            try:
                head = parse_response_head(raw, request_method=method)
            except ProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            if head.status == 101:
                raise httpx.RemoteProtocolError(
                    "server switched protocols, which this client does not do",
                    request=request)
            if head.status >= 200:
                return head
            # 1xx: an interim answer; the final one follows.

    async def _read_exactly(
        self, connection: _Connection, length: int, timeout: float | None,
        request: httpx.Request,
    ) -> bytes:
        buffer = connection.buffer
        while len(buffer) < length:
            data = await connection.receive(timeout, request)
            if not data:
                raise httpx.RemoteProtocolError(
                    f"server closed the connection after {len(buffer)} of {length} body bytes",
                    request=request)
            buffer += data
        content = bytes(buffer[:length])
        del buffer[:length]
        return content


class _ReadBody(httpx.AsyncByteStream):
    """A body already read whole (its connection is back in the pool)."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._content:
            yield self._content


class _ResponseBody(httpx.AsyncByteStream):
    """A streamed response body: holds the connection (and its pool slot) until read to
    the end or closed."""

    def __init__(
        self, transport: LeanTransport, connection: _Connection, origin: _Origin,
        head: ResponseHead, timeout: float | None, request: httpx.Request,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._origin = origin
        self._head = head
        self._timeout = timeout
        self._request = request
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            raise httpx.StreamClosed()
        head, request = self._head, self._request
        try:
            if head.chunked:
                decoder = ChunkedDecoder()
                pending: bytes | bytearray = bytes(connection.buffer)
                connection.buffer.clear()
                while True:
                    if pending:
                        try:
                            data = decoder.feed(pending)
                        except ProtocolError as exc:
                            raise httpx.RemoteProtocolError(str(exc), request=request) \
                                from None
                        if data:
                            yield data
                        if decoder.done:
                            connection.buffer += decoder.leftover
                            break
                    pending = await connection.receive(self._timeout, request)
                    if not pending:
                        raise httpx.RemoteProtocolError(
                            "server closed the connection inside a chunked body",
                            request=request)
            elif head.content_length is not None:
                remaining = head.content_length
                while remaining:
                    if not connection.buffer:
                        more = await connection.receive(self._timeout, request)
                        if not more:
                            raise httpx.RemoteProtocolError(
                                f"server closed the connection {remaining} body bytes early",
                                request=request)
                        connection.buffer += more
                    take = bytes(connection.buffer[:remaining])
                    del connection.buffer[: len(take)]
                    remaining -= len(take)
                    yield take
            else:  # delimited by the connection closing
                if connection.buffer:
                    first = bytes(connection.buffer)
                    connection.buffer.clear()
                    yield first
                while rest := await connection.receive(self._timeout, request):
                    yield bytes(rest)
            self._complete = True
        finally:
            if self._complete:
                await self.aclose()

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if self._complete and self._head.keep_alive and not connection.buffer:
                self._transport._release(connection, self._origin)
            else:
                await connection.aclose()
        finally:
            self._origin.slots.release()


def _close_now(connection: _Connection) -> None:
    """Close without waiting: for connections that are not in use by anyone."""
    connection.closed = True
    connection.socket.close()


async def _open_tunnel(
    stream: trio.abc.Stream, proxy: Proxy, host: str, port: int, request: httpx.Request
) -> None:
    """Ask the proxy on ``stream`` for a tunnel to ``host:port`` (``CONNECT``).

    Any 2xx opens the tunnel (RFC 9110 §9.3.6); anything else, such as 407 (the proxy wants
    credentials) or 403, is an `httpx.ProxyError` naming the proxy's answer.
    """
    authority = (f"[{host}]:{port}" if ":" in host else f"{host}:{port}").encode("ascii")
    head = encode_request_head(
        b"CONNECT", authority, [(b"Host", authority), *proxy.headers])
    buffer = bytearray()
    try:
        await stream.send_all(head)
        while (end := buffer.find(_END_OF_HEAD)) < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise ProtocolError(f"answer to CONNECT longer than {MAX_HEAD_BYTES} bytes")
            data = await stream.receive_some(_RECEIVE_SIZE)
            if not data:
                raise ProtocolError("the proxy closed the connection before answering CONNECT")
            buffer += data
        answer = parse_response_head(bytes(buffer[:end]), request_method=b"CONNECT")
    except ProtocolError as exc:
        raise httpx.ProxyError(f"proxy {proxy.host}:{proxy.port}: {exc}", request=request) \
            from None
    if not 200 <= answer.status < 300:
        reason = answer.reason.decode("latin-1")
        raise httpx.ProxyError(
            f"proxy {proxy.host}:{proxy.port} refused CONNECT {authority.decode()}: "
            f"{answer.status} {reason}".rstrip(), request=request)
    if len(buffer) > end + 4:
        # The origin speaks only after our TLS hello: bytes here are the proxy's, not TLS.
        raise httpx.ProxyError(
            f"proxy {proxy.host}:{proxy.port} sent data after its answer to CONNECT",
            request=request)

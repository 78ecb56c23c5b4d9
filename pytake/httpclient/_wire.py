"""HTTP/1.1 on the wire, client side: a request's head, a response's head, chunked bodies.

Pure functions over bytes, so that the transport's connection code only moves bytes and the
protocol rules are tested on their own.  What a response may be is RFC 9112's: a status line,
header fields, then a body delimited by ``Transfer-Encoding: chunked``, by ``Content-Length``,
or by the connection closing; 1xx answers before the final one are skipped by the caller.
"""

from __future__ import annotations

from typing import Final

import attrs

from pytake.errors import HttpProtocolError

__all__ = [
    "MAX_HEAD_BYTES",
    "ChunkedDecoder",
    "ProtocolError",
    "ResponseHead",
    "encode_chunk",
    "encode_request_head",
    "parse_response_head",
]

#: The longest response head accepted: a server sending more is broken or hostile.
MAX_HEAD_BYTES: Final = 64 * 1024
_LAST_CHUNK: Final = b"0\r\n\r\n"
#: A chunk-size line longer than this is not one (sizes are hex, extensions are rare).
_MAX_CHUNK_LINE: Final = 4096


class ProtocolError(HttpProtocolError):
    """The other side broke HTTP/1.1; the message says how."""


@attrs.frozen
class ResponseHead:
    status: int
    reason: bytes
    #: ``HTTP/1.1`` or ``HTTP/1.0``.
    version: bytes
    #: As received (names in their original case), for `httpx.Response`.
    headers: list[tuple[bytes, bytes]]
    #: ``Content-Length`` when the body is delimited by it, else ``None``.
    content_length: int | None
    chunked: bool
    #: The server will keep the connection open after this response.
    keep_alive: bool


def encode_request_head(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> bytes:
    """``METHOD target HTTP/1.1`` and the header fields, ending with the blank line.

    Header names and values come from `httpx.Headers`, which refuses CR and LF in them, so
    nothing here can split the request; the target is checked for the same reason.
    """
    if b"\r" in target or b"\n" in target or b" " in target:
        raise ProtocolError(f"request target {target[:100]!r} contains whitespace")
    lines = [method + b" " + target + b" HTTP/1.1"]
    lines.extend(name + b": " + value for name, value in headers)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked request body; ``b""`` gives the last chunk."""
    if not data:
        return _LAST_CHUNK
    return b"%x\r\n%b\r\n" % (len(data), data)


def parse_response_head(head: bytes, *, request_method: bytes) -> ResponseHead:
    """The status line and header fields of ``head`` (without its final blank line)."""
    lines = head.split(b"\r\n")
    status_line = lines[0]
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:100]!r}")
    version = parts[0]
    if len(parts[1]) != 3 or not parts[1].isdigit():
        raise ProtocolError(f"bad status code in {status_line[:100]!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) == 3 else b""
    headers: list[tuple[bytes, bytes]] = []
    content_length: int | None = None
    transfer_codings: list[bytes] = []
    connection_tokens: list[bytes] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b" " in name or b"\t" in name:
            raise ProtocolError(f"malformed header line {line[:100]!r}")
        value = value.strip(b" \t")
        headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length":
            if not value.isdigit() or len(value) > 18:
                raise ProtocolError(f"bad Content-Length {value[:40]!r}")
            length = int(value)
            if content_length is not None and content_length != length:
                raise ProtocolError("conflicting Content-Length headers")
            content_length = length
        elif lower == b"transfer-encoding":
            transfer_codings.extend(t.strip().lower() for t in value.split(b","))
        elif lower == b"connection":
            connection_tokens.extend(t.strip().lower() for t in value.split(b","))
    chunked = False
    if transfer_codings:
        if transfer_codings[-1] != b"chunked":
            # RFC 9112 §6.3: the body then runs until the connection closes.
            content_length = None
        else:
            chunked = True
            content_length = None  # Transfer-Encoding overrides Content-Length (§6.3)
    if request_method == b"HEAD" or status in (204, 304) or 100 <= status < 200:
        content_length, chunked = 0, False
    if version == b"HTTP/1.1":
        keep_alive = b"close" not in connection_tokens
    else:
        keep_alive = b"keep-alive" in connection_tokens
    if content_length is None and not chunked:
        keep_alive = False  # the body ends when the connection does
    return ResponseHead(status, reason, version, headers, content_length, chunked, keep_alive)


class ChunkedDecoder:
    """Feed it bytes as they arrive; it returns the body data they complete.

    ``done`` once the last chunk and the trailer section have been read; bytes after that
    stay in ``leftover`` (a server must not send any before our next request).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._remaining = 0  # data bytes left in the current chunk
        self._state = "size"  # size | data | data_end | trailer
        self.done = False

    @property
    def leftover(self) -> bytes:
        return bytes(self._buffer) if self.done else b""

    def feed(self, data: bytes | bytearray) -> bytes:
        self._buffer += data
        out = bytearray()
        buffer = self._buffer
        while not self.done:
            if self._state == "size":
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_CHUNK_LINE:
                        raise ProtocolError("chunk-size line too long")
                    break
                size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {size_text[:40]!r}") from None
                if size < 0:
                    raise ProtocolError("negative chunk size")
                del buffer[: end + 2]
                if size == 0:
                    self._state = "trailer"
                else:
                    self._remaining = size
                    self._state = "data"
            elif self._state == "data":
                if not buffer:
                    break
                take = min(self._remaining, len(buffer))
                out += buffer[:take]
                del buffer[:take]
                self._remaining -= take
                if self._remaining == 0:
                    self._state = "data_end"
            elif self._state == "data_end":
                if len(buffer) < 2:
                    break
                if buffer[:2] != b"\r\n":
                    raise ProtocolError("chunk data not followed by CRLF")
                del buffer[:2]
                self._state = "size"
            else:  # trailer: header lines until an empty one
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise ProtocolError("chunked trailer too long")
                    break
                del buffer[: end + 2]
                if end == 0:
                    self.done = True
        return bytes(out)

"""What the HTTP built-ins share: a client, one request with its failures classified, and the
answer read as JSON.

Failures become `ModuleResponse.failure` with a reason an operator can act on, classified
like this:

=====================================  =========================  ==========
what happened                          reason starts with          transient
=====================================  =========================  ==========
no answer within the timeout           ``... did not answer``      yes
connection refused, reset, DNS, TLS    ``... could not be reached`` yes
HTTP 5xx, 408, 429                     ``... answered HTTP 503``   yes
other HTTP 4xx                         ``... answered HTTP 400``   no
a body that is not the JSON expected   ``... answered malformed``  yes
=====================================  =========================  ==========

A malformed answer counts as transient: it is what a struggling upstream (a proxy's HTML
error page, a truncated body) produces, and the circuit breaker should see it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import attrs
import httpx

from pytake.httpclient import pooled_client
from pytake.modules._contract import NOT_FOUND, Module, ModuleResponse

__all__ = ["HttpAnswer", "HttpModule", "describe_url", "json_headers", "request"]

#: Largest answer body read, in bytes; a larger one is a failure.
MAX_ANSWER_BYTES: Final = 2 * 1024 * 1024
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})


def describe_url(url: str) -> str:
    """``url`` without its query, fragment and credentials: safe to put in a reason."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def json_headers(call_id: str, token: str | None = None) -> dict[str, str]:
    """The headers of a call to a JSON API: ``X-Request-Id`` is the call id (the same on
    retries), and a ``token`` goes as ``Authorization: Bearer``."""
    headers = {"Accept": "application/json", "X-Request-Id": call_id}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@attrs.frozen
class HttpAnswer:
    """An HTTP answer that came back complete (any status)."""

    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def is_json(self) -> bool:
        return "json" in self.headers.get("content-type", "").lower()

    def json(self, what: str) -> tuple[Any, ModuleResponse | None]:
        """The body parsed as JSON, or a malformed-answer failure naming ``what``."""
        try:
            return json.loads(self.body), None
        except json.JSONDecodeError as exc:
            problem = f"{exc.msg} at character {exc.pos}"
        except UnicodeDecodeError:
            problem = "not UTF-8"
        snippet = self.body[:60].decode("utf-8", "replace")
        return None, ModuleResponse.failure(
            f"{what} answered malformed JSON ({problem}; it starts {snippet!r})", transient=True
        )

    def status_failure(self, what: str) -> ModuleResponse:
        """The failure for a status that is not a success."""
        transient = self.status >= 500 or self.status in _TRANSIENT_STATUS
        return ModuleResponse.failure(f"{what} answered HTTP {self.status}", transient=transient)

    def unless_success(self, what: str, *, not_found: dict[str, Any]) -> ModuleResponse | None:
        """``None`` for a 2xx; else the response: outcome ``not_found`` with the outputs
        ``not_found`` for a 404, the status failure for any other status."""
        if self.status == 404:
            return ModuleResponse.success(not_found, outcome=NOT_FOUND)
        if not 200 <= self.status < 300:
            return self.status_failure(what)
        return None

    def found_json(
        self, what: str, *, not_found: dict[str, Any]
    ) -> tuple[Any, ModuleResponse | None]:
        """The body of a 2xx parsed as JSON, or the response `unless_success` or `json` gave
        instead."""
        unsuccessful = self.unless_success(what, not_found=not_found)
        if unsuccessful is not None:
            return None, unsuccessful
        return self.json(what)


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    what: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    json_body: Any = None,
    content: bytes | None = None,
) -> HttpAnswer | ModuleResponse:
    """Send one request; the complete answer, or the failure (see the module docstring).

    ``what`` names the other side in reasons (``"billing API GET https://.../boletos"``).
    ``timeout`` bounds connecting, each read and each write.
    """
    kwargs: dict[str, Any] = {}
    if json_body is not None:
        kwargs["json"] = json_body
    elif content is not None:
        kwargs["content"] = content
    try:
        async with client.stream(
            method,
            url,
            headers=headers,
            params=params,
            timeout=httpx.Timeout(timeout),
            **kwargs,
        ) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    return ModuleResponse.failure(
                        f"{what} answered more than {MAX_ANSWER_BYTES} bytes", transient=False
                    )
                chunks.append(chunk)
            return HttpAnswer(response.status_code, response.headers, b"".join(chunks))
    except httpx.TimeoutException:
        return ModuleResponse.failure(f"{what} did not answer within {timeout:g}s")
    except (httpx.InvalidURL, UnicodeError) as exc:
        # UnicodeError: a host name IDNA refuses (``xn--``), raised while the request is built.
        return ModuleResponse.failure(f"{what}: invalid URL ({exc})", transient=False)
    except httpx.UnsupportedProtocol as exc:
        return ModuleResponse.failure(f"{what}: unsupported URL ({exc})", transient=False)
    except httpx.TransportError as exc:
        return ModuleResponse.failure(
            f"{what} could not be reached ({type(exc).__name__}: {exc or 'no detail'})"
        )


class HttpModule(Module):
    """A module that calls HTTP APIs: `client` gives the shared client PyTake bound
    (``ModuleServices.http_client``), or a fresh one for the call."""

    #: Whether a client opened here honours proxy settings from the environment.
    trust_env: bool = True

    @asynccontextmanager
    async def client(self) -> AsyncIterator[httpx.AsyncClient]:
        shared = self.services.http_client
        if shared is not None:
            yield shared
            return
        async with pooled_client(trust_env=self.trust_env, follow_redirects=False) as client:
            yield client

    async def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        timeout: float,
        headers: dict[str, str],
        params: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpAnswer | ModuleResponse:
        """`request` on `client`, for a module that makes one request per call."""
        async with self.client() as client:
            return await request(client, method, url, what=what, timeout=timeout,
                                 headers=headers, params=params, json_body=json_body)

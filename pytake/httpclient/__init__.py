"""Outbound HTTP: httpx clients whose direct connections go through `LeanTransport`.

`pooled_client` is how PyTake opens an `httpx.AsyncClient` for its own calls (the Cloud
API, modules, flow HTTP nodes): the httpx API, with a transport measured to cost a fraction
of httpcore's CPU per small request (see `pytake.httpclient._transport`).
"""

from __future__ import annotations

from typing import Any

import httpx

from pytake.httpclient._proxy import EnvironmentProxies
from pytake.httpclient._transport import LeanTransport
from pytake.httpclient._wire import ProtocolError

from ._wire import ChunkedDecoder, parse_response_head

__all__ = [
    "ChunkedDecoder",
    "EnvironmentProxies",
    "LeanTransport",
    "ProtocolError",
    "parse_response_head",
    "pooled_client",
]


def pooled_client(
    *, limits: httpx.Limits | None = None, verify: Any = True, **kwargs: Any
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` (``kwargs`` are its own) over a `LeanTransport`.

    ``limits`` and ``verify`` configure the transport as they would httpx's default one.
    With ``trust_env`` (httpx's default) the proxies the environment names
    (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, with ``NO_PROXY``'s exceptions) are
    read now and used by the transport: httpx itself ignores them once it is given a
    transport.  An explicit ``proxy=`` is httpx's: its own proxy transport carries all
    traffic then.
    """
    limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20,
                                    keepalive_expiry=5.0)
    transport = LeanTransport(
        verify=verify,
        max_connections=limits.max_connections or 1_000_000,
        max_keepalive_connections=(
            limits.max_keepalive_connections
            if limits.max_keepalive_connections is not None else 1_000_000),
        keepalive_expiry=(
            limits.keepalive_expiry if limits.keepalive_expiry is not None else float("inf")),
        proxies=EnvironmentProxies() if kwargs.get("trust_env", True) else None,
    )
    return httpx.AsyncClient(transport=transport, verify=verify, limits=limits, **kwargs)

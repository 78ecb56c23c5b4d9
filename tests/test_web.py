"""The web edge, served by Hypercorn on loopback and called over HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import pytest
import trio
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from pytake.config import Settings
from pytake.errors import MailboxFull, StorageUnavailable
from pytake.web import create_app

from ._support import brief, serving

if TYPE_CHECKING:
    from pytake.engine import Engine


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_engine_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_before_engine_runs(settings: Settings) -> None:
    from pytake.engine import Engine

    engine = Engine(settings)  # constructed, never run: not ready
    async with serving(create_app(engine)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert brief(response) == {"error": "not ready"}


async def test_metrics_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    list(text_string_to_metric_families(response.text))  # parses


async def test_supervision_tree(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    response = await client.get("/api/v1/ops/supervision", params={"actor_limit": "5"},
                                headers=admin)
    assert response.status_code == 200
    root = response.json()
    assert {"kind", "id", "state", "restarts", "mailbox_depth", "children", "truncated"} <= set(
        root
    )
    assert isinstance(root["children"], list)


async def test_supervision_tree_default_and_zero_limit(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/ops/supervision", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/ops/supervision?actor_limit=0",
                             headers=admin)).status_code == 200


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "actor_limit must be an integer, got 'abc'"),
        ("-1", "actor_limit must be between 0 and 10000, got -1"),
        ("10001", "actor_limit must be between 0 and 10000, got 10001"),
    ],
)
async def test_supervision_tree_bad_limit(
    client: httpx.AsyncClient, admin: dict[str, str], value: str, reason: str
) -> None:
    response = await client.get("/api/v1/ops/supervision", params={"actor_limit": value},
                                headers=admin)
    assert response.status_code == 400
    assert brief(response) == {"error": reason}


async def test_not_found_is_json(client: httpx.AsyncClient) -> None:
    # Other paths are the web app's (history fallback: tests/test_first_run.py).
    response = await client.get("/api/v1/no/such/route")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert brief(response) == {"error": "not found"}


async def test_method_not_allowed_is_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/healthz")
    assert response.status_code == 405
    assert brief(response) == {"error": "method not allowed"}
    assert "GET" in response.headers["Allow"]


async def test_no_server_header(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert "server" not in response.headers


async def _raise_in_group(exc: Exception) -> None:
    async def fail() -> None:
        raise exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(fail)


@pytest.fixture
async def failing_client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus test-only routes that raise, to exercise the error handlers."""
    app = create_app(engine)

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret detail")

    @app.get("/mailbox-full")
    async def mailbox_full() -> str:
        raise MailboxFull("conversation", "5511999990000", 1000)

    @app.get("/mailbox-full-in-group")
    async def mailbox_full_in_group() -> str:
        # Errors escaping a nursery arrive wrapped in an ExceptionGroup.
        await _raise_in_group(MailboxFull("conversation", "5511999990000", 1000))
        return "unreachable"

    @app.get("/storage-down")
    async def storage_down() -> str:
        raise StorageUnavailable("postgresql: connection refused", retry_after=2.5)

    async with serving(app) as client:
        yield client


async def test_unexpected_error_is_opaque_500(
    failing_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await failing_client.get("/boom")
    assert response.status_code == 500
    assert brief(response) == {"error": "internal server error"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    # ... but the operator sees it in the log, with the traceback.
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records)


@pytest.mark.parametrize("path", ["/mailbox-full", "/mailbox-full-in-group"])
async def test_mailbox_full_is_503_retry_after(
    failing_client: httpx.AsyncClient, path: str
) -> None:
    response = await failing_client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert brief(response) == {"error": "mailbox full, retry later"}
    assert "5511999990000" not in response.text  # no customer ids in public errors


async def test_storage_unavailable_is_503_retry_after(failing_client: httpx.AsyncClient) -> None:
    response = await failing_client.get("/storage-down")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"  # 2.5 s rounded up to whole seconds
    assert brief(response) == {"error": "storage unavailable, retry later"}

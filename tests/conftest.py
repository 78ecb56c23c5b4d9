"""Fixtures shared by the tests: settings, a running engine, the app served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import trio

from pytake.config import Settings, load_settings
from pytake.web import create_app

from ._support import serving

if TYPE_CHECKING:
    from pytake.engine import Engine


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={"PYTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'pytake.db'}"})


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[Engine]:
    """A real engine, running (``ready``) for the duration of the test."""
    from pytake.engine import Engine

    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        yield engine
        await engine.aclose()
        nursery.cancel_scope.cancel()


@pytest.fixture
async def admin(engine: Engine) -> dict[str, str]:
    """``Authorization`` headers of an admin of ``engine``."""
    from ._support import admin_headers

    return await admin_headers(engine)


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the real app around the running ``engine``."""
    async with serving(create_app(engine)) as client:
        yield client


from .service_instances import private_postgres, private_redis  # noqa: E402, F401
from .storage_fixtures import (  # noqa: E402, F401
    db_url,
    empty_pg_url,
    pg_url,
    redis_target,
    sqlite_url,
)

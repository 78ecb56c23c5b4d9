"""Fixtures for tests that need real databases or Redis (exposed through ``conftest.py``).

- ``pg_url``: a PostgreSQL database made for this test run (``pytake_test_<hex>``), migrated
  to the newest schema, dropped at the end. Shared by the whole run: tests using it must not
  assume it is empty (use unique values).
- ``empty_pg_url``: a fresh, never migrated PostgreSQL database for one test.
- ``sqlite_url``: a migrated SQLite file in the test's ``tmp_path``.
- ``redis_target``: Redis URL plus a key prefix unique to this run (``pytake-test-<hex>:``);
  every key under the prefix is deleted at the end, so tests must put their keys under it.

Where the servers are: ``PYTAKE_TEST_PG_ADMIN_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, a superuser or a role allowed to create
databases) and ``PYTAKE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import attrs
import coredis
import psycopg
import pytest
import trio
from psycopg import sql
from sqlalchemy.engine import make_url

from pytake.store import upgrade

__all__ = ["RedisTarget", "empty_pg_url", "pg_url", "redis_target", "sqlite_url"]

PG_ADMIN_ENV = "PYTAKE_TEST_PG_ADMIN_URL"
REDIS_ENV = "PYTAKE_TEST_REDIS_URL"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _admin_url() -> str:
    url = os.environ.get(PG_ADMIN_ENV) or DEFAULT_PG_ADMIN_URL
    # psycopg wants a libpq URL, without SQLAlchemy's "+driver".
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    url = _admin_url()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        where = make_url(url).render_as_string(hide_password=True)
        pytest.fail(
            f"PostgreSQL for the tests is not reachable at {where} ({exc}); "
            f"start it or point {PG_ADMIN_ENV} at one",
            pytrace=False,
        )


def create_pg_database() -> tuple[str, str]:
    """Create an empty database ``pytake_test_<hex>``; return its name and SQLAlchemy URL."""
    name = f"pytake_test_{secrets.token_hex(6)}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(_admin_url()).set(drivername="postgresql+psycopg", database=name)
    return name, url.render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    """Drop the database, disconnecting whoever is still connected to it."""
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a migrated PostgreSQL database shared by the whole test run."""
    name, url = create_pg_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """URL of a new PostgreSQL database with nothing in it, for this test only."""
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a migrated SQLite database file in ``tmp_path``."""
    url = f"sqlite:///{tmp_path / 'pytake.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database on each backend (the test runs once for each)."""
    fixture = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(fixture)
    return url


@attrs.frozen
class RedisTarget:
    """Where tests may use Redis: ``url``, and ``prefix`` to put in front of every key."""

    url: str
    prefix: str

    def key(self, *parts: str) -> str:
        """``prefix`` followed by ``parts`` joined with ``:``."""
        return self.prefix + ":".join(parts)


async def _redis_ping(url: str) -> None:
    async with coredis.Redis.from_url(url) as client:
        await client.ping()


async def _redis_delete_prefix(url: str, prefix: str) -> int:
    deleted = 0
    async with coredis.Redis.from_url(url) as client:
        # SCAN matches glob patterns: escape the prefix's own glob characters.
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
        batch: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += await client.delete(batch)
                batch = []
        if batch:
            deleted += await client.delete(batch)
    return deleted


@pytest.fixture(scope="session")
def redis_target() -> Iterator[RedisTarget]:
    """Redis for this test run; its keys (under ``prefix``) are deleted at the end."""
    url = os.environ.get(REDIS_ENV) or DEFAULT_REDIS_URL
    target = RedisTarget(url=url, prefix=f"pytake-test-{secrets.token_hex(6)}:")
    try:
        trio.run(_redis_ping, url)
    except Exception as exc:  # coredis raises several kinds, all fatal here
        pytest.fail(
            f"Redis for the tests is not reachable at {url} ({exc!r}); "
            f"start it or point {REDIS_ENV} at one",
            pytrace=False,
        )
    try:
        yield target
    finally:
        trio.run(_redis_delete_prefix, url, target.prefix)

"""Private PostgreSQL and Redis servers that a test may stop and start.

The shared services stay up for every other test; these live on their own ports and are
removed afterwards.  PostgreSQL clusters are made with Debian's pg_createcluster (trust
authentication), Redis with redis-server; both are what ``scripts/ensure-services.sh``
installs.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, up: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} in {timeout}s")


def _pg_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: int(v))
    return versions[-1]


@attrs.define
class PrivatePostgres:
    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run(["pg_ctlcluster", self.version, self.name, "start"], check=True)
        _wait_for_port(self.port, up=True)

    def stop(self) -> None:
        subprocess.run(
            ["pg_ctlcluster", self.version, self.name, "stop", "-m", "immediate"], check=True
        )
        _wait_for_port(self.port, up=False)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres(_pg_version(), f"pytake_{secrets.token_hex(4)}", free_port())
    subprocess.run(
        ["pg_createcluster", pg.version, pg.name, "-p", str(pg.port), "--", "--auth=trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        pg.start()
        yield pg
    finally:
        subprocess.run(["pg_dropcluster", pg.version, pg.name, "--stop"], check=False)


@attrs.define
class PrivateRedis:
    port: int
    dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        _wait_for_port(self.port, up=False)

    def cli(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], check=True, capture_output=True, text=True
        ).stdout.strip()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(free_port(), tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()

"""Running `pytake serve` as a real process in tests (killed with SIGKILL, restarted)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import trio


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server_process(env: dict[str, str], port: int, log: Path, *, own_group: bool = False,
                   ) -> Iterator[subprocess.Popen[bytes]]:
    """``pytake serve`` on ``port``; with ``own_group``, in a process group of its own (as
    systemd or a container runs it), which a test may signal whole (`os.killpg`)."""
    command = [sys.executable, "-m", "pytake", "serve", "--host", "127.0.0.1",
               "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=own_group)
    try:
        yield process
    finally:
        # Stopped cleanly unless the test killed it: a server killed here would leave its
        # journal to the next test's server, which shares the run's database.
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(10)


async def until_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
        with trio.fail_after(60):
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await trio.sleep(0.1)


def server_env(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a `pytake serve` under test: this one without its ``PYTAKE_*``,
    the database and a media directory under ``tmp_path``, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTAKE_")}
    return env | {
        "PYTAKE_DATABASE_URL": database_url,
        "PYTAKE_WHATSAPP_MEDIA_DIR": str(tmp_path / "media"),
        **settings,
    }

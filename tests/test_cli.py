"""The ``pytake`` command, run as a real subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from ._support import clean_environ

PYTAKE = [sys.executable, "-m", "pytake"]


def pytake(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = clean_environ(tmp_path) | (env or {})
    return subprocess.run(
        [*PYTAKE, *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_explains_commands(tmp_path: Path) -> None:
    result = pytake(tmp_path, "--help")
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert "PYTAKE_" in result.stdout
    assert "docs/configuration.md" in result.stdout


def test_serve_help(tmp_path: Path) -> None:
    result = pytake(tmp_path, "serve", "--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--certfile", "--keyfile", "--config"):
        assert option in result.stdout


def test_missing_command_is_a_usage_error(tmp_path: Path) -> None:
    result = pytake(tmp_path)
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


def test_bad_environment_exits_2(tmp_path: Path) -> None:
    result = pytake(tmp_path, "serve", env={"PYTAKE_PORT": "abc"})
    assert result.returncode == 2
    assert result.stderr == "pytake: error: PYTAKE_PORT: expected an integer, got 'abc'\n"


def test_unknown_variable_exits_2(tmp_path: Path) -> None:
    result = pytake(tmp_path, "serve", env={"PYTAKE_PROT": "8000"})
    assert result.returncode == 2
    assert result.stderr == (
        "pytake: error: unknown setting PYTAKE_PROT (did you mean PYTAKE_PORT?)\n"
    )


def test_bad_option_exits_2(tmp_path: Path) -> None:
    result = pytake(tmp_path, "serve", "--port", "70000")
    assert result.returncode == 2
    assert result.stderr == "pytake: error: --port: port must be between 1 and 65535, got 70000\n"


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = pytake(tmp_path, "serve", "--config", "missing.toml")
    assert result.returncode == 2
    assert result.stderr == "pytake: error: config file not found: missing.toml\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = await stream.receive_some()
        if not chunk:
            raise AssertionError(f"output ended before {marker!r}: {seen!r}")
        seen += chunk
    return seen


async def test_serve_answers_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """...and logs its start without alembic's INFO chatter, but with the schema revision."""
    port = _free_port()
    process = await trio.lowlevel.open_process(
        [*PYTAKE, "serve", "--port", str(port)],
        env=clean_environ(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        # A start logs a few dozen lines: far below a pipe's buffer, so reading it only at
        # the end cannot block the server.
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        with trio.fail_after(30):
            out = await _read_until(process.stdout, b"\n")
        assert out.decode().startswith(f"pytake: listening on http://127.0.0.1:{port}")

        async with httpx.AsyncClient(trust_env=False) as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            ready = await client.get(f"http://127.0.0.1:{port}/readyz")
        assert health.status_code == 200
        assert ready.status_code == 200

        process.send_signal(signal.SIGTERM)
        with trio.fail_after(30):
            out += await _read_until(process.stdout, b"pytake: stopped\n")
            assert await process.wait() == 0
        assert process.stderr is not None
        log = b""
        while chunk := await process.stderr.receive_some():
            log += chunk
        assert b"pytake.engine: database at revision" in log
        assert b"alembic" not in log, log.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_serve_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = await trio.run_process(
            [*PYTAKE, "serve", "--port", str(port)],
            env=clean_environ(tmp_path),
            cwd=os.fspath(tmp_path),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.decode().endswith(
        f"pytake: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )

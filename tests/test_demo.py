"""``pytake demo`` against a real ``pytake serve --demo`` process: the demo sets the server up
(accounts, teams, flows), its customers write, and the demo agent is offered a conversation
on the agent socket within seconds; and the refusals that point a newcomer the right way."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from ._support import clean_environ
from .agent_support import agent_client
from .process_support import free_port, server_env, until_ready

PYTAKE = [sys.executable, "-m", "pytake"]
#: The teams the example flows hand off to, and the demo's own.
TEAMS = {"Demo", "atendimento", "financeiro", "suporte", "vendas"}


def pytake(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTAKE, *args], env=env or clean_environ(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)


def test_demo_help_lists_its_options(tmp_path: Path) -> None:
    result = pytake(tmp_path, "demo", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--server", "--port", "--customers", "--every", "--duration",
                   "--database-url", "--config", "make run", "agent@pytake.local"):
        assert option in result.stdout, option


def test_demo_without_a_server_says_to_start_one(tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{free_port()}"
    result = pytake(tmp_path, "demo", "--server", server)
    assert result.returncode == 1
    assert result.stderr.startswith(f"pytake: error: no PyTake answers at {server}: "), \
        result.stderr
    assert "`make run`" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "pytake.db").exists()  # nothing was touched


def test_serve_demo_refuses_a_configured_access_token(tmp_path: Path) -> None:
    env = clean_environ(tmp_path) | {"PYTAKE_WHATSAPP_ACCESS_TOKEN": "a-real-token"}
    result = pytake(tmp_path, "serve", "--demo", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("pytake: error: --demo replaces the WhatsApp settings"), \
        result.stderr
    assert "PYTAKE_WHATSAPP_ACCESS_TOKEN" in result.stderr and "without --demo" in result.stderr


async def test_demo_customers_reach_the_demo_agent(sqlite_url: str, tmp_path: Path) -> None:
    port, standin_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(sqlite_url, tmp_path)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*PYTAKE, "serve", "--demo", "--demo-port", str(standin_port), "--host",
             "127.0.0.1", "--port", str(port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        await until_ready(base)
        demo = await trio.lowlevel.open_process(
            [*PYTAKE, "demo", "--server", base, "--port", str(standin_port), "--customers", "2",
             "--every", "1", "--duration", "15", "--database-url", sqlite_url],
            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = bytearray()
        try:
            assert demo.stdout is not None
            stdout = demo.stdout

            async def read_output() -> None:
                while chunk := await stdout.receive_some():
                    output.extend(chunk)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_output)
                with trio.fail_after(30):
                    while not (found := re.search(
                            rb"sign in as agent@pytake\.local with the password (\w+)\n",
                            output)):
                        await trio.sleep(0.05)
                password = found[1].decode()
                async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
                    signed_in = await client.post("/api/v1/auth/login", json={
                        "email": "agent@pytake.local", "password": password})
                    assert signed_in.status_code == 200, signed_in.text
                    token = signed_in.json()["access_token"]
                    teams = await client.get("/api/v1/teams",
                                             headers={"Authorization": f"Bearer {token}"})
                    assert {team["name"] for team in teams.json()["teams"]} >= TEAMS
                # The customers arrive after the password is printed: a conversation of
                # theirs is offered to the agent once the flow hands it to a team.
                async with agent_client(base, token) as agent:
                    offered = await agent.event("conversation.offered", timeout=20)
                assert offered["data"]["customer"].startswith("55")
                with trio.fail_after(30):
                    assert await demo.wait() == 0, output.decode()
        finally:
            if demo.returncode is None:
                demo.kill()
                await demo.wait()
        text = output.decode()
        assert "demo: flow triage: imported from examples/flows and published" in text, text
        assert re.search(r" handed to (atendimento|suporte|vendas)\n", text), text
        assert re.search(r"demo: stopped after \d+ s: 2 customers wrote", text), text
        assert "demo mode: WhatsApp is the local stand-in on " \
               f"http://127.0.0.1:{standin_port}" in log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)

"""Customers' rights (LGPD): lookup, export, anonymisation and erasure (docs/privacy.md).

The erasure test is the issue's definition of done: after erasing a customer who wrote odd
Unicode, sent an image, gave a CPF to a flow and was talking to an agent, a ``pg_dump`` of
the database, every key and value under the test's Redis prefix and every file of the media
directory hold none of their phone number, ids, name, CPF or texts; the agent was told;
subscribers got ``customer.erased``; the customer writing again starts afresh.  Others: an
unknown customer is a 404, erasing twice answers the first erasure, anonymisation keeps the
conversations and their metrics, the export holds the texts and the file, a ``kill -9`` in
the middle of an erasure is resumed to the end by the next start, and the command line.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import coredis
import httpx
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.engine import make_url

from pytake.actors import Actor, ActorKind, InMemorySnapshotStore, open_router
from pytake.config import load_settings
from pytake.flowrun import publish
from pytake.identity import IdentityService
from pytake.privacy._redact import scrub, strip_body
from pytake.standins.apis import WebhookReceiver, run_app
from pytake.store import Database, UserRole, upgrade

from ._support import brief
from .agent_support import PASSWORD, Desk, running_desk
from .process_support import free_port, server_env, server_process, until_ready
from .storage_fixtures import RedisTarget
from .webhook_support import APP_SECRET, encode, envelope, text_message, wa_id
from .webhook_support import wamid as new_wamid

SECRET = "p" * 48
CPF = "529.982.247-25"
CPF_DIGITS = "52998224725"
NAME = "Zoë Ñandú-Quintanilha \U0001d518"
#: What the customer and the agent write: accents, emoji (a ZWJ sequence), a non-BMP letter,
#: right-to-left text and a combining mark.
TEXTS = (
    "Olá! Preciso de ajuda com a fatura nº 4471 👩‍👩‍👧 — urgente",
    "meu endereço: Rua São João, \U0001d51a 42, apto ١٢",
    "e̊ssa é a segunda via? ☂",
)
CAPTION = "foto do comprovante ✓ Quintanilha"
AGENT_REPLY = "Certo, Zoë: recebi o comprovante"
NOTE = "cliente Quintanilha pediu segunda via, CPF " + CPF
IMAGE = b"\xff\xd8\xff\xe0JFIF-comprovante-" + secrets.token_bytes(16) + b"\xff\xd9"


def _flow(team_id: int) -> dict[str, Any]:
    """Asks the CPF, then hands off to the team with it in the note."""
    return {
        "format": 1, "id": "cadastro", "name": "cadastro", "start": "ask",
        "nodes": [
            {"id": "ask", "type": "ask", "text": "Qual o seu CPF?", "variable": "cpf",
             "validator": {"type": "cpf"}, "max_retries": 2},
            {"id": "handoff", "type": "handoff", "team": str(team_id),
             "note": "CPF {{vars.cpf}}"},
            {"id": "fim", "type": "end"},
        ],
        "edges": [{"from": "ask", "on": "next", "to": "handoff"},
                  {"from": "ask", "on": "invalid", "to": "fim"}],
    }


def _forms(needle: str) -> set[str]:
    """How ``needle`` may be written in a store: as is, JSON-escaped (Meta escapes every
    non-ASCII character), and either as the hex a dump shows a bytea in."""
    escaped = json.dumps(needle, ensure_ascii=True)[1:-1]
    forms = {needle, escaped, escaped.replace("/", "\\/")}
    return forms | {f.encode().hex() for f in forms}


def _found(haystack: str, needles: Iterable[str]) -> list[str]:
    lowered = haystack.lower()
    return sorted(n for n in needles if any(f.lower() in lowered for f in _forms(n)))


async def _admin(desk: Desk) -> dict[str, str]:
    email = f"dpo-{secrets.token_hex(3)}@example.com"
    await desk.edge.engine.identity.create_user(email, "DPO", UserRole.ADMIN, PASSWORD)
    return {"Authorization": f"Bearer {await desk.token(email)}"}


async def _wait(condition: Any, timeout: float = 15.0) -> None:
    with trio.fail_after(timeout):
        while not await condition():
            await trio.sleep(0.05)


async def _customer_id(desk: Desk, wa: str) -> int:
    rows = await desk.edge.query("SELECT id FROM customers WHERE wa_id = :w", w=wa)
    assert len(rows) == 1, rows
    return int(rows[0][0])


def _pg_dump(url: str) -> str:
    binary = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))), None)
    command = str(binary) if binary else "pg_dump"
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run([command, "--no-owner", libpq], capture_output=True, check=True,
                          timeout=120)
    return done.stdout.decode("utf-8", "replace")


async def _redis_dump(target: RedisTarget, prefix: str) -> tuple[list[str], str]:
    async with coredis.Redis.from_url(target.url, decode_responses=False) as client:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=500)]
        parts = []
        for key in keys:
            kind = await client.type(key)
            value = await (client.get(key) if kind == b"string" else client.dump(key))
            parts.append(key.decode("utf-8", "replace") + "=" +
                         (value or b"").decode("utf-8", "replace") + " " + (value or b"").hex())
    return [k.decode() for k in keys], "\n".join(parts)


def _media_dump(media_dir: Path) -> tuple[list[str], str]:
    files = sorted(p for p in media_dir.rglob("*") if p.is_file()) if media_dir.exists() else []
    text = "\n".join(f"{p.name}\n{p.read_bytes().decode('utf-8', 'replace')}\n"
                     f"{p.read_bytes().hex()}" for p in files)
    return [p.name for p in files], text


async def _deliveries_logged(desk: Desk, receiver: WebhookReceiver) -> None:
    """Wait until every webhook event the receiver got is in ``webhook_deliveries`` (the
    log is written after each POST is answered)."""

    async def logged() -> bool:
        count = (await desk.edge.query("SELECT count(*) FROM webhook_deliveries"))[0][0]
        return bool(count >= len(receiver.deliveries))

    await _wait(logged)
    await trio.sleep(0.3)
    await _wait(logged)


# --- the definition of done ----------------------------------------------------------------


async def test_erasure_leaves_no_trace_in_postgresql_redis_or_the_media_directory(
    empty_pg_url: str, redis_target: RedisTarget, tmp_path: Path,
) -> None:
    await trio.to_thread.run_sync(upgrade, empty_pg_url)
    prefix = f"{redis_target.prefix}privacy-{secrets.token_hex(3)}:"
    media_dir = tmp_path / "media"
    async with run_app(WebhookReceiver()) as receiver, running_desk(
            empty_pg_url, tmp_path, agents=1, PYTAKE_SECRET_KEY=SECRET,
            PYTAKE_FLOWS_DEFAULT="cadastro", PYTAKE_REDIS_URL=redis_target.url,
            PYTAKE_REDIS_PREFIX=prefix) as desk:
        engine = desk.edge.engine
        await engine.db.run(publish, _flow(desk.team_id))
        webhook = engine.modules.registry.get("webhook")
        _, receiver.secret = await webhook.subscribe(receiver.base_url + "/hook",
                                                     ["conversation.*", "customer.*"])
        admin = await _admin(desk)
        api = desk.edge.client
        (email,) = desk.agents
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            customer = desk.customer(NAME)
            await desk.sim.send_text(customer, TEXTS[0])
            await desk.wait_sent_to(customer, text="Qual o seu CPF?")
            await desk.sim.send_text(customer, CPF)
            offered = await agent.event("conversation.offered")
            conversation_id = offered["data"]["conversation_id"]
            assert CPF_DIGITS in offered["data"]["note"]  # the flow's hand-off note
            await agent.command("accept", conversation_id=conversation_id)
            await agent.event("conversation.assigned", conversation_id=conversation_id)
            await desk.sim.send_image(customer, IMAGE, caption=CAPTION)
            await desk.sim.send_text(customer, TEXTS[1])
            await agent.event("message.new", text=TEXTS[1])
            await agent.command("send", conversation_id=conversation_id,
                                content={"type": "text", "text": AGENT_REPLY})
            await agent.command("note", conversation_id=conversation_id, text=NOTE)
            await desk.sim.send_text(customer, TEXTS[2])
            await agent.event("message.new", text=TEXTS[2])
            await desk.wait_sent_to(customer, text=AGENT_REPLY)
            await _wait(lambda: _has_files(media_dir))
            await desk.edge.settle()
            await engine.router.save_all()  # the snapshots, in the database and in Redis
            customer_id = await _customer_id(desk, customer.wa_id)
            keys, _ = await _redis_dump(redis_target, prefix)
            assert f"{prefix}snap:conversation:{_address(desk, customer_id)}" in keys
            # Before: the searches below find them everywhere (so finding nothing later
            # means something).
            needles = [customer.wa_id, customer.user_id, NAME, "Quintanilha", "Ñandú", CPF,
                       CPF_DIGITS, *TEXTS, AGENT_REPLY, NOTE, CAPTION]
            dump = await trio.to_thread.run_sync(_pg_dump, empty_pg_url)
            assert _found(dump, needles) == sorted(needles)
            _, redis_text = await _redis_dump(redis_target, prefix)
            assert {customer.wa_id, TEXTS[2]} <= set(_found(redis_text, needles))
            assert IMAGE.hex() in _media_dump(media_dir)[1]

            # Looked up by a piece of the number and by the name.
            found = await api.get("/api/v1/customers", params={"q": customer.wa_id[-6:]},
                                  headers=admin)
            assert found.status_code == 200, found.text
            assert [c["id"] for c in found.json()["customers"]] == [customer_id]
            by_name = await api.get("/api/v1/customers", params={"q": "ñandú"}, headers=admin)
            assert customer_id in [c["id"] for c in by_name.json()["customers"]]

            # The export holds the texts and the file.
            export = await api.get(f"/api/v1/customers/{customer_id}/export", headers=admin)
            assert export.status_code == 200, export.text
            assert export.headers["content-type"] == "application/zip"
            with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
                names = archive.namelist()
                record = archive.read("customer.json").decode()
                media = [n for n in names if n.startswith("media/")]
                assert len(media) == 1 and archive.read(media[0]) == IMAGE
            assert _found(record, [*TEXTS, NAME, CPF, AGENT_REPLY, NOTE, CAPTION]) == sorted(
                [*TEXTS, NAME, CPF, AGENT_REPLY, NOTE, CAPTION])
            assert json.loads(record)["customer"]["wa_id"] == customer.wa_id

            async def archive_gone() -> bool:  # it held their data: deleted once sent
                return not list(Path(tempfile.gettempdir()).glob("pytake-export-*"))

            await _wait(archive_gone, 5)

            await _deliveries_logged(desk, receiver)
            erased = await api.post(f"/api/v1/customers/{customer_id}/erase", headers=admin)
            assert erased.status_code == 200, erased.text
            answer = erased.json()
            request = answer["request"]
            assert answer["already_erased"] is False and request["state"] == "done"
            report = request["report"]
            assert report["steps"] == ["found", "live", "media", "redis", "postgresql"]
            assert report["live"] == {"was": "assigned", "agents_told": 1}
            assert report["media"] == {"files": 1} and report["redis"] == {"actor_snapshots": 1}
            tables = report["postgresql"]
            assert tables["customers"] == 1 and tables["conversations"] == 1
            assert tables["messages"] >= 6 and tables["flow_executions"] >= 2
            assert tables["inbox"]["deleted"] >= 5
            # The agent's newest event stays (its numbering goes on from there): the notice.
            assert tables["agent_events"]["deleted"] >= 4
            assert tables["agent_events"]["rewritten"] <= 1
            assert tables["webhook_deliveries"] >= 3 and tables["actor_snapshots"] == 1
            # The agent was told, with the reason.
            told = await agent.event("conversation.resolved", conversation_id=conversation_id)
            assert told["data"]["reason"] == "erased"

        # Subscribers hear of it, by id only.
        async def heard() -> bool:
            return any(d.event["type"] == "customer.erased" for d in receiver.deliveries)

        await _wait(heard)
        event = next(d.event for d in receiver.deliveries if d.event["type"] == "customer.erased")
        assert event["data"] == {"customer_id": customer_id, "request_id": request["id"]}

        # Nothing of them is left anywhere.
        _, redis_text = await _redis_dump(redis_target, prefix)
        media_names, media_text = _media_dump(media_dir)
        dump = await trio.to_thread.run_sync(_pg_dump, empty_pg_url)
        assert "COPY public.messages" in dump  # a real dump
        assert _found(dump, needles) == []
        assert _found(redis_text, needles) == []
        assert media_names == [] and _found(media_text, needles) == []
        assert IMAGE.hex() not in media_text
        # The proof report holds no personal data either.
        assert _found(json.dumps(report, ensure_ascii=False), needles) == []

        # Erasing again answers the first erasure; an unknown customer is a 404.
        again = await api.post(f"/api/v1/customers/{customer_id}/erase", headers=admin)
        assert again.status_code == 200
        assert again.json()["already_erased"] is True
        assert again.json()["request"]["id"] == request["id"]
        unknown = await api.post("/api/v1/customers/987654321/erase", headers=admin)
        assert unknown.status_code == 404
        assert brief(unknown) == {"error": "customer 987654321 not found",
                                  "code": "customer_not_found"}
        listed = await api.get("/api/v1/data-requests", params={"customer": customer_id},
                               headers=admin)
        assert [(r["kind"], r["state"]) for r in listed.json()["data_requests"]] == [
            ("erase", "done"), ("export", "done")]
        proof = await api.get(f"/api/v1/data-requests/{request['id']}", headers=admin)
        assert proof.json()["report"] == report

        # The customer writes again: a new customer, a new conversation, the flow anew.
        await desk.sim.send_text(customer, "voltei")
        await desk.wait_sent_to(customer, n=2, text="Qual o seu CPF?")
        again_id = await _customer_id(desk, customer.wa_id)
        assert again_id != customer_id
        rows = await desk.edge.query(
            "SELECT status, owner_state FROM conversations WHERE customer_id = :c", c=again_id)
        assert [tuple(r) for r in rows] == [("open", "flow")]


def _address(desk: Desk, customer_id: int) -> str:
    from .webhook_support import PHONE_NUMBER_ID

    return f"{PHONE_NUMBER_ID}:{customer_id}"


async def _has_files(media_dir: Path) -> bool:
    return media_dir.exists() and any(p.is_file() and not p.name.startswith(".")
                                      for p in media_dir.iterdir())


# --- anonymisation -------------------------------------------------------------------------


async def test_anonymisation_keeps_conversations_and_metrics_without_personal_fields(
    pg_url: str, tmp_path: Path,
) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_SECRET_KEY=SECRET) as desk:
        admin = await _admin(desk)
        api = desk.edge.client
        (email,) = desk.agents
        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            customer = desk.customer(NAME)
            await desk.sim.send_text(customer, TEXTS[0])
            offered = await agent.event("conversation.offered")
            conversation_id = offered["data"]["conversation_id"]
            await agent.command("accept", conversation_id=conversation_id)
            await agent.event("conversation.assigned", conversation_id=conversation_id)
            await agent.command("send", conversation_id=conversation_id,
                                content={"type": "text", "text": AGENT_REPLY})
            await agent.command("note", conversation_id=conversation_id, text=NOTE)
            await desk.sim.send_text(customer, TEXTS[1])
            await agent.event("message.new", text=TEXTS[1])
            await desk.edge.settle()
            customer_id = await _customer_id(desk, customer.wa_id)
            before = await _counts(desk, conversation_id)

            done = await api.post(f"/api/v1/customers/{customer_id}/anonymise", headers=admin)
            assert done.status_code == 200, done.text
            request = done.json()["request"]
            assert request["state"] == "done" and request["kind"] == "anonymise"
            assert request["report"]["live"] == {"was": "assigned", "agents_told": 1}
            told = await agent.event("conversation.resolved", conversation_id=conversation_id)
            assert told["data"]["reason"] == "anonymised"

        # The rows stay (one more event: the resolution), the personal fields do not.
        after = await _counts(desk, conversation_id)
        assert after["messages"] == before["messages"]
        assert after["events"] == before["events"] + 1
        (row,) = await desk.edge.query(
            "SELECT wa_id, bsuid, phone, name, anonymized_at FROM customers WHERE id = :c",
            c=customer_id)
        assert tuple(row[:4]) == (None, None, None, None) and row[4] is not None
        status = await desk.edge.query(
            "SELECT status FROM conversations WHERE id = :c", c=conversation_id)
        assert status[0][0] == "resolved"
        metrics = await api.get(f"/api/v1/conversations/{conversation_id}/metrics",
                                headers=admin)
        assert metrics.status_code == 200
        assert metrics.json()["resolved_at"] is not None
        assert metrics.json()["agents"] == [str(desk.agents[email])]
        kept = await desk.edge.query(
            "SELECT m.payload FROM messages m WHERE m.conversation_id = :c "
            "UNION ALL SELECT e.payload FROM conversation_events e WHERE e.conversation_id = :c "
            "UNION ALL SELECT f.variables FROM flow_executions f WHERE f.conversation_id = :c",
            c=conversation_id)
        text = json.dumps([r[0] for r in kept], ensure_ascii=False)
        needles = [customer.wa_id, customer.user_id, NAME, *TEXTS[:2], AGENT_REPLY, NOTE]
        assert _found(text, needles) == []
        # Again: nothing more to do, still done.
        again = await api.post(f"/api/v1/customers/{customer_id}/anonymise", headers=admin)
        assert again.status_code == 200 and again.json()["request"]["state"] == "done"
        # Written again, they are a new customer.
        await desk.sim.send_text(customer, "oi de novo")
        await desk.edge.settle()
        assert await _customer_id(desk, customer.wa_id) != customer_id


async def _counts(desk: Desk, conversation_id: int) -> dict[str, int]:
    messages = await desk.edge.query(
        "SELECT count(*) FROM messages WHERE conversation_id = :c", c=conversation_id)
    events = await desk.edge.query(
        "SELECT count(*) FROM conversation_events WHERE conversation_id = :c",
        c=conversation_id)
    return {"messages": messages[0][0], "events": events[0][0]}


# --- a crash in the middle -----------------------------------------------------------------


async def test_an_erasure_killed_half_way_is_resumed_to_the_end_by_the_next_start(
    pg_url: str, tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    settings = {"PYTAKE_SECRET_KEY": SECRET, "PYTAKE_WHATSAPP_APP_SECRET": APP_SECRET}
    email = await _seed_admin(pg_url)
    customer = wa_id()
    slow = server_env(pg_url, tmp_path, **settings, PYTAKE_TEST_PRIVACY_STEP_DELAY="3")
    with server_process(slow, port, log) as first:
        await until_ready(base)
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60) as client:
            body = encode(envelope([text_message(customer, TEXTS[0], id=new_wamid())]))
            from pytake.whatsapp import sign

            posted = await client.post("/webhooks/whatsapp", content=body, headers={
                "content-type": "application/json",
                "x-hub-signature-256": sign(body, APP_SECRET)})
            assert posted.status_code == 200
            customer_id = await _wait_customer(pg_url, customer)
            token = (await client.post("/api/v1/auth/login", json={
                "email": email, "password": PASSWORD})).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            async def erase() -> None:
                with contextlib.suppress(httpx.TransportError):  # killed under it
                    await client.post(f"/api/v1/customers/{customer_id}/erase",
                                      headers=headers)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(erase)
                running = await _running_after(client, headers, customer_id, "media")
                first.send_signal(signal.SIGKILL)
                first.wait(10)
    assert running["state"] == "running" and running["attempts"] == 1
    # Half done: the live conversation ended, the rows still there.
    assert await _pg_rows(pg_url, "SELECT count(*) FROM customers WHERE id = :c",
                          c=customer_id) == 1

    with server_process(server_env(pg_url, tmp_path, **settings), port, log):
        await until_ready(base)
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as client:
            token = (await client.post("/api/v1/auth/login", json={
                "email": email, "password": PASSWORD})).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with trio.fail_after(30):
                while True:
                    answer = await client.get(f"/api/v1/data-requests/{running['id']}",
                                              headers=headers)
                    if answer.json()["state"] != "running":
                        break
                    await trio.sleep(0.1)
    resumed = answer.json()
    assert resumed["state"] == "done" and resumed["attempts"] == 2, resumed
    assert resumed["report"]["steps"][-1] == "postgresql"
    for table, column in (("customers", "id"), ("conversations", "customer_id")):
        assert await _pg_rows(pg_url, f"SELECT count(*) FROM {table} WHERE {column} = :c",
                              c=customer_id) == 0
    assert await _pg_rows(pg_url, "SELECT count(*) FROM actor_journal WHERE actor_id LIKE :a",
                          a=f"%:{customer_id}") == 0
    assert "resuming data request" in log.read_text()


async def _seed_admin(url: str) -> str:
    settings = load_settings(environ={"PYTAKE_DATABASE_URL": url, "PYTAKE_SECRET_KEY": SECRET})
    db = Database(url)
    try:
        email = f"dpo-{secrets.token_hex(3)}@example.com"
        await IdentityService.from_settings(db, settings).create_user(
            email, "DPO", UserRole.ADMIN, PASSWORD)
        return email
    finally:
        await db.aclose()


async def _pg_rows(url: str, sql: str, **params: Any) -> int:
    db = Database(url)
    try:
        return int(await db.run(lambda s: s.execute(sa.text(sql), params).scalar(),
                                readonly=True))
    finally:
        await db.aclose()


async def _wait_customer(url: str, wa: str) -> int:
    with trio.fail_after(15):
        while True:
            rows = await _pg_rows(url, "SELECT coalesce(max(id), 0) FROM customers "
                                       "WHERE wa_id = :w", w=wa)
            if rows:
                return rows
            await trio.sleep(0.05)


async def _running_after(client: httpx.AsyncClient, headers: dict[str, str], customer_id: int,
                         step: str) -> dict[str, Any]:
    """The customer's erasure, once it has done ``step`` (and is paused after it)."""
    with trio.fail_after(30):
        while True:
            listed = await client.get("/api/v1/data-requests",
                                      params={"customer": customer_id}, headers=headers)
            for request in listed.json()["data_requests"]:
                if request["kind"] == "erase" and step in request["report"].get("steps", []):
                    return dict(request)
            await trio.sleep(0.05)


# --- the command line ----------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytake", "customers", *args], env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


async def test_the_command_line_finds_exports_erases_and_lists(
    sqlite_url: str, tmp_path: Path,
) -> None:
    from pytake.engine import Engine
    from pytake.web import create_app

    from ._support import clean_environ, serving

    env = clean_environ(tmp_path) | {"PYTAKE_DATABASE_URL": sqlite_url,
                                     "PYTAKE_WHATSAPP_MEDIA_DIR": str(tmp_path / "media"),
                                     "PYTAKE_WHATSAPP_APP_SECRET": APP_SECRET}
    customer = wa_id()
    settings = load_settings(environ={k: v for k, v in env.items() if k.startswith("PYTAKE_")})
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        async with serving(create_app(engine)) as client:
            from pytake.whatsapp import sign

            body = encode(envelope([text_message(customer, TEXTS[0])]))
            await client.post("/webhooks/whatsapp", content=body, headers={
                "content-type": "application/json",
                "x-hub-signature-256": sign(body, APP_SECRET)})
            with trio.fail_after(15):
                while not engine.router.is_live("conversation", _live_address(customer,
                                                                               engine)):
                    await trio.sleep(0.05)
            found = await trio.to_thread.run_sync(
                lambda: _cli("find", customer[-5:], env=env))
            assert found.returncode == 0, found.stderr
            customer_id = int(found.stdout.splitlines()[1].split()[0])

            output = tmp_path / "out.zip"
            export = await trio.to_thread.run_sync(
                lambda: _cli("export", str(customer_id), "--output", str(output), env=env))
            assert export.returncode == 0, export.stderr
            with zipfile.ZipFile(output) as archive:
                assert TEXTS[0] in archive.read("customer.json").decode()

            refused = await trio.to_thread.run_sync(
                lambda: _cli("erase", str(customer_id), env=env, stdin="1\n"))
            assert refused.returncode == 1 and "confirmation" in refused.stderr
            erased = await trio.to_thread.run_sync(
                lambda: _cli("erase", str(customer_id), "--yes", env=env))
            assert erased.returncode == 0, erased.stderr
            assert "done" in erased.stderr and "customers 1" in erased.stderr
            assert "inbox 1" in erased.stderr  # the raw webhook body, on SQLite too
            # The server ends its own live conversation of the customer within seconds,
            # and its snapshot does not come back.
            address = f"{_pnid()}:{customer_id}"
            with trio.fail_after(15):
                while engine.router.is_live("conversation", address):
                    await trio.sleep(0.1)
            await engine.router.save_all()
            snapshots = await engine.db.run(lambda s: s.execute(sa.text(
                "SELECT count(*) FROM actor_snapshots WHERE actor_id = :a"),
                {"a": address}).scalar())
            assert snapshots == 0
            again = await trio.to_thread.run_sync(
                lambda: _cli("erase", str(customer_id), "--yes", env=env))
            assert again.returncode == 0 and "erased before" in again.stderr
            missing = await trio.to_thread.run_sync(
                lambda: _cli("erase", "987654321", "--yes", env=env))
            assert missing.returncode == 1
            assert "customer 987654321 not found" in missing.stderr
            listed = await trio.to_thread.run_sync(
                lambda: _cli("requests", "--json", "--customer", str(customer_id), env=env))
            kinds = [json.loads(line)["kind"] for line in listed.stdout.splitlines()]
            assert kinds == ["erase", "export"]
            resumed = await trio.to_thread.run_sync(lambda: _cli("resume", env=env))
            assert resumed.returncode == 0 and "none was left running" in resumed.stderr
        await engine.aclose()
        nursery.cancel_scope.cancel()


def _pnid() -> str:
    from .webhook_support import PHONE_NUMBER_ID

    return PHONE_NUMBER_ID


def _live_address(wa: str, engine: Any) -> str:
    rows = engine.db.run_sync(lambda s: s.execute(
        sa.text("SELECT id FROM customers WHERE wa_id = :w"), {"w": wa}).scalars().all())
    return f"{_pnid()}:{rows[0]}" if rows else "-"


async def test_resuming_finishes_erasures_and_fails_exports_left_running(
    sqlite_url: str, tmp_path: Path,
) -> None:
    from pytake.privacy import CustomerNotFound, PrivacyService
    from pytake.store import Customer, DataRequest

    def seed(session: Any) -> int:
        customer = Customer(business_phone_number_id="1", wa_id=wa_id(), name=NAME)
        session.add(customer)
        session.flush()
        session.add_all([DataRequest(kind="erase", customer_id=customer.id),
                         DataRequest(kind="export", customer_id=customer.id)])
        return int(customer.id)

    async with Database(sqlite_url) as db:
        customer_id = await db.run(seed)
        service = PrivacyService(db, tmp_path / "media", via="cli")
        erased, exported = await service.resume()
        assert (erased.kind, erased.state, erased.attempts) == ("erase", "done", 2)
        assert erased.report["postgresql"]["customers"] == 1
        assert (exported.kind, exported.state) == ("export", "failed")
        assert "export again" in (exported.error or "")
        assert await service.resume() == []  # nothing is left running
        with pytest.raises(CustomerNotFound, match=f"customer {customer_id} not found"):
            await service.anonymise(customer_id)


# --- the pieces ----------------------------------------------------------------------------


def test_a_webhook_body_keeps_everyone_but_the_erased_customer() -> None:
    ana, bia = "5511911110000", "5511922220000"
    body = encode(envelope([text_message(ana, "sou a Ana"), text_message(bia, f"ligue {ana}")]))
    kept = strip_body(body, {ana})
    assert kept is not None
    document = json.loads(kept)
    value = document["entry"][0]["changes"][0]["value"]
    assert [m["from"] for m in value["messages"]] == [bia]
    assert [c["wa_id"] for c in value["contacts"]] == [bia]
    assert ana not in kept.decode() and "sou a Ana" not in kept.decode()
    assert "[erased]" in value["messages"][0]["text"]["body"]
    assert strip_body(encode(envelope([text_message(ana, "só eu")])), {ana}) is None
    untouched = encode(envelope([text_message(bia, "oi")]))
    assert strip_body(untouched, {ana}) == untouched
    assert strip_body(b"not json " + ana.encode(), {ana}) is None
    assert scrub({"text": "x", "by": "7", "event": {"note": "y", "team": "2"}}) == {
        "by": "7", "event": {"team": "2"}}


class _Counter(Actor[dict[str, int]]):
    kind = "counter"
    state_type = dict

    async def receive(self, message: Any) -> Any:
        self.state["n"] = self.state.get("n", 0) + 1
        return self.state["n"]


async def test_a_discarded_actor_leaves_no_snapshot_and_starts_afresh() -> None:
    store = InMemorySnapshotStore()
    async with open_router([ActorKind(_Counter)], store) as router:
        assert await router.ask("counter", "a", "hit") == 1
        assert await router.ask("counter", "a", "hit") == 2
        assert router.is_live("counter", "a")
        assert await router.discard("counter", "a") is True
        assert not router.is_live("counter", "a")
        assert await router.discard("counter", "a") is False
        await router.save_all()
        assert await store.load("counter", "a") is None
        assert await router.ask("counter", "a", "hit") == 1  # nothing was kept

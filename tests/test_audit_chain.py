"""The audit log is complete and tamper-evident: changes over REST (with role, client address,
browser and request id), reads of personal data, agent socket commands and the command line
each leave a row; the rows form a hash chain that `pytake audit verify` checks, and that
finds a row edited, deleted from the middle or from the end directly in the database; on
PostgreSQL the table itself refuses UPDATE and DELETE; ``GET /api/v1/audit`` filters, pages
and exports them. Real HTTP, PostgreSQL and SQLite (a database of each test's own)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.cli import main
from pytake.store import Actor, AuditLog, create_engine, record_audit, verify_audit_chain

from .test_users_api import Site, fresh_url, site  # noqa: F401  (fixtures)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "flows"


async def _rows(on: Site, **where: Any) -> list[AuditLog]:
    def query(session: Session) -> list[AuditLog]:
        q = sa.select(AuditLog).order_by(AuditLog.chain_seq)
        for name, value in where.items():
            q = q.where(getattr(AuditLog, name) == value)
        found = list(session.scalars(q))
        session.expunge_all()
        return found

    return await on.engine.db.run(query, readonly=True)


def _verify(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["audit", "verify", "--database-url", url])
    return status, capsys.readouterr().out


def _tamper(url: str, *statements: str) -> None:
    """Run ``statements`` as someone with the database's keys would, past its trigger."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


async def test_changes_reads_and_commands_are_recorded_with_who_and_where(site: Site) -> None:  # noqa: F811
    headers = {**site.admin, "User-Agent": "Navegador-Teste/1.0 (pt-BR)", "X-Request-Id": "req-42"}
    created = await site.client.post("/api/v1/teams", headers=headers,
                                     json={"name": "Cobrança ✨"})
    assert created.status_code == 201, created.text
    assert created.headers["X-Request-Id"] == "req-42"
    team_id = created.json()["id"]
    (row,) = await _rows(site, target_type="team", target_id=str(team_id))
    assert (row.actor_user_id, row.role, row.user_agent, row.request_id) == (
        site.admin_id, "admin", "Navegador-Teste/1.0 (pt-BR)", "req-42")
    assert row.ip == "127.0.0.1"

    # A read of personal data: the listing of conversations.
    listed = await site.client.get("/api/v1/conversations", headers=site.admin)
    assert listed.status_code == 200
    assert listed.headers["X-Request-Id"]  # made up when the client sends none
    reads = await _rows(site, action="conversations.list")
    assert len(reads) == 1 and reads[0].request_id == listed.headers["X-Request-Id"]

    # A failed change leaves no row; a refused read neither.
    before = len(await _rows(site))
    bad = await site.client.post("/api/v1/teams", headers=site.admin, json={"name": ""})
    assert bad.status_code >= 400
    assert len(await _rows(site)) == before


async def test_the_audit_api_filters_pages_and_exports(site: Site) -> None:  # noqa: F811
    for i in range(5):
        response = await site.client.post("/api/v1/teams", headers=site.admin,
                                          json={"name": f"equipe {i} — ç"})
        assert response.status_code == 201
    page = await site.client.get("/api/v1/audit", headers=site.admin,
                                 params={"action": "team*", "limit": 2})
    assert page.status_code == 200, page.text
    first = page.json()
    assert [e["action"] for e in first["entries"]] == ["team.create"] * 2
    seqs = [e["seq"] for e in first["entries"]]
    assert seqs == sorted(seqs, reverse=True)
    rest = await site.client.get("/api/v1/audit", headers=site.admin, params={
        "action": "team*", "limit": 10, "cursor": first["next_cursor"]})
    assert len(rest.json()["entries"]) == 3 and rest.json()["next_cursor"] is None
    assert max(e["seq"] for e in rest.json()["entries"]) < min(seqs)

    jsonl = await site.client.get("/api/v1/audit", headers=site.admin,
                                  params={"action": "team.create", "format": "jsonl"})
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(lines) == 5 and "attachment" in jsonl.headers["content-disposition"]
    exported = await site.client.get("/api/v1/audit", headers=site.admin,
                                     params={"user": site.admin_id, "format": "csv"})
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len([r for r in table if r["action"] == "team.create"]) == 5
    assert all(r["user_id"] == str(site.admin_id) for r in table)

    bad = await site.client.get("/api/v1/audit", headers=site.admin,
                                params={"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["detail"]
    _, _, supervisor, _ = await site.user("supervisor")
    assert (await site.client.get("/api/v1/audit", headers=supervisor)).status_code == 403
    assert (await site.client.get("/api/v1/audit")).status_code == 401


async def test_the_chain_verifies_and_finds_tampering(
        site: Site, fresh_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    for i in range(4):
        await site.client.post("/api/v1/teams", headers=site.admin, json={"name": f"t{i}"})
    # From the command line too: the row says so.
    imported = await trio.to_thread.run_sync(main, [
        "flows", "import", "--database-url", fresh_url, str(EXAMPLES / "boleto.json")])
    assert imported == 0
    (cli,) = [r for r in await _rows(site) if r.role == "cli"]
    assert cli.action.startswith(("cli.flows.import", "flow.")), cli.action
    status, out = await trio.to_thread.run_sync(_verify, fresh_url, capsys)
    assert status == 0 and "intact" in out, out
    rows = await _rows(site)
    middle, last = rows[len(rows) // 2], rows[-1]

    engine = create_engine(fresh_url)
    if engine.dialect.name == "postgresql":
        for statement in (f"UPDATE audit_logs SET action = 'x' WHERE id = {middle.id}",
                          f"DELETE FROM audit_logs WHERE id = {middle.id}"):
            with pytest.raises(sa.exc.DBAPIError, match="cannot be changed or deleted"), \
                    engine.begin() as conn:
                conn.execute(sa.text(statement))
    engine.dispose()

    _tamper(fresh_url, f"UPDATE audit_logs SET target_id = 'forged' WHERE id = {middle.id}")
    status, out = await trio.to_thread.run_sync(_verify, fresh_url, capsys)
    assert status == 1 and f"row {middle.chain_seq} " in out and "changed" in out, out

    _tamper(fresh_url, f"UPDATE audit_logs SET target_id = {_quoted(middle.target_id)} "
                       f"WHERE id = {middle.id}")
    assert (await trio.to_thread.run_sync(_verify, fresh_url, capsys))[0] == 0

    _tamper(fresh_url, f"DELETE FROM audit_logs WHERE id = {last.id}")
    status, out = await trio.to_thread.run_sync(_verify, fresh_url, capsys)
    assert status == 1 and "newest rows were deleted" in out, out

    _tamper(fresh_url, f"DELETE FROM audit_logs WHERE id = {middle.id}")
    status, out = await trio.to_thread.run_sync(_verify, fresh_url, capsys)
    assert status == 1 and "missing" in out, out


def _quoted(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


async def test_concurrent_writers_never_fork_the_chain(site: Site) -> None:  # noqa: F811
    async def write(i: int) -> None:
        def add(session: Session) -> None:
            record_audit(session, "test.concurrent", Actor(role="cli"), target_type="n",
                         target_id=i)

        await site.engine.db.run(add)

    async with trio.open_nursery() as nursery:
        for i in range(40):
            nursery.start_soon(write, i)
    report = await site.engine.db.run(verify_audit_chain, readonly=True)
    assert report.intact, report.problems
    assert len(await _rows(site, action="test.concurrent")) == 40

"""Every route the app registers, for every kind of caller, against the permission table.

The routes come from the app's URL map, so a route added without a declared permission (or
an explicit `public`) fails here, as does any route that lets the wrong caller in or answers
anyone with a server error."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from pytake.cli import CLI_PERMISSIONS, actions
from pytake.config import load_settings
from pytake.engine import Engine
from pytake.identity import IdentityService
from pytake.store import User, UserRole
from pytake.web import create_app
from pytake.web._ops import REDACTED
from pytake.web._permissions import DECLARED, ROLE_PERMISSIONS, Open, Permission

from ._support import serving

PASSWORD = "correct horse battery staple"
SECRET = "m" * 48
CALLERS = ("no token", "expired", "tampered", "wrong secret", "deactivated",
           "agent", "supervisor", "admin")
ROLES = {"agent": UserRole.AGENT, "supervisor": UserRole.SUPERVISOR, "admin": UserRole.ADMIN}


@attrs.define
class Matrix:
    app: Any
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    engine: Engine



async def _sign_in(identity: IdentityService, email: str) -> str:
    return (await identity.authenticate(email, PASSWORD)).access_token


@pytest.fixture
async def matrix(db_url: str) -> AsyncIterator[Matrix]:
    settings = load_settings(environ={"PYTAKE_DATABASE_URL": db_url,
                                      "PYTAKE_SECRET_KEY": SECRET})
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        identity = engine.identity
        suffix = str(time.time_ns())
        emails = {}
        for name, role in [*ROLES.items(), ("deactivated", UserRole.ADMIN)]:
            emails[name] = f"{name}-{suffix}@example.com"
            await identity.create_user(emails[name], name.title(), role, PASSWORD)
        tokens = {name: await _sign_in(identity, emails[name]) for name in emails}
        # Signed earlier than its lifetime: expired.
        past = IdentityService(engine.db, SECRET, access_ttl=60,
                               clock=lambda: time.time() - 3600)
        tokens["expired"] = await _sign_in(past, emails["admin"])
        other = IdentityService(engine.db, "o" * 48)
        tokens["wrong secret"] = await _sign_in(other, emails["admin"])
        head, payload, signature = tokens["admin"].split(".")
        # A different role in the payload, the signature kept: the signature no longer fits.
        tokens["tampered"] = ".".join([head, payload[:-2] + ("A" if payload[-2] != "A" else "B")
                                       + payload[-1], signature])
        await engine.db.run(lambda s: s.execute(
            sa.update(User).where(User.email == emails["deactivated"]).values(active=False)))
        headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        headers["no token"] = {}
        app = create_app(engine)
        async with serving(app) as client:
            yield Matrix(app, client, headers, engine)
        await engine.aclose()
        nursery.cancel_scope.cancel()


def _path(rule: Any) -> str:
    def value(match: re.Match[str]) -> str:
        converter = match.group(1) or "string"
        # An id nothing has: the answer is about who may ask, not about a shared row.
        return "999999999" if converter == "int" else "x"

    return re.sub(r"<(?:(\w+):)?\w+>", value, rule.rule)


def _routes(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.websocket:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, _path(rule), app.view_functions[rule.endpoint]))
    return found


def _expected(declared: Permission | Open, caller: str) -> str:
    if isinstance(declared, Open):
        return "in"
    if caller not in ROLES:
        return "401"
    return "in" if declared in ROLE_PERMISSIONS[ROLES[caller]] else "403"


async def test_every_route_declares_a_permission_and_keeps_to_the_table(
    matrix: Matrix,
) -> None:
    routes = _routes(matrix.app)
    undeclared = [f"{m} {p}" for m, p, view in routes if getattr(view, DECLARED, None) is None]
    assert undeclared == []
    wrong = []
    checked = 0
    for method, path, view in routes:
        declared = getattr(view, DECLARED)
        for caller in CALLERS:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = await matrix.client.request(method, path, headers=matrix.headers[caller],
                                                   json=body)
            checked += 1
            expected = _expected(declared, caller)
            status = response.status_code
            if status >= 500:
                wrong.append(f"{caller}: {method} {path} -> {status}")
            elif expected == "in" and status in (401, 403) and (
                    response.json().get("code") in ("forbidden", "missing_token",
                                                    "invalid_token", "account_inactive")):
                wrong.append(f"{caller}: {method} {path} -> {status}, expected to get in")
            elif expected != "in" and str(status) != expected:
                wrong.append(f"{caller}: {method} {path} -> {status}, expected {expected}")
            if status in (401, 403):
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []
    assert checked >= 40 * len(CALLERS)


BEGIN, END = "<!-- route matrix: begin -->", "<!-- route matrix: end -->"
DOC = Path(__file__).parent.parent / "docs" / "auth.md"


def render_matrix(app: Any) -> str:
    """The permission table as docs/auth.md prints it: each role's permissions, then each
    route (and agent socket command) with its permission and who may call it."""
    roles = (UserRole.AGENT, UserRole.SUPERVISOR, UserRole.ADMIN)
    lines = ["| permission | agent | supervisor | admin |", "| --- | --- | --- | --- |"]
    for permission in Permission:
        marks = ["yes" if permission in ROLE_PERMISSIONS[r] else "-" for r in roles]
        lines.append(f"| `{permission}` | {' | '.join(marks)} |")
    lines += ["", "| route | permission | agent | supervisor | admin |",
              "| --- | --- | --- | --- | --- |"]
    rows = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        declared = getattr(app.view_functions[rule.endpoint], DECLARED)
        methods = ["WS"] if rule.websocket else sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            if isinstance(declared, Open):
                marks = ["anyone"] * 3
            else:
                marks = ["yes" if declared in ROLE_PERMISSIONS[r] else "-" for r in roles]
            rows.add(f"| `{method} {rule.rule}` | `{declared}` | {' | '.join(marks)} |")
    lines += sorted(rows)
    lines += ["", "| command line | permission it amounts to |", "| --- | --- |"]
    lines += [f"| `pytake {action}` | `{permission}` |"
              for action, permission in CLI_PERMISSIONS.items()]
    return "\n".join(lines)


def test_every_command_line_action_names_a_permission() -> None:
    assert sorted(actions()) == sorted(CLI_PERMISSIONS)


async def test_docs_print_the_matrix_the_code_enforces(matrix: Matrix) -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"docs/auth.md lacks the markers {BEGIN} {END}"
    printed = text.split(BEGIN)[1].split(END)[0].strip()
    assert printed == render_matrix(matrix.app), (
        "docs/auth.md's matrix differs from the code's table; print it again with "
        "`python -m tests.test_route_matrix`"
    )


async def test_the_agent_socket_refuses_callers_without_a_valid_active_account(
    matrix: Matrix,
) -> None:
    base = str(matrix.client.base_url).replace("http://", "ws://")
    assert getattr(matrix.app.view_functions["agent_ws.agent_socket"], DECLARED) \
        is Permission.DESK_CONNECT
    for caller in ("no token", "expired", "tampered", "wrong secret", "deactivated"):
        token = matrix.headers[caller].get("Authorization", "Bearer ").removeprefix("Bearer ")
        with pytest.raises(ConnectionClosed) as closed:
            async with open_websocket_url(f"{base}/ws/agent?token={token}") as ws:
                await ws.get_message()
        assert closed.value.reason.code == 4401, caller


async def test_dead_letter_payloads_are_for_admins_only(matrix: Matrix) -> None:
    body = b"not json " + str(time.time_ns()).encode()
    await matrix.engine.db.run(lambda s: s.execute(sa.text(
        "INSERT INTO dead_letters (kind, actor_id, message_type, message, error, traceback, "
        "attempts, at) VALUES ('whatsapp-inbox', '1', 'webhook body', :m, 'bad', '', 1, "
        "CURRENT_TIMESTAMP)"), {"m": body.decode()}))
    seen = {}
    for caller in ("supervisor", "admin"):
        response = await matrix.client.get("/api/v1/ops/dead-letters",
                                           headers=matrix.headers[caller])
        assert response.status_code == 200
        seen[caller] = [d["message"] for d in response.json()["dead_letters"]]
    assert body.decode() in seen["admin"]
    assert body.decode() not in seen["supervisor"] and REDACTED in seen["supervisor"]
    agent = await matrix.client.get("/api/v1/ops/dead-letters", headers=matrix.headers["agent"])
    assert agent.status_code == 403


async def test_security_headers_and_no_cors_by_default(matrix: Matrix) -> None:
    response = await matrix.client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "access-control-allow-origin" not in response.headers


if __name__ == "__main__":  # print the matrix for docs/auth.md
    from pytake.config import load_settings as _load

    _settings = _load(environ={"PYTAKE_DATABASE_URL": "sqlite:////tmp/pytake-matrix.db",
                               "PYTAKE_SECRET_KEY": SECRET})
    print(render_matrix(create_app(Engine(_settings))))

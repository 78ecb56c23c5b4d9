"""Administrative changes over the REST API leave ``audit_logs`` rows naming who, from where,
on what, and never a secret: canned responses, outbound webhooks, business numbers, runtime
settings.  Real HTTP on loopback, PostgreSQL and SQLite."""

from __future__ import annotations

import json
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.store import AuditLog

from .test_users_api import Site, fresh_url, site  # noqa: F401  (fixtures)


async def rows_since(on: Site, first_id: int) -> list[AuditLog]:
    def query(session: Session) -> list[AuditLog]:
        found = list(session.scalars(sa.select(AuditLog).where(AuditLog.id > first_id)
                                     .order_by(AuditLog.id)))
        session.expunge_all()
        return found

    return await on.engine.db.run(query, readonly=True)


async def last_id(on: Site) -> int:
    def query(session: Session) -> int:
        return int(session.scalar(sa.select(sa.func.max(AuditLog.id))) or 0)

    return await on.engine.db.run(query, readonly=True)


async def test_admin_changes_are_audited_without_secrets(site: Site) -> None:  # noqa: F811
    c, admin = site.client, site.admin
    before = await last_id(site)
    team = await c.post("/api/v1/teams", headers=admin,
                        json={"name": f"Atendimento ✨ {secrets.token_hex(3)}"})
    assert team.status_code == 201, team.text
    made = await c.post("/api/v1/canned-responses", headers=admin, json={
        "team_id": team.json()["id"], "shortcut": "olá", "title": "Olá", "text": "Olá! 👋"})
    assert made.status_code == 201, made.text
    canned = made.json()["id"]
    assert (await c.patch(f"/api/v1/canned-responses/{canned}", headers=admin,
                          json={"title": "Oi"})).status_code == 200
    assert (await c.delete(f"/api/v1/canned-responses/{canned}",
                           headers=admin)).status_code == 204

    hook = await c.post("/api/v1/webhooks", headers=admin, json={
        "url": "https://crm.example.com/hooks", "events": ["conversation.*"]})
    assert hook.status_code == 201, hook.text
    hook_id, first_secret = hook.json()["id"], hook.json()["secret"]
    rotated = await c.post(f"/api/v1/webhooks/{hook_id}/rotate-secret", headers=admin)
    assert rotated.status_code == 200, rotated.text
    assert (await c.patch(f"/api/v1/webhooks/{hook_id}", headers=admin,
                          json={"active": False})).status_code == 200
    assert (await c.delete(f"/api/v1/webhooks/{hook_id}", headers=admin)).status_code == 204

    token = "EAAG" + secrets.token_hex(20)
    number = await c.post("/api/v1/numbers", headers=admin, json={
        "phone_number_id": "5511" + str(secrets.randbelow(10**8)), "access_token": token,
        "display_name": "Loja São João"})
    assert number.status_code == 201, number.text
    phone = number.json()["phone_number_id"]
    assert (await c.post(f"/api/v1/numbers/{phone}/pause", headers=admin)).status_code == 200
    assert (await c.delete(f"/api/v1/numbers/{phone}", headers=admin)).status_code == 204

    assert (await c.patch("/api/v1/settings", headers=admin,
                          json={"agent_offline_grace": 45})).status_code == 200

    rows = await rows_since(site, before)
    actions = [r.action for r in rows]
    for expected in ("canned_response.create", "canned_response.update",
                     "canned_response.delete", "webhook.create", "webhook.rotate_secret",
                     "webhook.update", "webhook.delete", "number.add", "number.update",
                     "number.remove", "settings.change"):
        assert expected in actions, (expected, actions)
    audited = [r for r in rows if r.action.split(".")[0] in
               {"canned_response", "webhook", "number", "settings"}]
    assert all(r.actor_user_id == site.admin_id and r.ip == "127.0.0.1" for r in audited)
    by_action: dict[str, Any] = {r.action: r for r in audited}
    assert by_action["canned_response.update"].details["changed"] == ["title"]
    assert by_action["webhook.update"].details == {"active": {"from": True, "to": False}}
    assert by_action["number.add"].target_id == phone
    assert by_action["number.add"].details["access_token"] == "(set)"
    assert by_action["settings.change"].details["agent_offline_grace"]["to"] == 45
    # No secret reaches the log, in clear or otherwise.
    text = json.dumps([r.details for r in rows], ensure_ascii=False)
    for secret in (token, first_secret, rotated.json()["secret"]):
        assert secret not in text

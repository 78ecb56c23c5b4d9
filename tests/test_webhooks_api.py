"""Outbound webhook subscriptions over REST: every operation, refusals naming the field, the
secret shown once, real deliveries checked by the `standardwebhooks` reference verifier
(replays refused), the delivery log and redelivery."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from standardwebhooks import Webhook, WebhookVerificationError

from pytake.modules.builtin.webhook import WebhookModule, new_secret
from pytake.standins.apis import WebhookReceiver, run_app
from pytake.store import UserRole

from ._support import admin_headers, brief
from .agent_support import PASSWORD, Desk, running_desk

SECRET_KEY = "w" * 40


async def _headers(desk: Desk, role: UserRole) -> dict[str, str]:
    email = f"{role}-{time.time_ns()}@example.com"
    await desk.edge.engine.identity.create_user(email, "Someone", role, PASSWORD)
    return {"Authorization": f"Bearer {await desk.token(email)}"}


def _module(desk: Desk) -> WebhookModule:
    module = desk.edge.engine.modules.registry.get("webhook")
    assert isinstance(module, WebhookModule)
    return module


async def _wait_for(receiver: WebhookReceiver, n: int) -> None:
    with trio.fail_after(15):
        while len(receiver.deliveries) < n:
            await trio.sleep(0.02)


async def test_webhook_subscriptions_crud_refusals_and_roles(db_url: str, tmp_path: Path) -> None:
    async with running_desk(db_url, tmp_path, agents=1, PYTAKE_SECRET_KEY=SECRET_KEY) as desk:
        client: httpx.AsyncClient = desk.edge.client
        admin = await admin_headers(desk.edge.engine)
        for old in (await client.get("/api/v1/webhooks?limit=200", headers=admin)).json()[
                "webhooks"]:
            await client.delete(f"/api/v1/webhooks/{old['id']}", headers=admin)

        created = await client.post("/api/v1/webhooks", headers=admin, json={
            "url": "https://crm.example.com/hooks",
            "events": ["message.*", "conversation.resolved"],
            "description": "crm sync",
        })
        assert created.status_code == 201, created.text
        body = created.json()
        secret = body.pop("secret")
        assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) == 32
        webhook_id = body["id"]
        assert created.headers["location"] == f"/api/v1/webhooks/{webhook_id}"
        assert (body["url"], body["events"], body["active"], body["description"]) == (
            "https://crm.example.com/hooks", ["message.*", "conversation.resolved"], True,
            "crm sync")

        # The secret is never shown back: not by a read, a listing or an update.
        shown = [
            await client.get(f"/api/v1/webhooks/{webhook_id}", headers=admin),
            await client.get("/api/v1/webhooks", headers=admin),
            await client.patch(f"/api/v1/webhooks/{webhook_id}", headers=admin,
                               json={"active": False, "events": ["*"]}),
        ]
        assert all(r.status_code == 200 for r in shown)
        assert all(secret not in r.text and '"secret"' not in r.text for r in shown)
        assert shown[0].json() == {**body, "updated_at": shown[0].json()["updated_at"]}
        updated = shown[2].json()
        assert (updated["active"], updated["events"]) == (False, ["*"])
        assert (await client.get(f"/api/v1/webhooks/{webhook_id}", headers=admin)).json()[
            "active"] is False
        stored = await desk.edge.query(f"SELECT secret FROM webhooks WHERE id = {webhook_id}")
        assert secret not in stored[0][0]

        # A new secret is shown once, and differs.
        rotated = await client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret",
                                    headers=admin)
        assert rotated.status_code == 200
        assert rotated.json()["secret"].startswith("whsec_")
        assert rotated.json()["secret"] != secret

        # Refusals: 422 naming the field, 404 for ids nothing has.
        bad: list[tuple[str, dict[str, Any], str]] = [
            ("POST", {"events": ["*"]}, "url"),
            ("POST", {"url": "ftp://x.example.com", "events": ["*"]}, "url"),
            ("POST", {"url": "https://", "events": ["*"]}, "url"),
            ("POST", {"url": "https://x.example.com"}, "events"),
            ("POST", {"url": "https://x.example.com", "events": []}, "events"),
            ("POST", {"url": "https://x.example.com", "events": ["Message!"]}, "events"),
            ("POST", {"url": "https://x.example.com", "events": "*"}, "events"),
            ("POST", {"url": "https://x.example.com", "events": ["*"], "secret": "whsec_x"},
             "secret"),
            ("POST", {"url": "https://x.example.com", "events": ["*"], "description": 5},
             "description"),
            ("PATCH", {"active": "yes"}, "active"),
            ("PATCH", {"url": 7}, "url"),
            ("PATCH", {}, "url"),
        ]
        for method, payload, field in bad:
            path = "/api/v1/webhooks" + (f"/{webhook_id}" if method == "PATCH" else "")
            response = await client.request(method, path, headers=admin, json=payload)
            assert response.status_code == 422, (payload, response.text)
            assert response.json()["field"] == field, payload
            assert "error" in brief(response) and response.json()["code"] == "invalid"
        not_json = await client.post("/api/v1/webhooks", headers=admin, content=b"[")
        assert not_json.status_code == 400
        for method, path in [("GET", "/api/v1/webhooks/999999"),
                             ("PATCH", "/api/v1/webhooks/999999"),
                             ("DELETE", "/api/v1/webhooks/999999"),
                             ("POST", "/api/v1/webhooks/999999/rotate-secret"),
                             ("GET", "/api/v1/webhooks/999999/deliveries"),
                             ("POST",
                              f"/api/v1/webhooks/{webhook_id}/deliveries/999999/redeliver")]:
            response = await client.request(method, path, headers=admin,
                                            json={"active": True} if method == "PATCH" else None)
            assert response.status_code == 404, (method, path, response.text)

        # Pages by cursor: every subscription once, in order.
        ids = [webhook_id]
        for n in range(4):
            more = await client.post("/api/v1/webhooks", headers=admin, json={
                "url": f"https://n{n}.example.com/", "events": ["*"]})
            ids.append(more.json()["id"])
        seen: list[int] = []
        cursor = None
        while True:
            page = (await client.get("/api/v1/webhooks", headers=admin,
                                     params={"limit": 2, **({"cursor": cursor} if cursor else {})}
                                     )).json()
            assert len(page["webhooks"]) <= 2
            seen += [w["id"] for w in page["webhooks"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids
        assert (await client.get("/api/v1/webhooks?cursor=nonsense", headers=admin)
                ).status_code == 400

        # Only admins: supervisors and agents are refused, anyone else is not signed in.
        for role in (UserRole.SUPERVISOR, UserRole.AGENT):
            refused = await client.get("/api/v1/webhooks", headers=await _headers(desk, role))
            assert refused.status_code == 403
        assert (await client.post("/api/v1/webhooks", json={})).status_code == 401

        deleted = await client.delete(f"/api/v1/webhooks/{webhook_id}", headers=admin)
        assert deleted.status_code == 204
        assert (await client.get(f"/api/v1/webhooks/{webhook_id}", headers=admin)
                ).status_code == 404


async def test_deliveries_verify_with_standard_webhooks_and_replays_are_refused(
    db_url: str, tmp_path: Path
) -> None:
    async with run_app(WebhookReceiver()) as receiver, \
            running_desk(db_url, tmp_path, agents=1, PYTAKE_SECRET_KEY=SECRET_KEY) as desk:
        client: httpx.AsyncClient = desk.edge.client
        admin = await admin_headers(desk.edge.engine)
        created = (await client.post("/api/v1/webhooks", headers=admin, json={
            "url": receiver.base_url + "/hook", "events": ["conversation.customer_message"],
        })).json()
        webhook_id, secret = created["id"], created["secret"]
        receiver.secret = secret

        # A customer writes: the engine delivers the event, signed.
        await desk.sim.send_text(desk.customer(), "oi")
        await _wait_for(receiver, 1)
        delivery = receiver.deliveries[0]
        assert delivery.signature_valid
        event = Webhook(secret).verify(delivery.body, delivery.headers)
        assert event["type"] == "conversation.customer_message"
        assert delivery.headers["webhook-id"] == event["id"] == delivery.event_id
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(delivery.body, delivery.headers)

        # A replay with the timestamp brought up to date no longer matches its signature.
        replay = {**delivery.headers, "webhook-timestamp": str(int(time.time()) + 1)}
        with pytest.raises(WebhookVerificationError, match="signature"):
            Webhook(secret).verify(delivery.body, replay)

        # The log shows the attempt; redelivering it sends the same event id, signed anew.
        with trio.fail_after(15):
            while not (log := (await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries",
                                                headers=admin)).json()["deliveries"]):
                await trio.sleep(0.05)
        (first,) = log
        assert (first["event_id"], first["attempt"], first["succeeded"],
                first["response_status"]) == (event["id"], 1, True, 200)
        again = await client.post(
            f"/api/v1/webhooks/{webhook_id}/deliveries/{first['id']}/redeliver", headers=admin)
        assert again.status_code == 200, again.text
        assert (again.json()["attempt"], again.json()["succeeded"],
                again.json()["redelivery_of"]) == (2, True, first["id"])
        await _wait_for(receiver, 2)
        redelivered = receiver.deliveries[1]
        assert Webhook(secret).verify(redelivered.body, redelivered.headers) == event
        assert redelivered.headers["webhook-id"] == event["id"]

        # A delivery signed ten minutes ago (as a captured one replayed now would be) is
        # refused by the reference verifier, and by the receiver.
        module = _module(desk)
        module.clock = lambda: time.time() - 600
        stale = await client.post(
            f"/api/v1/webhooks/{webhook_id}/deliveries/{first['id']}/redeliver", headers=admin)
        module.clock = time.time
        assert (stale.json()["succeeded"], stale.json()["response_status"]) == (False, 401)
        await _wait_for(receiver, 3)
        old = receiver.deliveries[2]
        assert not old.signature_valid
        with pytest.raises(WebhookVerificationError, match="too old"):
            Webhook(secret).verify(old.body, old.headers)

        # After a rotation, deliveries are signed with the new secret only.
        rotated = (await client.post(f"/api/v1/webhooks/{webhook_id}/rotate-secret",
                                     headers=admin)).json()["secret"]
        receiver.secret = rotated
        after = await client.post(
            f"/api/v1/webhooks/{webhook_id}/deliveries/{first['id']}/redeliver", headers=admin)
        assert after.json()["succeeded"], after.text
        latest = receiver.deliveries[-1]
        Webhook(rotated).verify(latest.body, latest.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(latest.body, latest.headers)

        # The log pages newest first by cursor.
        pages: list[int] = []
        cursor = None
        while True:
            page = (await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=admin,
                                     params={"limit": 1, **({"cursor": cursor} if cursor else {})}
                                     )).json()
            pages += [d["id"] for d in page["deliveries"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == sorted(pages, reverse=True) and len(pages) == 4

"""Outbound webhook subscriptions over REST (admin only): the ``webhook`` module's
subscriptions, their signing secrets and their delivery log.

- ``GET    /api/v1/webhooks``                     subscriptions by id (``?limit``, ``?cursor``)
- ``POST   /api/v1/webhooks``                     subscribe: the answer has the secret, once
- ``GET    /api/v1/webhooks/<id>``                one subscription (never its secret)
- ``PATCH  /api/v1/webhooks/<id>``                ``url``, ``events``, ``active``, ``description``
- ``DELETE /api/v1/webhooks/<id>``                remove it and its log
- ``POST   /api/v1/webhooks/<id>/rotate-secret``  a new secret, shown this once
- ``GET    /api/v1/webhooks/<id>/deliveries``     its attempts, newest first, by cursor
- ``POST   /api/v1/webhooks/<id>/deliveries/<d>/redeliver``  attempt ``d``'s event again

The rules and the storage are the module's (`WebhookModule`); this module reads the request,
answers refusals as problem documents (422 naming the field, 404, 409 when the server has no
``PYTAKE_SECRET_KEY`` to keep secrets with) and renders the records as JSON.
"""

from __future__ import annotations

from typing import Any, Final

from quart import Blueprint, Response, jsonify
from quart.typing import ResponseReturnValue

from pytake.errors import ModuleError
from pytake.modules import ModuleRegistry
from pytake.modules.builtin.webhook import (
    DeliveryRecord,
    InvalidWebhook,
    Subscription,
    WebhookModule,
    WebhookNotFound,
)
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import acting
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._page_cursor import decode_cursor, encode_cursor
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import int_arg, iso, read_json_object, str_arg

__all__ = ["create_webhooks_blueprint"]

#: A subscription is a URL, up to 50 patterns and a description: a few kilobytes at most.
MAX_BODY_BYTES: Final = 16 * 1024
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200


def _subscription_json(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "events": list(subscription.events),
        "active": subscription.active,
        "description": subscription.description,
        "created_at": iso(subscription.created_at),
        "updated_at": iso(subscription.updated_at),
    }


def _delivery_json(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "webhook_id": record.webhook_id,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "attempt": record.attempt,
        "succeeded": record.succeeded,
        "response_status": record.response_status,
        "error": record.error,
        "duration_ms": record.duration_ms,
        "at": iso(record.at),
        "redelivery_of": record.redelivery_of,
    }


def _position() -> int | None:
    cursor = str_arg("cursor")
    if cursor is None:
        return None
    (row_id,) = decode_cursor(cursor, (int,))
    assert isinstance(row_id, int)
    return row_id


def create_webhooks_blueprint(registry: ModuleRegistry) -> Blueprint:
    """The ``/api/v1/webhooks`` routes over the registry's ``webhook`` module."""
    bp = Blueprint("webhooks_api", __name__)
    module = registry.get("webhook")
    assert isinstance(module, WebhookModule)
    webhooks: WebhookModule = module

    @bp.errorhandler(InvalidWebhook)
    async def invalid(exc: InvalidWebhook) -> Response:
        return problem(422, str(exc), code="invalid", field=exc.field)

    @bp.errorhandler(WebhookNotFound)
    async def not_found(exc: WebhookNotFound) -> Response:
        return problem(404, str(exc))

    @bp.errorhandler(ModuleError)
    async def cannot(exc: ModuleError) -> Response:
        # No PYTAKE_SECRET_KEY (or another key than the secrets were stored with): the
        # request was fine, the server cannot keep or read secrets until it is configured.
        return problem(409, str(exc), code="not_configured")

    @bp.get("/api/v1/webhooks")
    @documented(query=schemas.WEBHOOKS_QUERY, response=schemas.WEBHOOKS)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def list_webhooks() -> Response:
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        page, last = await webhooks.subscriptions_page(_position(), limit)
        return jsonify({
            "webhooks": [_subscription_json(s) for s in page],
            "next_cursor": encode_cursor(last) if last is not None else None,
        })

    @bp.post("/api/v1/webhooks")
    @documented(request=schemas.WEBHOOK_CREATE, response=schemas.WEBHOOK_CREATED,
                status=201)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def create_webhook() -> ResponseReturnValue:
        subscription, secret = await webhooks.create(await read_json_object(MAX_BODY_BYTES),
                                                      actor=acting())
        body = {**_subscription_json(subscription), "secret": secret}
        return jsonify(body), 201, {"Location": f"/api/v1/webhooks/{subscription.id}"}

    @bp.get("/api/v1/webhooks/<int:webhook_id>")
    @documented(response=schemas.WEBHOOK)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def get_webhook(webhook_id: int) -> Response:
        return jsonify(_subscription_json(await webhooks.subscription(webhook_id)))

    @bp.patch("/api/v1/webhooks/<int:webhook_id>")
    @documented(request=schemas.WEBHOOK_UPDATE, response=schemas.WEBHOOK)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def update_webhook(webhook_id: int) -> Response:
        changes = await read_json_object(MAX_BODY_BYTES)
        if not changes:
            return problem(422, "give at least one of url, events, active, description",
                           code="invalid", field="url")
        return jsonify(_subscription_json(await webhooks.update(webhook_id, changes, acting())))

    @bp.delete("/api/v1/webhooks/<int:webhook_id>")
    @documented(status=204)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def delete_webhook(webhook_id: int) -> ResponseReturnValue:
        if not await webhooks.unsubscribe(webhook_id, acting()):
            raise WebhookNotFound(f"webhook {webhook_id} not found")
        return "", 204

    @bp.post("/api/v1/webhooks/<int:webhook_id>/rotate-secret")
    @documented(response=schemas.ROTATED_SECRET)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def rotate_secret(webhook_id: int) -> Response:
        secret = await webhooks.rotate_secret(webhook_id, acting())
        return jsonify({"id": webhook_id, "secret": secret})

    @bp.get("/api/v1/webhooks/<int:webhook_id>/deliveries")
    @documented(query=schemas.WEBHOOKS_QUERY, response=schemas.WEBHOOK_DELIVERIES)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def list_deliveries(webhook_id: int) -> Response:
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        page, last = await webhooks.deliveries_page(webhook_id, _position(), limit)
        return jsonify({
            "deliveries": [_delivery_json(d) for d in page],
            "next_cursor": encode_cursor(last) if last is not None else None,
        })

    @bp.post("/api/v1/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
    @documented(response=schemas.WEBHOOK_DELIVERY)
    @requires(Permission.WEBHOOKS_MANAGE)
    async def redeliver(webhook_id: int, delivery_id: int) -> Response:
        return jsonify(_delivery_json(await webhooks.redeliver(webhook_id, delivery_id)))

    return bp

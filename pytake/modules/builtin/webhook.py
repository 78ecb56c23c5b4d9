"""``webhook``: conversation and message events POSTed to subscribed URLs, signed, retried and
logged.

Subscriptions live in the ``webhooks`` table: a URL, the event types it wants (exact names,
``message.*`` for a family, ``*`` for all) and a secret, stored encrypted (`SecretBox`, text
form) and shown once, when the subscription is made. Every attempt at a delivery is a row
of ``webhook_deliveries`` (status, error, duration).

A delivery is ``POST <url>`` with the event as JSON::

    {"id": "<32 hex>", "type": "message.received", "occurred_at": "2026-11-26T12:00:00+00:00",
     "data": {...}}

and the headers ``X-PyTake-Event`` (the type), ``X-PyTake-Delivery`` (the event id, the same
on every retry: receivers drop duplicates by it), ``X-PyTake-Attempt`` (1, 2, ...) and
``X-PyTake-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body under the subscription's
secret (check it with `verify_signature`, in constant time, before trusting the body).

Any 2xx is success. A timeout, a connection failure, 5xx, 408, 425 or 429 is retried with
capped exponential backoff and jitter (a ``Retry-After`` up to the backoff's maximum is
honoured), up to ``max_attempts`` attempts in all; any other status ends the delivery as
failed, and 410 Gone also deactivates the subscription.

`WebhookModule.deliver` is what the engine calls for its events (from a background task: it
waits for every retry). Action ``notify`` (node type ``webhook.notify``) lets a flow send an
event of its own (``event``, ``data``): outcome ``ok`` when every subscriber took it (or there
is none), ``error`` when a delivery failed after its retries; outputs ``delivered`` and
``failed``. Its deliveries retry on their own, so the runner never retries the action.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets as secrets_module
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from random import Random
from typing import Any, ClassVar, Final

import attrs
import httpx
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

import pytake
from pytake.errors import ModuleError, StorageUnavailable
from pytake.modules._contract import (
    OK,
    Action,
    ConfigField,
    Manifest,
    ModuleContext,
    ModuleResponse,
    Param,
)
from pytake.modules._secrets import SecretBox
from pytake.modules.builtin._http import HttpAnswer, HttpModule, describe_url, request
from pytake.store import Database, WebhookDelivery, WebhookSubscription, utcnow
from pytake.supervisor import Backoff

__all__ = [
    "EVENT_TYPES",
    "DeliveryPolicy",
    "DeliveryRecord",
    "DeliveryResult",
    "Subscription",
    "WebhookEvent",
    "WebhookModule",
    "sign",
    "verify_signature",
]

log = logging.getLogger("pytake.modules.webhook")

#: The events PyTake itself emits (a flow's ``notify`` may send others).
EVENT_TYPES: Final = (
    "conversation.created",
    "conversation.queued",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.resolved",
    "message.received",
    "message.sent",
    "message.status",
)
SIGNATURE_HEADER: Final = "X-PyTake-Signature"
MAX_SECRET_LENGTH: Final = 128
_PATTERN: Final = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$")
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})
#: Seconds a node trusts its copy of the subscriptions (others' changes show up after it).
SUBSCRIPTIONS_TTL: Final = 10.0


def sign(secret: str, body: bytes) -> str:
    """The ``X-PyTake-Signature`` value of ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the right signature of ``body`` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether an event of ``event_type`` goes to a subscription to ``patterns``."""
    for pattern in patterns:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One event to deliver; ``id`` identifies it across retries and subscribers."""

    type: str
    data: dict[str, Any] = attrs.field(factory=dict)
    id: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = attrs.field(factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


@attrs.frozen(kw_only=True)
class DeliveryPolicy:
    """Retries of one delivery: ``max_attempts`` in all, ``timeout`` seconds each."""

    max_attempts: int = 5
    timeout: float = 10.0
    backoff: Backoff = attrs.field(factory=lambda: Backoff(initial=1.0, maximum=60.0, jitter=0.2))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DeliveryPolicy:
        """The policy in a ``webhook`` configuration (defaults for what it lacks)."""
        default = cls()
        initial = float(config.get("backoff_initial", default.backoff.initial))
        maximum = max(initial, float(config.get("backoff_max", default.backoff.maximum)))
        return cls(
            max_attempts=max(1, int(config.get("max_attempts", default.max_attempts))),
            timeout=float(config.get("timeout", default.timeout)),
            backoff=Backoff(initial=initial, maximum=maximum, jitter=0.2),
        )


@attrs.frozen(kw_only=True)
class Subscription:
    """A subscription as listings show it (never its secret)."""

    id: int
    url: str
    events: tuple[str, ...]
    active: bool
    description: str | None
    created_at: datetime


@attrs.frozen(kw_only=True)
class DeliveryResult:
    """How the delivery of one event to one subscription ended."""

    webhook_id: int
    url: str
    succeeded: bool
    attempts: int
    status: int | None
    error: str | None


@attrs.frozen(kw_only=True)
class DeliveryRecord:
    """One row of the delivery log: one attempt."""

    id: int
    webhook_id: int
    event_type: str
    event_id: str
    attempt: int
    succeeded: bool
    response_status: int | None
    error: str | None
    duration_ms: int | None
    at: datetime


@attrs.frozen
class _Target:
    id: int
    url: str
    events: tuple[str, ...]
    secret: str


def _secret_context(webhook_id: int) -> str:
    return f"webhooks/{webhook_id}"


class WebhookModule(HttpModule):
    name: ClassVar[str] = "webhook"
    version: ClassVar[str] = "1.0.0"
    manifest: ClassVar[Manifest] = Manifest(
        description="Posts conversation and message events to subscribed URLs, signed.",
        config=(
            ConfigField(name="max_attempts", type="integer", default=5),
            ConfigField(name="timeout", type="number", default=10.0, description="per attempt"),
            ConfigField(name="backoff_initial", type="number", default=1.0),
            ConfigField(name="backoff_max", type="number", default=60.0),
        ),
        actions=(
            Action(
                name="notify",
                description="Send an event of the flow's own to its subscribers.",
                inputs=(
                    Param(name="event", required=True, description="event type, e.g. lead.won"),
                    Param(name="data", type="object"),
                ),
                outputs=(
                    Param(name="delivered", type="integer"),
                    Param(name="failed", type="integer"),
                ),
                outcomes=(OK,),
                idempotent=False,
                timeout=300.0,
            ),
        ),
        permissions=("network:outbound", "events:read", "database:webhooks"),
    )

    def __init__(self, *, random: Random | None = None) -> None:
        self._random = random if random is not None else Random()
        self._cache: tuple[float, list[_Target]] | None = None

    # -- services -----------------------------------------------------------------------------

    def _database(self) -> Database:
        if self.services.database is None:
            raise ModuleError("webhook: no database was bound to the module", module=self.name)
        return self.services.database

    def _box(self) -> SecretBox:
        if self.services.secrets is None:
            raise ModuleError(
                "webhook: PYTAKE_SECRET_KEY is not set, so webhook secrets cannot be stored "
                "or read",
                module=self.name,
            )
        return self.services.secrets

    # -- subscriptions ------------------------------------------------------------------------

    async def subscribe(
        self,
        url: str,
        events: Sequence[str],
        *,
        secret: str | None = None,
        description: str | None = None,
    ) -> tuple[Subscription, str]:
        """Add a subscription; return it and its secret (shown this once, stored encrypted).

        Raises `ModuleError` for a URL that is not http(s), no or malformed event patterns,
        or a secret longer than 128 characters. Without ``secret`` one is generated.
        """
        if not url.startswith(("http://", "https://")) or len(url) > 2048:
            raise ModuleError(f"webhook URL {describe_url(url)!r} is not an http(s) URL")
        patterns = tuple(events)
        bad = [p for p in patterns if not isinstance(p, str) or not _PATTERN.match(p)]
        if not patterns or bad:
            raise ModuleError(
                f"webhook events must be event types, 'family.*' or '*'; got {list(patterns)!r}"
            )
        secret = secret if secret is not None else secrets_module.token_urlsafe(32)
        if not 16 <= len(secret) <= MAX_SECRET_LENGTH:
            raise ModuleError(f"a webhook secret has 16 to {MAX_SECRET_LENGTH} characters")
        box = self._box()
        subscription = await self._database().run(
            _insert_subscription, url, list(patterns), secret, description, box
        )
        self._cache = None
        return subscription, secret

    async def unsubscribe(self, webhook_id: int) -> bool:
        """Remove a subscription (and its delivery log); ``False`` if there was none."""
        removed = await self._database().run(_delete_subscription, webhook_id)
        self._cache = None
        return removed

    async def set_active(self, webhook_id: int, active: bool) -> None:
        """Pause or resume a subscription."""
        await self._database().run(_set_active, webhook_id, active)
        self._cache = None

    async def subscriptions(self) -> list[Subscription]:
        """Every subscription, by id, without secrets."""
        return await self._database().run(_list_subscriptions, readonly=True)

    async def deliveries(
        self, *, webhook_id: int | None = None, event_id: str | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """The delivery log, newest first."""
        return await self._database().run(
            _list_deliveries, webhook_id, event_id, limit, readonly=True
        )

    async def _targets(self) -> list[_Target]:
        now = trio.current_time()
        if self._cache is not None and now - self._cache[0] < SUBSCRIPTIONS_TTL:
            return self._cache[1]
        rows = await self._database().run(_active_subscriptions, readonly=True)
        targets = []
        box = self._box() if rows else None
        for webhook_id, url, events, stored_secret in rows:
            assert box is not None
            secret = box.decrypt_text(
                stored_secret,
                context=_secret_context(webhook_id),
                what=f"the secret of webhook {webhook_id}",
            )
            targets.append(_Target(webhook_id, url, tuple(events), secret))
        self._cache = (now, targets)
        return targets

    # -- delivery -----------------------------------------------------------------------------

    async def deliver(
        self, event: WebhookEvent, *, policy: DeliveryPolicy | None = None
    ) -> list[DeliveryResult]:
        """Deliver ``event`` to every active subscription that wants it, concurrently, each
        with its retries; return how each ended. Raises `ModuleError` only when the module
        cannot work at all (no database, no secret key, a secret it cannot decrypt)."""
        policy = policy if policy is not None else DeliveryPolicy()
        targets = [t for t in await self._targets() if matches(t.events, event.type)]
        if not targets:
            return []
        body = _encode(event.to_json())
        results: list[DeliveryResult] = []
        async with self.client() as client, trio.open_nursery() as nursery:
            for target in targets:
                nursery.start_soon(self._deliver_one, client, target, event, body, policy, results)
        return sorted(results, key=lambda r: r.webhook_id)

    async def _deliver_one(
        self,
        client: httpx.AsyncClient,
        target: _Target,
        event: WebhookEvent,
        body: bytes,
        policy: DeliveryPolicy,
        results: list[DeliveryResult],
    ) -> None:
        what = f"webhook {target.id} POST {describe_url(target.url)}"
        attempt = 0
        status: int | None = None
        error: str | None = None
        while True:
            attempt += 1
            headers = {
                "Content-Type": "application/json",
                "User-Agent": f"PyTake-Webhooks/{pytake.__version__}",
                "X-PyTake-Event": event.type,
                "X-PyTake-Delivery": event.id,
                "X-PyTake-Attempt": str(attempt),
                SIGNATURE_HEADER: sign(target.secret, body),
            }
            started = trio.current_time()
            answer = await request(
                client, "POST", target.url, what=what, timeout=policy.timeout,
                headers=headers, content=body,
            )  # fmt: skip
            duration_ms = int((trio.current_time() - started) * 1000)
            retry_after: float | None = None
            if isinstance(answer, HttpAnswer):
                status = answer.status
                succeeded = 200 <= status < 300
                transient = status >= 500 or status in _TRANSIENT_STATUS
                error = None if succeeded else _status_error(answer)
                retry_after = _retry_after(answer)
            else:
                status, succeeded, transient, error = None, False, True, answer.error
            await self._log(target, event, attempt, succeeded, status, error, duration_ms)
            if succeeded or not transient or attempt >= policy.max_attempts:
                break
            delay = policy.backoff.delay(attempt - 1, self._random)
            if retry_after is not None:
                delay = max(delay, min(retry_after, policy.backoff.maximum))
            await trio.sleep(delay)
        if status == 410:
            log.warning("%s answered 410 Gone: subscription deactivated", what)
            try:
                await self._database().run(_set_active, target.id, False)
            except StorageUnavailable as exc:
                log.warning("webhook %d not deactivated: %s", target.id, exc)
            self._cache = None
        if not succeeded:
            log.warning("%s: event %s not delivered after %d attempt(s): %s",
                        what, event.id, attempt, error)  # fmt: skip
        results.append(
            DeliveryResult(
                webhook_id=target.id,
                url=target.url,
                succeeded=succeeded,
                attempts=attempt,
                status=status,
                error=error,
            )
        )

    async def _log(
        self,
        target: _Target,
        event: WebhookEvent,
        attempt: int,
        succeeded: bool,
        status: int | None,
        error: str | None,
        duration_ms: int,
    ) -> None:
        row = {
            "webhook_id": target.id,
            "event_type": event.type,
            "event_id": event.id,
            "payload": event.to_json(),
            "attempt": attempt,
            "succeeded": succeeded,
            "response_status": status,
            "error": error,
            "duration_ms": duration_ms,
        }
        try:
            await self._database().run(_insert_delivery, row)
        except StorageUnavailable as exc:
            # The log must not stop deliveries: the receiver still gets the event.
            log.warning("webhook delivery log not written: %s", exc)

    # -- the flow action ----------------------------------------------------------------------

    async def execute(self, context: ModuleContext) -> ModuleResponse:
        event_type = str(context.inputs["event"])
        if not _PATTERN.match(event_type) or "*" in event_type:
            return ModuleResponse.failure(
                f"webhook: {event_type!r} is not an event type (lower-case words with dots)",
                transient=False,
            )
        data = {
            "conversation": {"id": context.conversation_id, "key": context.conversation_key},
            **context.inputs.get("data", {}),
        }
        event = WebhookEvent(type=event_type, data=data, id=context.call_id)
        try:
            results = await self.deliver(event, policy=DeliveryPolicy.from_config(context.config))
        except ModuleError as exc:
            return ModuleResponse.failure(str(exc), transient=False)
        failed = [r for r in results if not r.succeeded]
        outputs = {"delivered": len(results) - len(failed), "failed": len(failed)}
        if failed:
            detail = "; ".join(
                f"{describe_url(r.url)} after {r.attempts} attempt(s): {r.error}" for r in failed
            )
            return ModuleResponse(
                outcome="error",
                outputs=outputs,
                error=f"webhook: {len(failed)} of {len(results)} deliveries failed: {detail}",
                transient=False,
            )
        return ModuleResponse.success(outputs)


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _status_error(answer: HttpAnswer) -> str:
    snippet = answer.body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {answer.status}" + (f": {snippet}" if snippet else "")


def _retry_after(answer: HttpAnswer) -> float | None:
    value = answer.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare from webhook receivers; the backoff applies
    return seconds if seconds >= 0 else None


# --- database work (worker threads) --------------------------------------------------------


def _subscription(row: WebhookSubscription) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        events=tuple(row.events),
        active=row.active,
        description=row.description,
        created_at=row.created_at,
    )


def _insert_subscription(
    session: Session,
    url: str,
    events: list[str],
    secret: str,
    description: str | None,
    box: SecretBox,
) -> Subscription:
    row = WebhookSubscription(url=url, events=events, secret="", description=description)
    session.add(row)
    session.flush()  # the id binds the encrypted secret to this row
    row.secret = box.encrypt_text(secret, context=_secret_context(row.id))
    session.flush()
    return _subscription(row)


def _delete_subscription(session: Session, webhook_id: int) -> bool:
    result = session.execute(
        sa.delete(WebhookSubscription).where(WebhookSubscription.id == webhook_id)
    )
    return bool(getattr(result, "rowcount", 0))


def _set_active(session: Session, webhook_id: int, active: bool) -> None:
    session.execute(
        sa.update(WebhookSubscription)
        .where(WebhookSubscription.id == webhook_id)
        .values(active=active)
    )


def _list_subscriptions(session: Session) -> list[Subscription]:
    rows = session.scalars(sa.select(WebhookSubscription).order_by(WebhookSubscription.id))
    return [_subscription(row) for row in rows]


def _active_subscriptions(session: Session) -> list[tuple[int, str, list[str], str]]:
    rows = session.execute(
        sa.select(
            WebhookSubscription.id,
            WebhookSubscription.url,
            WebhookSubscription.events,
            WebhookSubscription.secret,
        )
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    )
    return [(r.id, r.url, list(r.events or []), r.secret) for r in rows]


def _insert_delivery(session: Session, row: dict[str, Any]) -> None:
    session.add(WebhookDelivery(**row))


def _list_deliveries(
    session: Session, webhook_id: int | None, event_id: str | None, limit: int
) -> list[DeliveryRecord]:
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    if event_id is not None:
        query = query.where(WebhookDelivery.event_id == event_id)
    return [
        DeliveryRecord(
            id=r.id,
            webhook_id=r.webhook_id,
            event_type=r.event_type,
            event_id=r.event_id,
            attempt=r.attempt,
            succeeded=r.succeeded,
            response_status=r.response_status,
            error=r.error,
            duration_ms=r.duration_ms,
            at=r.at,
        )
        for r in session.scalars(query)
    ]

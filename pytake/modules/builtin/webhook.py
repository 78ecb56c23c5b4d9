"""``webhook``: conversation and message events POSTed to subscribed URLs, signed, retried and
logged.

Subscriptions live in the ``webhooks`` table: a URL, the event types it wants (exact names,
``conversation.*`` for a family, ``*`` for all) and a secret, stored encrypted (`SecretBox`, text
form) and shown once, when the subscription is made or its secret rotated. A secret is
``whsec_`` and the base64 of 24 to 64 random bytes, as the Standard Webhooks specification
writes it. Every attempt at a delivery is a row of ``webhook_deliveries`` (status, error,
duration); an administrator may deliver a logged event again (`WebhookModule.redeliver`).

A delivery is ``POST <url>`` with the event as JSON::

    {"id": "<32 hex>", "type": "conversation.customer_message",
     "occurred_at": "2026-11-26T12:00:00+00:00", "data": {...}}

signed as the Standard Webhooks specification (https://www.standardwebhooks.com) says:

- ``webhook-id``: the event id, the same on every retry and redelivery (receivers drop
  duplicates by it);
- ``webhook-timestamp``: when this attempt was signed, in Unix seconds (receivers refuse one
  too far from their clock, so a captured delivery cannot be replayed later);
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``
  under the secret's bytes (the base64 after ``whsec_``). `verify_delivery` checks all three.

The headers of earlier versions stay for receivers written against them: ``X-PyTake-Event``
(the type), ``X-PyTake-Delivery`` (the event id), ``X-PyTake-Attempt`` (1, 2, ...) and
``X-PyTake-Signature: sha256=<hex>``, the HMAC-SHA256 of the body alone under the secret's
text as shown (`verify_signature`). It has no timestamp, so it does not protect against
replays: new receivers check ``webhook-signature``.

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

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets as secrets_module
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from random import Random
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

import attrs
import httpx
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
from pytake.modules._repo import (
    active_subscriptions,
    add_delivery,
    add_subscription,
    change_subscription,
    delete_subscription,
    delivery_row,
    delivery_rows,
    last_attempt,
    set_subscription_active,
    subscription_row,
    subscription_rows,
)
from pytake.modules._secrets import SecretBox
from pytake.modules.builtin._http import HttpAnswer, HttpModule, describe_url, request
from pytake.store import (
    SYSTEM,
    Actor,
    Database,
    WebhookDelivery,
    WebhookSubscription,
    record_audit,
    utcnow,
)
from pytake.supervisor import Backoff

__all__ = [
    "EVENT_TYPES",
    "DeliveryPolicy",
    "DeliveryRecord",
    "DeliveryResult",
    "InvalidWebhook",
    "Subscription",
    "WebhookError",
    "WebhookEvent",
    "WebhookModule",
    "WebhookNotFound",
    "new_secret",
    "secret_context",
    "sign",
    "sign_delivery",
    "verify_delivery",
    "verify_signature",
]

log = logging.getLogger("pytake.modules.webhook")

#: Families of the events PyTake itself emits: ``conversation.<type>`` for every entry of a
#: conversation's event log (``conversation.customer_message``, ``conversation.resolve``, ...);
#: a flow's ``notify`` may send others.
EVENT_TYPES: Final = ("conversation.*",)
SIGNATURE_HEADER: Final = "X-PyTake-Signature"
SECRET_PREFIX: Final = "whsec_"
#: Seconds a delivery's ``webhook-timestamp`` may be from the receiver's clock (the spec's 5 min).
TOLERANCE: Final = 300
MAX_URL_LENGTH: Final = 2048
MAX_DESCRIPTION: Final = 255
MAX_PATTERNS: Final = 50
_PATTERN: Final = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$")
_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})
#: Seconds a node trusts its copy of the subscriptions (others' changes show up after it).
SUBSCRIPTIONS_TTL: Final = 10.0


class WebhookError(ModuleError):
    """A change of an outbound webhook subscription was refused; the message says why."""


class WebhookNotFound(WebhookError, LookupError):
    """No subscription (or no logged delivery of it) with that id."""


class InvalidWebhook(WebhookError, ValueError):
    """A field of a subscription is refused; ``field`` names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, module="webhook")
        self.field = field


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes | None:
    """The key bytes of a ``whsec_`` secret, ``None`` if it is not one (24 to 64 bytes)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if 24 <= len(key) <= 64 else None


def _signing_key(secret: str) -> bytes:
    # A subscription made before secrets were whsec_ keeps its text as the key; rotating its
    # secret gives it one every Standard Webhooks library reads.
    key = _secret_bytes(secret)
    return key if key is not None else secret.encode()


def sign_delivery(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of
    ``{message_id}.{timestamp}.{body}`` under the secret's key bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_delivery(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a delivery's Standard Webhooks headers (names in lower case) are right for
    ``body``: a signature of ours among ``webhook-signature``'s (space-separated) ones, and a
    ``webhook-timestamp`` within ``tolerance`` seconds of ``now`` (a replay is older)."""
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature", "").split()
    if not message_id or not timestamp.isdigit() or not given:
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = sign_delivery(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, signature) for signature in given)


def sign(secret: str, body: bytes) -> str:
    """The ``X-PyTake-Signature`` value of ``body`` (kept for earlier receivers): ``sha256=``
    and the hex HMAC-SHA256 of the body under the secret's text."""
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
    updated_at: datetime


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
    #: The logged attempt this one delivered again, at an administrator's request.
    redelivery_of: int | None = None


@attrs.frozen
class _Target:
    id: int
    url: str
    events: tuple[str, ...]
    secret: str


@attrs.frozen(kw_only=True)
class _LoggedEvent:
    """An event as a delivery sends it: its id, its type and the JSON body."""

    id: str
    type: str
    payload: dict[str, Any]


@attrs.frozen
class _Outcome:
    """How one attempt ended."""

    status: int | None
    succeeded: bool
    transient: bool
    error: str | None
    retry_after: float | None
    duration_ms: int


def secret_context(webhook_id: int) -> str:
    """What a subscription's sealed secret is bound to (its id)."""
    return f"webhooks/{webhook_id}"


_FIELDS: Final = ("url", "events", "active", "description")


def _checked(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a subscription in ``changes``, as stored; `InvalidWebhook` names the
    first one refused (or unknown)."""
    fields: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in _FIELDS:
            raise InvalidWebhook(
                f"unknown field {name!r}; a subscription has {', '.join(_FIELDS)}", field=name
            )
        if name == "url":
            parts = urlsplit(value) if isinstance(value, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
                    or len(value) > MAX_URL_LENGTH:
                shown = describe_url(value) if isinstance(value, str) else value
                raise InvalidWebhook(f"url must be an http(s) URL of at most {MAX_URL_LENGTH} "
                                     f"characters; got {shown!r}", field="url")
        elif name == "events":
            patterns = list(value) if isinstance(value, list | tuple) else None
            if not patterns or len(patterns) > MAX_PATTERNS or not all(
                isinstance(p, str) and _PATTERN.match(p) for p in patterns
            ):
                raise InvalidWebhook(
                    f"events must be 1 to {MAX_PATTERNS} event types, 'family.*' or '*'; "
                    f"got {value!r}",
                    field="events",
                )
            value = patterns
        elif name == "active" and not isinstance(value, bool):
            raise InvalidWebhook("active must be true or false", field="active")
        elif name == "description" and value is not None and (
            not isinstance(value, str) or len(value) > MAX_DESCRIPTION
        ):
            raise InvalidWebhook(f"description must be a string of at most {MAX_DESCRIPTION} "
                                 "characters, or null", field="description")
        fields[name] = value
    return fields


def _log_row(
    target: _Target, event: _LoggedEvent, attempt: int, outcome: _Outcome
) -> dict[str, Any]:
    return {
        "webhook_id": target.id,
        "event_type": event.type,
        "event_id": event.id,
        "payload": event.payload,
        "attempt": attempt,
        "succeeded": outcome.succeeded,
        "response_status": outcome.status,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
    }


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

    def __init__(
        self, *, random: Random | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._random = random if random is not None else Random()
        #: The wall clock deliveries are timestamped by (Unix seconds).
        self.clock = clock
        self._cache: tuple[float, list[_Target]] | None = None

    @staticmethod
    def policy_from_config(config: dict[str, Any]) -> DeliveryPolicy:
        """The retries and timeout this module's configuration asks for (the engine applies
        them to the events it delivers, as the ``notify`` action does)."""
        return DeliveryPolicy.from_config(config)

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

        Raises `InvalidWebhook` naming the field for a URL that is not http(s), no or
        malformed event patterns, a description over 255 characters, or a secret that is not
        ``whsec_`` and the base64 of 24 to 64 bytes. Without ``secret`` one is generated.
        """
        return await self.create({"url": url, "events": events, "description": description},
                                 secret=secret)

    async def create(
        self, fields: Mapping[str, Any], *, secret: str | None = None, actor: Actor = SYSTEM
    ) -> tuple[Subscription, str]:
        """`subscribe` with the fields of a request body: ``url`` and ``events`` required,
        ``description`` and ``active`` optional; `InvalidWebhook` names a refused field."""
        for required in ("url", "events"):
            if required not in fields:
                raise InvalidWebhook(f"{required} is required", field=required)
        fields = _checked(fields)
        secret = secret if secret is not None else new_secret()
        if _secret_bytes(secret) is None:
            raise InvalidWebhook("a webhook secret is whsec_ and the base64 of 24 to 64 bytes",
                                 field="secret")
        box = self._box()
        subscription = await self._database().run(_insert_subscription, fields, secret, box,
                                                  actor)
        self._cache = None
        return subscription, secret

    async def update(self, webhook_id: int, changes: Mapping[str, Any],
                     actor: Actor = SYSTEM) -> Subscription:
        """Change some of ``url``, ``events``, ``active``, ``description``; `InvalidWebhook`
        names a refused field (or an unknown one), `WebhookNotFound` if there is none."""
        fields = _checked(changes)
        subscription = await self._database().run(_update_subscription, webhook_id, fields,
                                                  actor)
        self._cache = None
        return subscription

    async def rotate_secret(self, webhook_id: int, actor: Actor = SYSTEM) -> str:
        """Give the subscription a new secret and return it (shown this once); deliveries
        from now on are signed with it. `WebhookNotFound` if there is no such subscription."""
        secret = new_secret()
        await self._database().run(_replace_secret, webhook_id, secret, self._box(), actor)
        self._cache = None
        return secret

    async def unsubscribe(self, webhook_id: int, actor: Actor = SYSTEM) -> bool:
        """Remove a subscription (and its delivery log); ``False`` if there was none."""
        removed = await self._database().run(_delete_subscription, webhook_id, actor)
        self._cache = None
        return removed

    async def set_active(self, webhook_id: int, active: bool) -> None:
        """Pause or resume a subscription."""
        await self._database().run(set_subscription_active, webhook_id, active)
        self._cache = None

    async def subscriptions(self) -> list[Subscription]:
        """Every subscription, by id, without secrets."""
        return await self._database().run(_list_subscriptions, None, None, readonly=True)

    async def subscriptions_page(
        self, after_id: int | None, limit: int
    ) -> tuple[list[Subscription], int | None]:
        """Up to ``limit`` subscriptions with ids above ``after_id``, by id; and the id the
        next page starts after (``None``: this was the last)."""
        rows = await self._database().run(_list_subscriptions, after_id, limit + 1,
                                          readonly=True)  # fmt: skip
        # One row more than asked for says whether another page follows, without a COUNT.
        return rows[:limit], rows[limit - 1].id if len(rows) > limit else None

    async def subscription(self, webhook_id: int) -> Subscription:
        """One subscription, without its secret; `WebhookNotFound` if there is none."""
        return await self._database().run(_get_subscription, webhook_id, readonly=True)

    async def deliveries(
        self, *, webhook_id: int | None = None, event_id: str | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """The delivery log, newest first."""
        return await self._database().run(
            _list_deliveries, webhook_id, event_id, None, limit, readonly=True
        )

    async def deliveries_page(
        self, webhook_id: int, before_id: int | None, limit: int
    ) -> tuple[list[DeliveryRecord], int | None]:
        """Up to ``limit`` logged attempts of a subscription, newest first, older than
        ``before_id``; and the id the next page starts before. `WebhookNotFound` if there is
        no such subscription."""
        rows = await self._database().run(_deliveries_of, webhook_id, before_id, limit + 1,
                                          readonly=True)  # fmt: skip
        return rows[:limit], rows[limit - 1].id if len(rows) > limit else None

    async def _targets(self) -> list[_Target]:
        now = trio.current_time()
        if self._cache is not None and now - self._cache[0] < SUBSCRIPTIONS_TTL:
            return self._cache[1]
        rows = await self._database().run(active_subscriptions, readonly=True)
        box = self._box() if rows else None
        targets = []
        for row in rows:
            try:
                targets.append(self._target(box, *row))
            except ModuleError as exc:
                # One subscription stored under another key must not stop the others' events;
                # said again at each re-read (SUBSCRIPTIONS_TTL) until someone fixes it.
                log.error("webhook %s skipped: %s", row[0], exc)
        self._cache = (now, targets)
        return targets

    def _target(
        self, box: SecretBox | None, webhook_id: int, url: str, events: list[str], stored: str
    ) -> _Target:
        assert box is not None
        secret = box.decrypt_text(
            stored, context=secret_context(webhook_id), what=f"the secret of webhook {webhook_id}"
        )
        return _Target(webhook_id, url, tuple(events), secret)

    # -- delivery -----------------------------------------------------------------------------

    async def deliver(
        self, event: WebhookEvent, *, policy: DeliveryPolicy | None = None
    ) -> list[DeliveryResult]:
        """Deliver ``event`` to every active subscription that wants it, concurrently, each
        with its retries; return how each ended. Raises `ModuleError` only when the module
        cannot work at all (no database, no secret key); a subscription whose secret cannot
        be decrypted (stored under another key) is skipped and logged."""
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

    async def redeliver(
        self, webhook_id: int, delivery_id: int, *, policy: DeliveryPolicy | None = None
    ) -> DeliveryRecord:
        """Deliver a logged attempt's event again to its subscription (paused or not: an
        administrator asked), once, with the same ``webhook-id`` and a new timestamp and
        signature; log it and return its row. `WebhookNotFound` if either id is unknown."""
        policy = policy if policy is not None else DeliveryPolicy()
        database = self._database()
        box = self._box()
        row, attempt = await database.run(_redelivery_source, webhook_id, delivery_id,
                                          readonly=True)  # fmt: skip
        target = self._target(box, webhook_id, row.url, [], row.secret)
        event = _LoggedEvent(id=row.event_id, type=row.event_type, payload=row.payload)
        async with self.client() as client:
            outcome = await self._attempt(client, target, event, attempt, policy)
        if outcome.status == 410:
            await database.run(set_subscription_active, webhook_id, False)
            self._cache = None
        return await database.run(_insert_delivery, {
            **_log_row(target, event, attempt, outcome), "redelivery_of": delivery_id,
        })

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        target: _Target,
        event: _LoggedEvent,
        attempt: int,
        policy: DeliveryPolicy,
    ) -> _Outcome:
        """One POST of ``event`` to ``target``, signed now."""
        body = _encode(event.payload)
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"PyTake-Webhooks/{pytake.__version__}",
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_delivery(target.secret, event.id, timestamp, body),
            "X-PyTake-Event": event.type,
            "X-PyTake-Delivery": event.id,
            "X-PyTake-Attempt": str(attempt),
            SIGNATURE_HEADER: sign(target.secret, body),
        }
        what = f"webhook {target.id} POST {describe_url(target.url)}"
        started = trio.current_time()
        answer = await request(
            client, "POST", target.url, what=what, timeout=policy.timeout,
            headers=headers, content=body,
        )  # fmt: skip
        duration_ms = int((trio.current_time() - started) * 1000)
        if not isinstance(answer, HttpAnswer):
            # A timeout or a refused connection may pass; an invalid URL or an answer over
            # the size limit will not, so retrying it only delays the failure.
            return _Outcome(None, False, answer.transient, answer.error, None, duration_ms)
        status = answer.status
        succeeded = 200 <= status < 300
        return _Outcome(
            status=status,
            succeeded=succeeded,
            transient=status >= 500 or status in _TRANSIENT_STATUS,
            error=None if succeeded else _status_error(answer),
            retry_after=_retry_after(answer),
            duration_ms=duration_ms,
        )

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
        logged = _LoggedEvent(id=event.id, type=event.type, payload=event.to_json())
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(client, target, logged, attempt, policy)
            await self._log(target, logged, attempt, outcome)
            if outcome.succeeded or not outcome.transient or attempt >= policy.max_attempts:
                break
            delay = policy.backoff.delay(attempt - 1, self._random)
            if outcome.retry_after is not None:
                delay = max(delay, min(outcome.retry_after, policy.backoff.maximum))
            await trio.sleep(delay)
        if outcome.status == 410:
            log.warning("%s answered 410 Gone: subscription deactivated", what)
            try:
                await self._database().run(set_subscription_active, target.id, False)
            except StorageUnavailable as exc:
                log.warning("webhook %d not deactivated: %s", target.id, exc)
            self._cache = None
        if not outcome.succeeded:
            log.warning("%s: event %s not delivered after %d attempt(s): %s",
                        what, event.id, attempt, outcome.error)  # fmt: skip
        results.append(
            DeliveryResult(
                webhook_id=target.id,
                url=target.url,
                succeeded=outcome.succeeded,
                attempts=attempt,
                status=outcome.status,
                error=outcome.error,
            )
        )

    async def _log(
        self, target: _Target, event: _LoggedEvent, attempt: int, outcome: _Outcome
    ) -> None:
        try:
            await self._database().run(_insert_delivery, _log_row(target, event, attempt, outcome))
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
        updated_at=row.updated_at,
    )


def _row(session: Session, webhook_id: int) -> WebhookSubscription:
    row = subscription_row(session, webhook_id)
    if row is None:
        raise WebhookNotFound(f"webhook {webhook_id} not found", module="webhook")
    return row


def _audit(session: Session, verb: str, actor: Actor, webhook_id: int,
           details: dict[str, Any] | None = None) -> None:
    # Never the secret: a rotation is recorded as having happened, nothing more.
    record_audit(session, f"webhook.{verb}", actor, target_type="webhook",
                 target_id=webhook_id, details=details)


def _insert_subscription(
    session: Session, fields: dict[str, Any], secret: str, box: SecretBox, actor: Actor
) -> Subscription:
    def seal(webhook_id: int) -> str:
        # The id binds the encrypted secret to this row.
        return box.encrypt_text(secret, context=secret_context(webhook_id))

    row = add_subscription(session, fields, seal)
    _audit(session, "create", actor, row.id, {"url": row.url, "events": list(row.events)})
    return _subscription(row)


def _update_subscription(session: Session, webhook_id: int, fields: dict[str, Any],
                         actor: Actor) -> Subscription:
    row = _row(session, webhook_id)
    changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
    if changed:
        _audit(session, "update", actor, webhook_id,
               {name: {"from": getattr(row, name), "to": value}
                for name, value in changed.items()})
        change_subscription(session, row, changed)
    return _subscription(row)


def _replace_secret(session: Session, webhook_id: int, secret: str, box: SecretBox,
                    actor: Actor) -> None:
    row = _row(session, webhook_id)
    row.secret = box.encrypt_text(secret, context=secret_context(webhook_id))
    row.updated_at = utcnow()
    _audit(session, "rotate_secret", actor, webhook_id)


def _get_subscription(session: Session, webhook_id: int) -> Subscription:
    return _subscription(_row(session, webhook_id))


def _delete_subscription(session: Session, webhook_id: int, actor: Actor) -> bool:
    removed = delete_subscription(session, webhook_id)
    if removed:
        _audit(session, "delete", actor, webhook_id)
    return removed


def _list_subscriptions(
    session: Session, after_id: int | None, limit: int | None
) -> list[Subscription]:
    return [_subscription(row) for row in subscription_rows(session, after_id, limit)]


def _record(r: WebhookDelivery) -> DeliveryRecord:
    return DeliveryRecord(
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
        redelivery_of=r.redelivery_of,
    )


def _insert_delivery(session: Session, row: dict[str, Any]) -> DeliveryRecord:
    return _record(add_delivery(session, row))


def _list_deliveries(
    session: Session,
    webhook_id: int | None,
    event_id: str | None,
    before_id: int | None,
    limit: int,
) -> list[DeliveryRecord]:
    return [_record(r) for r in delivery_rows(session, webhook_id, event_id, before_id, limit)]


def _deliveries_of(
    session: Session, webhook_id: int, before_id: int | None, limit: int
) -> list[DeliveryRecord]:
    _row(session, webhook_id)
    return _list_deliveries(session, webhook_id, None, before_id, limit)


@attrs.frozen
class _Source:
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: dict[str, Any]


def _redelivery_source(
    session: Session, webhook_id: int, delivery_id: int
) -> tuple[_Source, int]:
    """What a redelivery sends (the logged event, the subscription's URL and secret) and its
    attempt number (one more than any logged for that event and subscription)."""
    subscription = _row(session, webhook_id)
    logged = delivery_row(session, delivery_id)
    if logged is None or logged.webhook_id != webhook_id:
        raise WebhookNotFound(f"webhook {webhook_id} has no delivery {delivery_id}",
                              module="webhook")
    last = last_attempt(session, webhook_id, logged.event_id)
    source = _Source(subscription.url, subscription.secret, logged.event_id,
                     logged.event_type, dict(logged.payload or {}))
    return source, (last or 0) + 1

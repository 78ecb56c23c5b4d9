"""Operator routes: health, readiness, Prometheus metrics, the supervision tree and dead
letters (listed for supervisors, retried or discarded by admins)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Any, Protocol

import cattrs
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from quart import Blueprint, Response, jsonify, request
from quart.typing import ResponseReturnValue

from pytake.web import _schemas as schemas
from pytake.web._auth_routes import current_principal
from pytake.web._errors import json_error
from pytake.web._openapi import documented
from pytake.web._permissions import Open, Permission, may, public, requires
from pytake.web._rest_support import int_arg, keyed_page

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytake.actors import DeadLetter
    from pytake.config import Settings
    from pytake.supervisor import TreeNode

#: Default and ceiling of ``?actor_limit=``: a node holds many thousands of actors, and a
#: tree listing them all would be a slow, huge response.
DEFAULT_ACTOR_LIMIT = 100
MAX_ACTOR_LIMIT = 10_000
#: How many of the newest dead letters the listing pages through.
MAX_DEAD_LETTERS = 1000

_converter = cattrs.Converter()


class OpsEngine(Protocol):
    """What the operator routes need from `pytake.engine.Engine`."""

    @property
    def settings(self) -> Settings: ...

    @property
    def ready(self) -> bool: ...

    @property
    def registry(self) -> CollectorRegistry: ...

    def supervision_tree(self, actor_limit: int = DEFAULT_ACTOR_LIMIT) -> TreeNode: ...

    async def dead_letters(self, limit: int, kind: str | None) -> Sequence[DeadLetter]: ...

    async def dead_letter(self, letter_id: int) -> DeadLetter | None: ...

    def holds_dead_letter(self, letter_id: int) -> bool: ...

    async def retry_dead_letter(self, letter: DeadLetter) -> None: ...

    async def discard_dead_letter(self, letter_id: int) -> bool: ...


#: What a dead letter's payload reads as for those who may not see it.
REDACTED = "[redacted: only admins see dead letters' payloads]"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _letter_json(letter: DeadLetter, held: bool) -> dict[str, Any]:
    shown: dict[str, Any] = _converter.unstructure(letter)
    shown.pop("payload", None)  # the message object itself: never sent, see "retryable"
    shown["retryable"] = held
    return shown


def _actor_limit() -> int:
    return int_arg("actor_limit", DEFAULT_ACTOR_LIMIT, MAX_ACTOR_LIMIT)


def create_ops_blueprint(engine: OpsEngine) -> Blueprint:
    """The operator routes, bound to ``engine``."""
    ops = Blueprint("ops", __name__)

    @ops.get("/healthz")
    @documented(response=schemas.STATUS)
    @public(Open.HEALTH)
    async def healthz() -> Response:
        """Liveness: the process serves HTTP. Says nothing about the engine."""
        return jsonify({"status": "ok"})

    @ops.get("/readyz")
    @documented(response=schemas.STATUS)
    @public(Open.HEALTH)
    async def readyz() -> Response:
        """Readiness: 200 once the engine runs, 503 while it starts or shuts down."""
        if engine.ready:
            return jsonify({"status": "ready"})
        return json_error(503, "not ready", {"Retry-After": "1"})

    @ops.get("/metrics")
    @documented(response={"type": "string"}, media_type=CONTENT_TYPE_LATEST, errors=(401, 403))
    @public(Open.SCRAPE)
    async def metrics() -> Response:
        """Every PyTake metric, in the Prometheus text format, for the scrape token (or, with
        none configured, for anyone while the server listens on loopback only)."""
        token = engine.settings.metrics_token
        if token:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(presented.encode(), token.encode()):
                return json_error(401, "/metrics needs the scrape token "
                                       "(Authorization: Bearer <PYTAKE_METRICS_TOKEN>)",
                                  {"WWW-Authenticate": 'Bearer realm="metrics"'})
        elif not _loopback(engine.settings.host):
            return json_error(403, "/metrics is open only on a loopback address; set "
                                   "PYTAKE_METRICS_TOKEN to scrape it from elsewhere")
        return Response(generate_latest(engine.registry), content_type=CONTENT_TYPE_LATEST)

    @ops.get("/api/v1/ops/supervision")
    @documented(query=schemas.SUPERVISION_QUERY)
    @requires(Permission.OPS_READ)
    async def supervision() -> Response:
        """The live supervision tree; ``?actor_limit=N`` caps how many actors are listed."""
        tree = engine.supervision_tree(_actor_limit())
        return jsonify(_converter.unstructure(tree))

    @ops.get("/api/v1/ops/dead-letters")
    @documented(query=schemas.DEAD_LETTERS_QUERY, response=schemas.OPS_DEAD_LETTERS)
    @requires(Permission.OPS_READ)
    async def dead_letters() -> Response:
        """Poison messages, newest first, with error and traceback; their payloads (raw
        webhook bodies: customers' numbers and words) only for admins.

        ``?kind=`` filters them; ``?limit=N`` (default 100) and ``?cursor=`` page them."""
        # Paged over the newest MAX_DEAD_LETTERS: the store lists newest first, no keyset yet.
        letters = await engine.dead_letters(MAX_DEAD_LETTERS, request.args.get("kind") or None)
        page, next_cursor = keyed_page(letters, lambda d: (d.at, d.kind, d.id), descending=True)
        shown = [_letter_json(d, engine.holds_dead_letter(d.letter_id)) for d in page]
        if not may(current_principal(), Permission.DEAD_LETTER_PAYLOADS):
            for letter in shown:
                letter["message"] = REDACTED
        return jsonify({"dead_letters": shown, "next_cursor": next_cursor})

    @ops.post("/api/v1/ops/dead-letters/<int:letter_id>/retry")
    @documented(response=schemas.OPS_RETRIED, errors=(409,))
    @requires(Permission.DEAD_LETTERS_MANAGE)
    async def retry_dead_letter(letter_id: int) -> Response:
        """Deliver the dead letter's message to its actor again (through the journal when
        its type is journaled), then remove the letter.  409 when this process does not hold
        the message (it restarted since, the letter is among the older ones, or the webhook
        inbox set it aside)."""
        letter = await engine.dead_letter(letter_id)
        if letter is None:
            return json_error(404, f"no dead letter {letter_id}")
        if letter.payload is None:
            return json_error(409, f"dead letter {letter_id}'s message is not held in memory "
                                   "(set aside before the server last started, or by the "
                                   "webhook inbox, not an actor): discard it instead")
        await engine.retry_dead_letter(letter)
        return jsonify({"retried": _letter_json(letter, False)})

    @ops.delete("/api/v1/ops/dead-letters/<int:letter_id>")
    @documented(status=204)
    @requires(Permission.DEAD_LETTERS_MANAGE)
    async def discard_dead_letter(letter_id: int) -> ResponseReturnValue:
        """Forget the dead letter for good."""
        if not await engine.discard_dead_letter(letter_id):
            return json_error(404, f"no dead letter {letter_id}")
        return "", 204

    return ops

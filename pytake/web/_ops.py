"""Operator routes: health, readiness, Prometheus metrics and the supervision tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import cattrs
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from quart import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest

from pytake.web._errors import json_error

if TYPE_CHECKING:
    from pytake.supervisor._tree import TreeNode

#: Default and ceiling of ``?actor_limit=``: a node holds many thousands of actors, and a
#: tree listing them all would be a slow, huge response.
DEFAULT_ACTOR_LIMIT = 100
MAX_ACTOR_LIMIT = 10_000

_converter = cattrs.Converter()


class OpsEngine(Protocol):
    """What the operator routes need from `pytake.engine.Engine`."""

    @property
    def ready(self) -> bool: ...

    @property
    def registry(self) -> CollectorRegistry: ...

    def supervision_tree(self, actor_limit: int = DEFAULT_ACTOR_LIMIT) -> TreeNode: ...


def _actor_limit() -> int:
    raw = request.args.get("actor_limit")
    if raw is None:
        return DEFAULT_ACTOR_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"actor_limit must be an integer, got {raw!r}") from None
    if not 0 <= limit <= MAX_ACTOR_LIMIT:
        raise BadRequest(f"actor_limit must be between 0 and {MAX_ACTOR_LIMIT}, got {limit}")
    return limit


def create_ops_blueprint(engine: OpsEngine) -> Blueprint:
    """The operator routes, bound to ``engine``."""
    ops = Blueprint("ops", __name__)

    @ops.get("/healthz")
    async def healthz() -> Response:
        """Liveness: the process serves HTTP. Says nothing about the engine."""
        return jsonify({"status": "ok"})

    @ops.get("/readyz")
    async def readyz() -> Response:
        """Readiness: 200 once the engine runs, 503 while it starts or shuts down."""
        if engine.ready:
            return jsonify({"status": "ready"})
        return json_error(503, "not ready", {"Retry-After": "1"})

    @ops.get("/metrics")
    async def metrics() -> Response:
        """Every PyTake metric, in the Prometheus text format."""
        return Response(generate_latest(engine.registry), content_type=CONTENT_TYPE_LATEST)

    @ops.get("/api/v1/ops/supervision")
    async def supervision() -> Response:
        """The live supervision tree; ``?actor_limit=N`` caps how many actors are listed."""
        tree = engine.supervision_tree(_actor_limit())
        return jsonify(_converter.unstructure(tree))

    return ops

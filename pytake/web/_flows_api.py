"""Flows over REST: drafts, validation, publishing, rollback, the simulator and the metrics.

Routes (bodies and answers are JSON; ``docs/rest-api.md`` has the shapes):

- ``GET  /api/v1/flows``                              admin, supervisor
- ``GET  /api/v1/flows/<name>``                       admin, supervisor (its versions)
- ``GET  /api/v1/flows/<name>/versions/<version>``    admin, supervisor (the document)
- ``POST /api/v1/flows``                              admin: a document → a new draft (201)
- ``PUT  /api/v1/flows/<name>/draft``                 admin: replace the latest draft
- ``POST /api/v1/flows/validate``                     admin, supervisor
- ``GET  /api/v1/flow-schema``                        admin, supervisor (the JSON Schema)
- ``POST /api/v1/flows/<name>/publish``               admin; ``{"version", "share"}`` optional
- ``POST /api/v1/flows/<name>/rollback``              admin
- ``POST /api/v1/flows/simulate``                     admin, supervisor (``live_modules``: admin)
- ``GET  /api/v1/flows/<name>/metrics``               admin, supervisor

Validation is `pytake.flows.validate` against the installed modules (``node_types()``, with
``require_known_modules``), so what the API accepts is what the engine can run.  Refusals
answer ``{"error": reason, "code": code}``: 400 ``invalid``, 404 ``not_found``, 409
``conflict``, 422 ``invalid_flow`` (with ``problems``, every one of them); 401 and 403 come
from the auth blueprint.  The store's rules (one published version per flow, drafts,
rollback by switching statuses) are in `pytake.flowrun._versions`; the metrics' definitions in
`pytake.flowrun._metrics`; the simulator in `pytake.flowrun._simulate`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy.exc as sa_exc
import trio
from quart import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest

from pytake.flowrun import (
    BadSimulation,
    CallModule,
    FlowConflict,
    FlowLibrary,
    FlowNotFound,
    flow_detail,
    flow_metrics,
    list_flows,
    parse_messages,
    parse_stubs,
    publish_version,
    rollback,
    save_draft,
    share_version,
    simulate,
    version_document,
)
from pytake.flows import ID_PATTERN, Flow, InvalidFlow, Problem, flow_schema, load_flow, validate
from pytake.identity import Forbidden
from pytake.store import Database, UserRole
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import current_principal
from pytake.web._openapi import PAGE_QUERY, documented
from pytake.web._permissions import Permission, requires
from pytake.web._ratelimit import client_address
from pytake.web._rest_support import keyed_page, read_json_object, str_arg

__all__ = ["create_flows_blueprint"]

log = logging.getLogger("pytake.web")

#: Largest flow document (or simulation) body the routes read.
MAX_BODY: Final = 1024 * 1024
#: Longest a simulation may run (live module calls included).
SIMULATION_SECONDS: Final = 60.0
#: The metrics' window when ``since`` is not given.
DEFAULT_METRICS_DAYS: Final = 30
_SIMULATE_FIELDS: Final = frozenset({
    "document", "flow", "version", "messages", "stubs", "live_modules", "customer",
    "window_open", "closed_teams",
})


def _refuse(status: int, code: str, reason: str, **extra: Any) -> Response:
    response = jsonify({"error": reason, "code": code, **extra})
    response.status_code = status
    return response


def _problems_json(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message, "code": p.code} for p in problems]


def _invalid(problems: list[Problem], what: str = "the flow") -> Response:
    count = len(problems)
    return _refuse(422, "invalid_flow", f"{what} has {count} problem{'s' * (count != 1)}",
                   problems=_problems_json(problems))


def _version_arg(body: dict[str, Any], name: str = "version") -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"{name} must be a positive integer, got {value!r}")
    return value


def _time_arg(name: str, default: datetime) -> datetime:
    raw = str_arg(name)
    if raw is None:
        return default
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 time, got {raw!r}") from None
    if value.tzinfo is None:
        raise BadRequest(f"{name} needs a UTC offset (2026-03-01T12:00:00+00:00)")
    return value.astimezone(UTC)


def create_flows_blueprint(
    db: Database,
    library: FlowLibrary,
    node_types: Callable[[], Any],
    module_calls: Any | None = None,
) -> Blueprint:
    """The ``/api/v1/flows`` routes over ``db``; subflows of simulations come from
    ``library``, ``node_types()`` are the installed modules' node types, and
    ``module_calls`` (`pytake.flowrun.ModuleCalls`) answers a simulation's module
    calls when it asks for ``live_modules``.  Needs the auth blueprint."""
    bp = Blueprint("flows_api", __name__)

    def check(document: dict[str, Any], types: Any) -> list[Problem]:
        return validate(document, node_types=types, require_known_modules=True)

    async def problems_of(document: dict[str, Any]) -> list[Problem]:
        # A big document takes a while to check: off the event loop.
        return await trio.to_thread.run_sync(check, document, node_types())

    def who() -> tuple[int, str | None]:
        return current_principal().user_id, client_address()

    # --- reading -----------------------------------------------------------------------------

    # Not under /api/v1/flows/: "schema" is a valid flow id there.
    @bp.get("/api/v1/flow-schema")
    @documented(response=schemas.OBJECT)
    @requires(Permission.FLOWS_READ)
    async def get_schema() -> Response:
        """The flow format's JSON Schema, which editors and the flow builder's forms use."""
        return jsonify(flow_schema())

    @bp.get("/api/v1/flows")
    @documented(query=PAGE_QUERY, response=schemas.FLOWS)
    @requires(Permission.FLOWS_READ)
    async def get_flows() -> Response:
        """Every flow with its published and latest draft version, by name."""
        flows, next_cursor = keyed_page(await db.run(list_flows, readonly=True),
                                        lambda f: (f["name"],))
        return jsonify({"flows": flows, "next_cursor": next_cursor})

    @bp.get("/api/v1/flows/<name>")
    @documented(response=schemas.FLOW_DETAIL, path={"name": schemas.FLOW_NAME})
    @requires(Permission.FLOWS_READ)
    async def get_flow(name: str) -> Response:
        """One flow and its versions (without documents)."""
        try:
            return jsonify(await db.run(flow_detail, name, readonly=True))
        except FlowNotFound as exc:
            return _refuse(404, "not_found", str(exc))

    @bp.get("/api/v1/flows/<name>/versions/<int:version>")
    @documented(response=schemas.FLOW_VERSION_DOCUMENT, path={"name": schemas.FLOW_NAME})
    @requires(Permission.FLOWS_READ)
    async def get_version(name: str, version: int) -> Response:
        """One version with its document."""
        try:
            return jsonify(await db.run(version_document, name, version, readonly=True))
        except FlowNotFound as exc:
            return _refuse(404, "not_found", str(exc))

    # --- drafts ------------------------------------------------------------------------------

    async def store(document: dict[str, Any], *, replace: bool) -> Response:
        problems = await problems_of(document)
        name = document.get("id")
        if not isinstance(name, str) or not ID_PATTERN.match(name):
            return _refuse(422, "invalid_flow", "a draft is stored under its id: 1 to 64 "
                           "letters, digits, _ or -", problems=_problems_json(problems))
        user_id, ip = who()
        try:
            saved = await db.run(lambda session: save_draft(
                session, document, replace=replace, user_id=user_id, ip=ip))
        except sa_exc.IntegrityError:
            return _refuse(409, "conflict", "the flow changed at the same time; try again")
        created = saved.pop("created")
        response = jsonify({**saved, "valid": not problems,
                            "problems": _problems_json(problems)})
        response.status_code = 201 if created else 200
        return response

    @bp.post("/api/v1/flows")
    @documented(request=schemas.FLOW_DOCUMENT, response=schemas.DRAFT, status=201, also=(200,))
    @requires(Permission.FLOWS_WRITE)
    async def create_draft() -> Response:
        """Store the body, a flow document, as a new draft version (201), invalid or not."""
        return await store(await read_json_object(MAX_BODY), replace=False)

    @bp.put("/api/v1/flows/<name>/draft")
    @documented(request=schemas.FLOW_DOCUMENT, response=schemas.DRAFT, also=(201,),
                path={"name": schemas.FLOW_NAME})
    @requires(Permission.FLOWS_WRITE)
    async def replace_draft(name: str) -> Response:
        """Replace the latest draft of ``name`` (201 when a draft had to be created)."""
        document = await read_json_object(MAX_BODY)
        document.setdefault("id", name)
        if document["id"] != name:
            return _refuse(400, "invalid",
                           f"the document's id is {document['id']!r}, not {name!r}")
        return await store(document, replace=True)

    @bp.post("/api/v1/flows/validate")
    @documented(request=schemas.FLOW_DOCUMENT, response=schemas.VALIDATION)
    @requires(Permission.FLOWS_READ)
    async def validate_document() -> Response:
        """Every problem of the body, a flow document, as publishing would find them."""
        problems = await problems_of(await read_json_object(MAX_BODY))
        return jsonify({"valid": not problems, "problems": _problems_json(problems)})

    # --- publishing --------------------------------------------------------------------------

    async def switch(action: Any, name: str, *args: Any) -> Response:
        types = node_types()
        user_id, ip = who()
        try:
            result = await db.run(lambda session: action(
                session, name, *args, lambda d: check(d, types), user_id=user_id, ip=ip))
        except FlowNotFound as exc:
            return _refuse(404, "not_found", str(exc))
        except FlowConflict as exc:
            return _refuse(409, "conflict", str(exc))
        except InvalidFlow as exc:
            return _invalid(exc.problems, f"flow {name!r}")
        except sa_exc.IntegrityError:
            return _refuse(409, "conflict", "the flow changed at the same time; try again")
        log.info("flow %s: version %s %s (%s archived) by user %s", name, result["version"],
                 result["status"], result["archived"], user_id)
        return jsonify(result)

    @bp.post("/api/v1/flows/<name>/publish")
    @documented(request=schemas.PUBLISH, request_required=False, response=schemas.PUBLISHED,
                path={"name": schemas.FLOW_NAME})
    @requires(Permission.FLOWS_WRITE)
    async def publish(name: str) -> Response:
        """Validate and publish a version (default: the latest draft); 422 with every
        problem when it is not valid.  With ``share`` (between 0 and 1) the version goes
        live beside the published one for that share of the conversations that start it."""
        body = await read_json_object(MAX_BODY) if await request.get_data() else {}
        unknown = set(body) - {"version", "share"}
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        share = body.get("share")
        if share is None:
            return await switch(publish_version, name, _version_arg(body))
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 1:
            raise BadRequest(f"share must be a number between 0 and 1 (both excluded), "
                             f"got {share!r}")
        return await switch(share_version, name, _version_arg(body), float(share))

    @bp.post("/api/v1/flows/<name>/rollback")
    @documented(response=schemas.PUBLISHED, path={"name": schemas.FLOW_NAME})
    @requires(Permission.FLOWS_WRITE)
    async def roll_back(name: str) -> Response:
        """Publish again the version published before the current one."""
        return await switch(rollback, name)

    # --- simulating --------------------------------------------------------------------------

    async def load(name: str, version: int | None) -> Flow | None:
        stored = await library.load(name, version)
        return None if stored is None else stored.flow

    async def flow_to_simulate(body: dict[str, Any]) -> Flow | Response:
        document, name = body.get("document"), body.get("flow")
        version = _version_arg(body)
        if (document is None) == (name is None):
            raise BadRequest("give either document (a flow document) or flow (a flow name)")
        if document is not None:
            if not isinstance(document, dict):
                raise BadRequest("document must be a flow document (a JSON object)")
            if version is not None:
                raise BadRequest("version goes with flow, not with document")
        elif not isinstance(name, str) or not name:
            raise BadRequest("flow must be a flow name")
        elif version is None:
            stored = await library.load(name)
            if stored is None:
                return _refuse(404, "not_found", f"flow {name!r} has no published version "
                                                 "that runs")
            return stored.flow
        else:
            # Read the version itself (drafts change; the library caches what does not).
            try:
                found = await db.run(version_document, name, version, readonly=True)
            except FlowNotFound as exc:
                return _refuse(404, "not_found", str(exc))
            document = found["document"]
        try:
            # Modules need not be installed here: stubs answer for them.
            return load_flow(document, node_types=node_types())
        except InvalidFlow as exc:
            return _invalid(exc.problems)

    @bp.post("/api/v1/flows/simulate")
    @documented(request=schemas.SIMULATION, response=schemas.TRANSCRIPT, errors=(404, 504))
    @requires(Permission.FLOWS_READ)
    async def simulate_flow() -> Response:
        """Play customer messages to a flow with recording ports; answer the transcript."""
        body = await read_json_object(MAX_BODY)
        unknown = set(body) - _SIMULATE_FIELDS
        if unknown:
            raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        live = body.get("live_modules", False)
        customer = body.get("customer", {})
        window_open = body.get("window_open", True)
        closed_teams = body.get("closed_teams", [])
        if not isinstance(live, bool) or not isinstance(window_open, bool):
            raise BadRequest("live_modules and window_open must be booleans")
        if not isinstance(customer, dict):
            raise BadRequest("customer must be an object ({\"name\", \"attributes\"})")
        if not isinstance(closed_teams, list) or not all(
                isinstance(t, str) for t in closed_teams):
            raise BadRequest("closed_teams must be a list of team names")
        if live and current_principal().role != UserRole.ADMIN:
            raise Forbidden("live_modules calls the real modules; it needs role admin")
        if live and module_calls is None:
            return _refuse(409, "conflict", "no module runner is configured")
        try:
            messages = parse_messages(body.get("messages", []))
            stubs = parse_stubs(body.get("stubs", {}))
        except BadSimulation as exc:
            raise BadRequest(str(exc)) from None
        flow = await flow_to_simulate(body)
        if isinstance(flow, Response):
            return flow
        calls: CallModule | None = module_calls if live else None
        with trio.move_on_after(SIMULATION_SECONDS):
            transcript = await simulate(
                flow, messages, load=load, stubs=stubs, module_calls=calls,
                customer=customer, window_open=window_open, closed_teams=closed_teams,
            )
            return jsonify(transcript.to_json())
        return _refuse(504, "timeout", f"the simulation took longer than "
                                       f"{SIMULATION_SECONDS:g} s")

    # --- metrics -----------------------------------------------------------------------------

    @bp.get("/api/v1/flows/<name>/metrics")
    @documented(query=schemas.FLOW_METRICS_QUERY, path={"name": schemas.FLOW_NAME})
    @requires(Permission.FLOWS_READ)
    async def metrics(name: str) -> Response:
        """Runs, resolution, hand-off and drop-off rates, and per node steps, drop-offs and
        time, from ``flow_executions``; ``since``/``until`` (ISO 8601), ``version``."""
        until = _time_arg("until", datetime.now(UTC))
        since = _time_arg("since", until - timedelta(days=DEFAULT_METRICS_DAYS))
        if since >= until:
            raise BadRequest("since must be before until")
        raw = str_arg("version")
        version = None
        if raw is not None:
            if not raw.isdigit() or int(raw) < 1:
                raise BadRequest(f"version must be a positive integer, got {raw!r}")
            version = int(raw)
        try:
            result = await db.run(lambda session: flow_metrics(
                session, name, since=since, until=until, version=version), readonly=True)
        except FlowNotFound as exc:
            return _refuse(404, "not_found", str(exc))
        return jsonify(result)

    return bp

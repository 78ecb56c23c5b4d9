"""Canned responses over REST: each team's prepared replies, for the agents' desk.

- ``GET    /api/v1/canned-responses``         the caller's teams' responses (every team's for
  supervisors and admins), by shortcut; ``?team=<id>``, ``?shortcut=<prefix>``,
  ``?limit=``, ``?cursor=``
- ``POST   /api/v1/canned-responses``         supervisors and admins
- ``GET    /api/v1/canned-responses/<id>``    as the listing: an agent sees its teams' only
- ``PATCH  /api/v1/canned-responses/<id>``    supervisors and admins
- ``DELETE /api/v1/canned-responses/<id>``    supervisors and admins

The rules and the storage are `pytake.queues`' (`canned_fields`, `CannedResponseRepository`);
this module reads the request, answers their refusals as 422 (naming the field), 404 or 409
problem documents, and renders the rows as JSON.
"""

from __future__ import annotations

from typing import Any, Final

from quart import Blueprint, Response, jsonify
from quart.typing import ResponseReturnValue

from pytake.queues import (
    CannedFilter,
    CannedResponseConflict,
    CannedResponseNotFound,
    CannedResponseRepository,
    InvalidCannedResponse,
    canned_fields,
)
from pytake.store import CannedResponse, Database
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import acting, current_principal
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._page_cursor import decode_cursor, encode_cursor
from pytake.web._permissions import Permission, may, requires
from pytake.web._rest_support import int_arg, iso, optional_id_arg, read_json_object, str_arg

__all__ = ["create_canned_blueprint"]

#: A response's text is at most 4096 characters; the body has room for JSON escapes.
MAX_BODY_BYTES: Final = 32 * 1024
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 500


def _canned_json(row: CannedResponse) -> dict[str, Any]:
    return {
        "id": row.id,
        "team_id": row.team_id,
        "shortcut": row.shortcut,
        "title": row.title,
        "text": row.text,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def create_canned_blueprint(db: Database) -> Blueprint:
    """The ``/api/v1/canned-responses`` routes over ``db``. Needs the auth blueprint."""
    bp = Blueprint("canned_api", __name__)
    canned = CannedResponseRepository(db)

    @bp.errorhandler(InvalidCannedResponse)
    async def invalid(exc: InvalidCannedResponse) -> Response:
        return problem(422, str(exc), code="invalid", field=exc.field)

    @bp.errorhandler(CannedResponseNotFound)
    async def not_found(exc: CannedResponseNotFound) -> Response:
        return problem(404, str(exc))

    @bp.errorhandler(CannedResponseConflict)
    async def conflict(exc: CannedResponseConflict) -> Response:
        return problem(409, str(exc), code="shortcut_taken", field="shortcut")

    def viewer() -> int | None:
        """The user whose teams bound what is shown: agents see their own teams' only."""
        principal = current_principal()
        return None if may(principal, Permission.CANNED_MANAGE) else principal.user_id

    @bp.get("/api/v1/canned-responses")
    @documented(query=schemas.CANNED_QUERY, response=schemas.CANNED_RESPONSES)
    @requires(Permission.CANNED_READ)
    async def list_canned() -> Response:
        prefix = str_arg("shortcut")
        f = CannedFilter(
            viewer=viewer(),
            team_id=optional_id_arg("team"),
            prefix=prefix.removeprefix("/") if prefix else None,
        )
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        cursor = str_arg("cursor")
        after: Any = decode_cursor(cursor, (str, int)) if cursor else None
        rows, following = await canned.page(f, after, limit)
        return jsonify({
            "canned_responses": [_canned_json(r) for r in rows],
            "next_cursor": encode_cursor(*following) if following else None,
        })

    @bp.post("/api/v1/canned-responses")
    @documented(request=schemas.CANNED_CREATE, response=schemas.CANNED, status=201)
    @requires(Permission.CANNED_MANAGE)
    async def create_canned() -> ResponseReturnValue:
        fields = canned_fields(await read_json_object(MAX_BODY_BYTES), creating=True)
        row = await canned.create(fields, acting())
        return jsonify(_canned_json(row)), 201, {"Location": f"/api/v1/canned-responses/{row.id}"}

    @bp.get("/api/v1/canned-responses/<int:response_id>")
    @documented(response=schemas.CANNED)
    @requires(Permission.CANNED_READ)
    async def get_canned(response_id: int) -> Response:
        return jsonify(_canned_json(await canned.get(response_id, viewer())))

    @bp.patch("/api/v1/canned-responses/<int:response_id>")
    @documented(request=schemas.CANNED_UPDATE, response=schemas.CANNED)
    @requires(Permission.CANNED_MANAGE)
    async def update_canned(response_id: int) -> Response:
        fields = canned_fields(await read_json_object(MAX_BODY_BYTES), creating=False)
        return jsonify(_canned_json(await canned.update(response_id, fields, acting())))

    @bp.delete("/api/v1/canned-responses/<int:response_id>")
    @documented(status=204)
    @requires(Permission.CANNED_MANAGE)
    async def delete_canned(response_id: int) -> ResponseReturnValue:
        await canned.delete(response_id, acting())
        return "", 204

    return bp

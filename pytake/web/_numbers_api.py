"""Business numbers over REST (``numbers:manage``: administrators).

- ``GET    /api/v1/numbers``                           the numbers, a page at a time
- ``POST   /api/v1/numbers``                           add one (201)
- ``GET    /api/v1/numbers/<phone_number_id>``         one
- ``PATCH  /api/v1/numbers/<phone_number_id>``         change its WABA, name, token, pause
- ``POST   /api/v1/numbers/<phone_number_id>/pause``   its webhooks are acknowledged, ignored
- ``POST   /api/v1/numbers/<phone_number_id>/resume``  and processed again
- ``DELETE /api/v1/numbers/<phone_number_id>``         remove it (204)

A number's access token goes in (``access_token``) and never comes out: answers say
``has_token``.  Every change is read back by this node's `pytake.messaging.NumberBook` before
the answer (the next message uses it) and by the other nodes within a few seconds.  The rules
and the storage are `pytake.messaging`'s; this module reads the request, answers refusals
(422 naming the field, 404, 409) and renders the records.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from quart import Blueprint, Response, jsonify, request
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from pytake.messaging import (
    InvalidNumber,
    NumberBook,
    NumberConflict,
    NumberNotFound,
    NumberRecord,
    number_fields,
)
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import acting
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import int_arg, iso, read_json_object

__all__ = ["create_numbers_blueprint"]

log = logging.getLogger("pytake.web.numbers")

MAX_BODY_BYTES: Final = 16 * 1024
PAGE: Final = 100


def _number_json(record: NumberRecord) -> dict[str, Any]:
    return {
        "phone_number_id": record.phone_number_id,
        "waba_id": record.waba_id,
        "display_name": record.display_name,
        "has_token": record.has_token,
        "paused": record.paused,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }


def create_numbers_blueprint(book: NumberBook) -> Blueprint:
    """The business number routes over ``book`` (its repository stores, it applies)."""
    bp = Blueprint("numbers_api", __name__)
    numbers = book.repository

    @bp.errorhandler(InvalidNumber)
    async def invalid(exc: InvalidNumber) -> Response:
        return problem(422, str(exc), code="invalid", field=exc.field)

    @bp.errorhandler(NumberNotFound)
    async def not_found(exc: NumberNotFound) -> Response:
        return problem(404, str(exc))

    @bp.errorhandler(NumberConflict)
    async def conflict(exc: NumberConflict) -> Response:
        return problem(409, str(exc))

    async def reread() -> None:
        try:
            await book.refresh()
        except Exception:
            # Committed: the periodic read applies it within seconds; the client must not
            # repeat the change.
            log.exception("business numbers changed, but not re-read at once")

    async def applied(record: NumberRecord) -> Response:
        await reread()
        return jsonify(_number_json(record))

    @bp.get("/api/v1/numbers")
    @documented(query=schemas.NUMBERS_QUERY, response=schemas.NUMBERS)
    @requires(Permission.NUMBERS_MANAGE)
    async def list_numbers() -> Response:
        """Numbers in the order they were added; ``next_cursor`` names the next page."""
        limit = int_arg("limit", PAGE, PAGE, minimum=1)
        cursor = request.args.get("cursor") or "0"
        if not cursor.isdigit() or len(cursor) > 18:
            raise BadRequest("cursor is not a cursor this API handed out")
        page = await numbers.page(int(cursor), limit + 1)
        more = len(page) > limit
        page = page[:limit]
        return jsonify({"numbers": [_number_json(n) for n in page],
                        "next_cursor": str(page[-1].id) if more else None})

    @bp.post("/api/v1/numbers")
    @documented(request=schemas.NUMBER_CREATE, response=schemas.NUMBER, status=201)
    @requires(Permission.NUMBERS_MANAGE)
    async def add_number() -> ResponseReturnValue:
        fields = number_fields(await read_json_object(MAX_BODY_BYTES), partial=False)
        response = await applied(await numbers.add(fields, acting()))
        number = fields["phone_number_id"]
        return response, 201, {"Location": f"/api/v1/numbers/{number}"}

    @bp.get("/api/v1/numbers/<phone_number_id>")
    @documented(path=schemas.NUMBER_PATH, response=schemas.NUMBER)
    @requires(Permission.NUMBERS_MANAGE)
    async def get_number(phone_number_id: str) -> Response:
        return jsonify(_number_json(await numbers.get(phone_number_id)))

    @bp.patch("/api/v1/numbers/<phone_number_id>")
    @documented(path=schemas.NUMBER_PATH, request=schemas.NUMBER_UPDATE,
                response=schemas.NUMBER)
    @requires(Permission.NUMBERS_MANAGE)
    async def update_number(phone_number_id: str) -> Response:
        fields = number_fields(await read_json_object(MAX_BODY_BYTES), partial=True)
        return await applied(await numbers.update(phone_number_id, fields, acting()))

    @bp.post("/api/v1/numbers/<phone_number_id>/pause")
    @documented(path=schemas.NUMBER_PATH, response=schemas.NUMBER)
    @requires(Permission.NUMBERS_MANAGE)
    async def pause_number(phone_number_id: str) -> Response:
        return await applied(await numbers.update(phone_number_id, {"paused": True}, acting()))

    @bp.post("/api/v1/numbers/<phone_number_id>/resume")
    @documented(path=schemas.NUMBER_PATH, response=schemas.NUMBER)
    @requires(Permission.NUMBERS_MANAGE)
    async def resume_number(phone_number_id: str) -> Response:
        return await applied(await numbers.update(phone_number_id, {"paused": False}, acting()))

    @bp.delete("/api/v1/numbers/<phone_number_id>")
    @documented(path=schemas.NUMBER_PATH, status=204)
    @requires(Permission.NUMBERS_MANAGE)
    async def remove_number(phone_number_id: str) -> ResponseReturnValue:
        await numbers.remove(phone_number_id, acting())
        await reread()
        return "", 204

    return bp

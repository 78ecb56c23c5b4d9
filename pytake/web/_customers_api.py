"""Customers' rights (LGPD) over REST (``customers:manage``: administrators).

- ``GET  /api/v1/customers?q=``                 look customers up by phone, BSUID or name
- ``GET  /api/v1/customers/<id>/export``        everything held about one: a zip
                                                (``customer.json`` and ``media/``)
- ``POST /api/v1/customers/<id>/anonymise``     replace their personal data, keep the
                                                conversations for the aggregates
- ``POST /api/v1/customers/<id>/erase``         remove every trace of them
- ``GET  /api/v1/data-requests``, ``/<id>``     the requests and their proof reports

Each export, anonymisation and erasure is a data request with a proof report (counts, no
personal data) and an audit row; `pytake.privacy.PrivacyService` carries them out
(docs/privacy.md).  An unknown customer is a 404 problem document; erasing one erased before
answers that erasure's request (200, ``already_erased``).  A request that could not finish
answers a problem document naming it and its state (``failed``, or ``running`` when it will
be resumed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import trio
from quart import Blueprint, Response, jsonify
from werkzeug.exceptions import BadRequest

from pytake.privacy import (
    CustomerMatch,
    CustomerNotFound,
    DataRequestFailed,
    DataRequestNotFound,
    PrivacyService,
    RequestRow,
)
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import acting
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import MAX_ID, int_arg, iso, optional_id_arg, str_arg

__all__ = ["create_customers_blueprint", "data_request_json"]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
_CHUNK: Final = 256 * 1024


def _customer_json(c: CustomerMatch) -> dict[str, Any]:
    return {
        "id": c.id, "business_phone_number_id": c.business_phone_number_id, "name": c.name,
        "phone": c.phone, "wa_id": c.wa_id, "bsuid": c.bsuid, "created_at": iso(c.created_at),
        "anonymized_at": iso(c.anonymized_at), "conversations": c.conversations,
        "last_activity_at": iso(c.last_activity_at),
    }


def data_request_json(r: RequestRow) -> dict[str, Any]:
    """A data request as the API shows it."""
    return r.as_json()


def _before() -> int | None:
    """The ``cursor`` query argument: the id the previous page ended at."""
    raw = str_arg("cursor")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise BadRequest("cursor is not a cursor this API handed out")
    return int(raw)


def _page(key: str, items: list[Any], limit: int, render: Any) -> Response:
    more = len(items) > limit
    items = items[:limit]
    return jsonify({key: [render(i) for i in items],
                    "next_cursor": str(items[-1].id) if more else None})


async def _file_then_gone(path: Path) -> AsyncIterator[bytes]:
    """The archive's bytes, then the archive deleted (it holds the customer's data)."""
    try:
        async with await trio.open_file(path, "rb") as f:
            while chunk := await f.read(_CHUNK):
                yield chunk
    finally:
        with trio.CancelScope(shield=True):
            await trio.Path(str(path)).unlink(missing_ok=True)


def create_customers_blueprint(privacy: PrivacyService) -> Blueprint:
    bp = Blueprint("customers_api", __name__)

    @bp.errorhandler(CustomerNotFound)
    async def not_found(exc: CustomerNotFound) -> Response:
        return problem(404, str(exc), code="customer_not_found")

    @bp.errorhandler(DataRequestNotFound)
    async def no_request(exc: DataRequestNotFound) -> Response:
        return problem(404, str(exc), code="data_request_not_found")

    @bp.errorhandler(DataRequestFailed)
    async def failed(exc: DataRequestFailed) -> Response:
        # Left running: storage is away, and the request resumes; failed: run it again.
        status = 503 if exc.state == "running" else 500
        headers = {"Retry-After": "30"} if status == 503 else None
        return problem(status, str(exc), code="data_request_failed", headers=headers,
                       request_id=exc.request_id, state=exc.state)

    @bp.get("/api/v1/customers")
    @documented(query=schemas.CUSTOMERS_QUERY, response=schemas.CUSTOMERS)
    @requires(Permission.CUSTOMERS_MANAGE)
    async def find_customers() -> Response:
        """Customers whose phone number or wa_id holds the digits of ``q``, whose BSUID is
        ``q``, or whose name holds ``q``; newest first. The lookup is audited (how many
        were found, not what was asked)."""
        q = str_arg("q")
        if q is None:
            raise BadRequest("q is required: a phone number, a BSUID or part of a name")
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        found = await privacy.find(q, before=_before(), limit=limit + 1, actor=acting())
        return _page("customers", found, limit, _customer_json)

    @bp.get("/api/v1/customers/<int:customer_id>/export")
    @documented(response=schemas.CUSTOMER_EXPORT, media_type="application/zip",
                errors=(500,))
    @requires(Permission.CUSTOMERS_MANAGE)
    async def export_customer(customer_id: int) -> Response:
        """Everything held about the customer, as one zip: ``customer.json`` (the customer,
        their conversations with messages, events and what flows collected, the raw webhook
        bodies and outbound requests about them) and ``media/`` (their files). Recorded as a
        data request with its report, and audited."""
        export = await privacy.export(customer_id, actor=acting())
        response = Response(_file_then_gone(export.path), mimetype="application/zip")
        response.headers["Content-Length"] = str(export.size)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="customer-{customer_id}.zip"')
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Data-Request"] = str(export.request.id)
        return response

    @bp.post("/api/v1/customers/<int:customer_id>/anonymise")
    @documented(response=schemas.DATA_REQUEST_DONE, errors=(500,),
                request_required=False)
    @requires(Permission.CUSTOMERS_MANAGE)
    async def anonymise_customer(customer_id: int) -> Response:
        """Replace the customer's personal data (phone, ids, name, attributes, what they and
        agents wrote, what flows collected, their files and raw copies) and end a live
        conversation; their conversations stay, with their events, for the metrics. Answers
        the data request with its proof report."""
        done = await privacy.anonymise(customer_id, actor=acting())
        return jsonify({"request": data_request_json(done)})

    @bp.post("/api/v1/customers/<int:customer_id>/erase")
    @documented(response=schemas.DATA_REQUEST_DONE, errors=(500,),
                request_required=False)
    @requires(Permission.CUSTOMERS_MANAGE)
    async def erase_customer(customer_id: int) -> Response:
        """Remove every trace of the customer (database, Redis, media files), ending a live
        conversation (its agent is told); subscribers get ``customer.erased``. Answers the
        data request with its proof report; a customer erased before answers that request
        with ``already_erased``."""
        done, already = await privacy.erase(customer_id, actor=acting())
        return jsonify({"request": data_request_json(done), "already_erased": already})

    @bp.get("/api/v1/data-requests")
    @documented(query=schemas.DATA_REQUESTS_QUERY, response=schemas.DATA_REQUESTS)
    @requires(Permission.CUSTOMERS_MANAGE)
    async def list_data_requests() -> Response:
        """Exports, anonymisations and erasures, newest first, with their proof reports."""
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        found = await privacy.requests(before=_before(), limit=limit + 1,
                                       customer_id=optional_id_arg("customer"))
        return _page("data_requests", found, limit, data_request_json)

    @bp.get("/api/v1/data-requests/<int:request_id>")
    @documented(response=schemas.DATA_REQUEST)
    @requires(Permission.CUSTOMERS_MANAGE)
    async def get_data_request(request_id: int) -> Response:
        """One data request and its proof report."""
        return jsonify(data_request_json(await privacy.request(request_id)))

    return bp

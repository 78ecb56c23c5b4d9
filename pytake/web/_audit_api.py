"""The audit log over REST (``audit:read``: administrators).

- ``GET /api/v1/audit``  rows newest first; filters ``user`` (id), ``action`` (exact, or a
  prefix ending in ``*``), ``target_type``, ``target_id``, ``since``/``until`` (ISO 8601);
  ``limit`` (≤ 500) and ``cursor``; ``format=jsonl`` or ``format=csv`` exports every
  matching row (at most `MAX_EXPORT`) as a download instead of one page.

The rows are `pytake.store.AuditLog`'s, chained by hash (``pytake audit verify`` checks the
chain; docs/privacy.md).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

from quart import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest

from pytake.store import AuditFilter, AuditLog, Database, audit_page
from pytake.web import _schemas as schemas
from pytake.web._openapi import documented
from pytake.web._page_cursor import decode_cursor, encode_cursor
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import int_arg, iso, optional_id_arg, str_arg

__all__ = ["create_audit_blueprint"]

MAX_LIMIT: Final = 500
#: The most rows one export holds (narrow the filters for more).
MAX_EXPORT: Final = 100_000
_EXPORT_PAGE: Final = 1000
_FORMATS: Final = frozenset({"json", "jsonl", "csv"})
COLUMNS: Final = ("seq", "at", "user_id", "role", "action", "target_type", "target_id",
                  "ip", "user_agent", "request_id", "details", "prev_hash", "hash")


def _row(r: AuditLog) -> dict[str, Any]:
    return {
        "seq": r.chain_seq, "at": iso(r.at), "user_id": r.actor_user_id, "role": r.role,
        "action": r.action, "target_type": r.target_type, "target_id": r.target_id,
        "ip": r.ip, "user_agent": r.user_agent, "request_id": r.request_id,
        "details": r.details or {}, "prev_hash": r.prev_hash, "hash": r.hash,
    }


def _time_arg(name: str) -> datetime | None:
    raw = str_arg(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 time, got {raw!r}") from None
    if value.tzinfo is None:
        raise BadRequest(f"{name} must name its time zone (…Z or …+00:00), got {raw!r}")
    return value


def _filter() -> AuditFilter:
    return AuditFilter(
        user_id=optional_id_arg("user"), action=str_arg("action"),
        target_type=str_arg("target_type"), target_id=str_arg("target_id"),
        since=_time_arg("since"), until=_time_arg("until"),
    )


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


def create_audit_blueprint(db: Database) -> Blueprint:
    bp = Blueprint("audit_api", __name__)

    async def export(f: AuditFilter, kind: str) -> AsyncIterator[bytes]:
        if kind == "csv":
            yield _csv_line(list(COLUMNS)).encode()
        before: int | None = None
        sent = 0
        while sent < MAX_EXPORT:
            rows, before = await db.run(audit_page, f, before,
                                        min(_EXPORT_PAGE, MAX_EXPORT - sent), readonly=True)
            for r in rows:
                item = _row(r)
                if kind == "csv":
                    item["details"] = json.dumps(item["details"], ensure_ascii=False)
                    yield _csv_line([item[c] for c in COLUMNS]).encode()
                else:
                    yield (json.dumps(item, ensure_ascii=False) + "\n").encode()
            sent += len(rows)
            if before is None:
                return

    @bp.get("/api/v1/audit")
    @documented(query=schemas.AUDIT_QUERY, response=schemas.AUDIT_PAGE, alternatives={
        "application/x-ndjson": {"type": "string"}, "text/csv": {"type": "string"}})
    @requires(Permission.AUDIT_READ)
    async def list_audit() -> Response:
        """The audit log, newest first, filtered; one page as JSON, or every matching row
        as JSON Lines or CSV (``format``)."""
        f = _filter()
        kind = str_arg("format", _FORMATS) or "json"
        if kind != "json":
            media = "application/x-ndjson" if kind == "jsonl" else "text/csv"
            response = Response(export(f, kind), mimetype=media)
            response.headers["Content-Disposition"] = f'attachment; filename="audit.{kind}"'
            return response
        limit = int_arg("limit", 100, MAX_LIMIT, minimum=1)
        raw = request.args.get("cursor")
        before = decode_cursor(raw, (int,))[0] if raw else None
        assert before is None or isinstance(before, int)  # the cursor's shape says so
        rows, next_seq = await db.run(audit_page, f, before, limit, readonly=True)
        return jsonify({"entries": [_row(r) for r in rows],
                        "next_cursor": encode_cursor(next_seq) if next_seq else None})

    return bp

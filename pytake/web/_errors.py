"""Error responses: every error leaves the edge as an RFC 9457 problem document
(``application/problem+json``): ``type`` (``about:blank``: the status says it all), ``title``
(the status's name), ``status``, ``detail`` (what went wrong, for a person), ``code`` (what went
wrong, for a program) and, for clients written against earlier versions, ``error`` (the same
as ``detail``).

- HTTP errors (404, 405, 400 raised by routes, ...) keep their status; the reason is the
  route's own description when it gave one, else the status name ("not found").
- Retryable overload, `StorageUnavailable` and `MailboxFull`, answers 503 with ``Retry-After``:
  the WhatsApp Cloud API and well-behaved clients retry, so no message is lost.
- Anything unexpected is logged with its traceback by Quart and answers a bare 500; the
  traceback never reaches the client.
"""

from __future__ import annotations

import json
import logging
import math
from http import HTTPStatus
from typing import Any, Final

from quart import Response, jsonify
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from pytake.errors import (
    EmailTaken,
    IdentityError,
    InvalidSecondFactor,
    InvalidUser,
    MailboxFull,
    SecondFactorConflict,
    SecondFactorUnavailable,
    StorageUnavailable,
    UserConflict,
    UserNotFound,
)
from pytake.web._bodies import InvalidField

log = logging.getLogger("pytake.web")


PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """An RFC 9457 problem document; ``extra`` adds members (``field``, ``problems``, ...)."""
    title = HTTPStatus(status).phrase
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code or title.lower().replace(" ", "_").replace("-", "_"),
        "error": detail,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM_JSON
    response.headers.update(headers or {})
    return response


def json_error(status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
    """`problem` with the status's own code."""
    return problem(status, reason, headers=headers)


async def _http_error(exc: HTTPException) -> Response | HTTPException:
    if exc.code is None or exc.code < 400:
        return exc  # redirects (e.g. a missing trailing slash) are not errors
    assert exc.name is not None
    # A route that raised BadRequest("actor_limit must be ...") gave its own description;
    # werkzeug's stock descriptions are long prose, so the short status name reads better.
    described = exc.description and exc.description != type(exc).description
    reason = exc.description if described and exc.description else exc.name.lower()
    # Keep headers the error carries (Allow on 405), not its HTML content type.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return json_error(exc.code, reason, headers)


async def _retry_later(exc: Any) -> Response:
    # Both retryable errors carry retry_after (seconds); Retry-After takes whole seconds.
    retry_after = max(1, math.ceil(getattr(exc, "retry_after", 1.0)))
    reason = "mailbox full" if isinstance(exc, MailboxFull) else "storage unavailable"
    log.warning("answering 503 (retry after %ss): %s", retry_after, exc)
    return json_error(503, f"{reason}, retry later", {"Retry-After": str(retry_after)})


#: Domain errors every route may raise, most specific first: (class, status, code).  The
#: 401/403 of `AuthError`/`Forbidden` are the auth routes' (they add WWW-Authenticate).
_IDENTITY_PROBLEMS: Final[tuple[tuple[type[IdentityError], int, str], ...]] = (
    (EmailTaken, 409, "email_taken"),
    (InvalidSecondFactor, 422, "invalid_second_factor"),
    (InvalidUser, 422, "invalid"),
    (UserNotFound, 404, "user_not_found"),
    (SecondFactorConflict, 409, "second_factor_enabled"),
    (UserConflict, 409, "last_admin"),
    (SecondFactorUnavailable, 409, "second_factor_unavailable"),
)


async def _invalid_field(exc: InvalidField) -> Response:
    return problem(422, exc.reason, code="invalid", field=exc.field)


async def _identity_error(exc: IdentityError) -> Response:
    for kind, status, code in _IDENTITY_PROBLEMS:
        if isinstance(exc, kind):
            extra: dict[str, Any] = {"field": exc.field} if isinstance(exc, InvalidUser) else {}
            return problem(status, exc.reason, code=code, **extra)
    return problem(400, exc.reason)


def register_error_handlers(app: QuartTrio) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InvalidField, _invalid_field)
    for kind, _status, _code in _IDENTITY_PROBLEMS:
        app.register_error_handler(kind, _identity_error)
    app.register_error_handler(StorageUnavailable, _retry_later)
    app.register_error_handler(MailboxFull, _retry_later)
    app.after_request(_as_problem)
    # Unexpected exceptions: Quart logs the traceback, then looks up the handler of
    # InternalServerError, which is the HTTPException handler above ("internal server error").


async def _as_problem(response: Response) -> Response:
    """An error a route answered as plain JSON (``{"code", "error", ...}``) leaves as a
    problem document too, so that clients read one shape whatever blueprint answered."""
    if response.status_code < 400 or response.mimetype != "application/json":
        return response
    body = await response.get_json()
    if not isinstance(body, dict) or "title" in body:
        return response
    status = response.status_code
    title = HTTPStatus(status).phrase
    detail = str(body.get("error") or body.get("detail") or title.lower())
    problem_body = {
        "type": "about:blank", "title": title, "status": status, "detail": detail,
        "code": body.get("code") or title.lower().replace(" ", "_").replace("-", "_"),
        **body, "error": detail,
    }
    response.set_data(json.dumps(problem_body, ensure_ascii=False))
    response.content_type = PROBLEM_JSON
    return response

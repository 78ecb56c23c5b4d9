"""Meta-shaped error answers of the Cloud API.

Every error the stand-in returns has exactly the shape Meta uses::

    {"error": {"message": "(#CODE) Title", "type": "OAuthException", "code": CODE,
               "error_data": {"messaging_product": "whatsapp", "details": "..."},
               "fbtrace_id": "..."}}

so a client's error handling is exercised on the real structure: logic should key on ``code``
and ``error_data.details``, never on the HTTP status or the title.
"""

from __future__ import annotations

import secrets
from typing import Any

from pytake.errors import StandInError

#: Titles of the codes the stand-in produces (and a few a test may force per recipient).
TITLES: dict[int, str] = {
    0: "AuthException",
    1: "API Unknown",
    2: "API Service",
    4: "API Too Many Calls",
    100: "Invalid parameter",
    190: "Error validating access token",
    130429: "Rate limit hit",
    130472: "User's number is part of an experiment",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131030: "Recipient phone number not in allowed list",
    131031: "Business Account locked",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131050: "User has stopped marketing messages",
    131051: "Unsupported message type",
    131052: "Media download error",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132012: "Parameter format does not match format in the created template",
    133010: "Phone number not registered",
    135000: "Generic user error",
}

#: Details Meta gives with some codes (any other code gets a generic sentence).
_DETAILS: dict[int, str] = {
    190: "Invalid OAuth access token - Cannot parse access token",
    130429: "Message failed to send because there were too many messages sent from this "
    "phone number in a short period of time.",
    131000: "Message failed to send due to an unknown error.",
    131026: "Message undeliverable: the recipient is not on WhatsApp or cannot receive it.",
    131047: "Message failed to send because more than 24 hours have passed since the customer "
    "last replied to this number.",
    131056: "Message failed to send because there were too many messages sent from this phone "
    "number to the same phone number in a short period of time.",
}

#: The HTTP status the stand-in answers with for a code (anything else: 400).
_HTTP_STATUS: dict[int, int] = {
    0: 401,
    190: 401,
    4: 429,
    130429: 429,
    1: 500,
    2: 503,
    131000: 500,
    131016: 503,
}


class ApiProblem(StandInError):
    """A Meta-shaped error answer, raised while handling a request and turned into
    `error_body` by the stand-in (``status`` defaults to `http_status` of the code)."""

    def __init__(self, code: int, details: str | None = None, status: int | None = None):
        super().__init__(details)
        self.code = code
        self.details = details
        self.status = status if status is not None else http_status(code)


def title(code: int) -> str:
    """Meta's title for ``code`` (a placeholder for codes this table lacks)."""
    return TITLES.get(code, f"Error {code}")


def http_status(code: int) -> int:
    """The HTTP status that carries error ``code``."""
    return _HTTP_STATUS.get(code, 400)


def default_details(code: int) -> str:
    return _DETAILS.get(code, title(code))


def fbtrace_id() -> str:
    """A random id like the ``fbtrace_id`` Meta includes for support requests."""
    return secrets.token_urlsafe(8)


def error_body(code: int, details: str | None = None) -> dict[str, Any]:
    """The synchronous error answer for ``code``."""
    return {
        "error": {
            "message": f"(#{code}) {title(code)}",
            "type": "OAuthException",
            "code": code,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": details if details is not None else default_details(code),
            },
            "fbtrace_id": fbtrace_id(),
        }
    }


def webhook_error(code: int, details: str | None = None) -> dict[str, Any]:
    """The error object carried by a ``failed`` status webhook."""
    return {
        "code": code,
        "title": title(code),
        "message": title(code),
        "error_data": {"details": details if details is not None else default_details(code)},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }

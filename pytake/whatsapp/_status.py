"""Delivery status order and error-code policy, as data.  Pure: no I/O, no clock.

Everything that decides how a status webhook moves an outbound message lives in this file.

Rules for :func:`advance` (status webhooks are duplicated and arrive out of order, and a
``delivered`` may be skipped when delivery and read happen together):

1. The successful states are ranked ``sent < delivered < read < played`` (:data:`STATUS_RANK`).
   A status never moves a message backwards: ``read`` then a late ``delivered`` stays ``read``.
2. ``failed`` sits just above ``sent``: it replaces ``sent`` (or no state), but **a ``failed``
   after ``delivered``/``read``/``played`` keeps the higher state**, because a device has
   already shown the message; that later failure is evidence of nothing the user did not see.
   Conversely a ``delivered``/``read``/``played`` after ``failed`` wins (the device got it),
   and a late ``sent`` after ``failed`` changes nothing.  **Whatever the state, the caller
   stores a failed status's ``errors``**: a failure reason is never discarded.
3. A status we do not know (``deleted``, ``warning``, a future one) never changes the state.
   A *current* state we do not know (an outbox state such as ``pending``/``accepted``) ranks
   below ``sent``, so any known status replaces it.

:func:`implied` says which earlier states a status proves (``read`` implies ``delivered``), for
callers that keep one timestamp per state.

:data:`ERROR_POLICY` maps Cloud API error codes (docs/whatsapp.md#errors) to what a customer-service
system should do; the mapping is our engineering judgement, not Meta's.  Codes not in the table
get :data:`DEFAULT_ERROR_POLICY`: a bounded retry with backoff, since losing a message to a new
transient code costs more than a few retries of a permanent one.
"""

from __future__ import annotations

from typing import Final, Literal, overload

import attrs

__all__ = [
    "DEFAULT_ERROR_POLICY",
    "ERROR_POLICY",
    "FAILED",
    "STATUS_RANK",
    "ErrorAction",
    "ErrorPolicy",
    "advance",
    "error_policy",
    "implied",
]

FAILED: Final = "failed"

#: Successful delivery states, in order.  Higher never yields to lower.
STATUS_RANK: Final[dict[str, int]] = {"sent": 1, "delivered": 2, "read": 3, "played": 4}

# ``failed`` compared with the ranks above: above ``sent``, below ``delivered`` (rule 2).
_FAILED_RANK: Final = 1.5
# An unknown current state (outbox states such as "pending") ranks below everything.
_UNKNOWN_RANK: Final = 0.0

#: What each status proves happened before it.
_IMPLIED: Final[dict[str, frozenset[str]]] = {
    "sent": frozenset(),
    "delivered": frozenset({"sent"}),
    "read": frozenset({"sent", "delivered"}),
    # Played (a voice note's first play) is only reported when read receipts are on.
    "played": frozenset({"sent", "delivered", "read"}),
    FAILED: frozenset(),
}


def _rank(status: str) -> float:
    if status == FAILED:
        return _FAILED_RANK
    return float(STATUS_RANK.get(status, _UNKNOWN_RANK))


@overload
def advance(current: str, new: str) -> str: ...
@overload
def advance(current: None, new: str) -> str | None: ...
def advance(current: str | None, new: str) -> str | None:
    """The state after applying status ``new`` to a message in state ``current``.

    Never moves backwards; ``failed`` never overrides delivered/read/played; unknown ``new``
    statuses leave ``current`` (even ``None``) unchanged.  See the module rules."""
    if new != FAILED and new not in STATUS_RANK:
        return current
    if current is None:
        return new
    return new if _rank(new) > _rank(current) else current


def implied(new: str) -> set[str]:
    """The states that status ``new`` proves were reached before it (``read`` →
    ``{"sent", "delivered"}``).  Empty for ``sent``, ``failed`` and unknown statuses."""
    return set(_IMPLIED.get(new, frozenset()))


# -- error codes ------------------------------------------------------------------------------

ErrorAction = Literal[
    "retry_backoff",  # transient: retry with bounded exponential backoff
    "retry_pair_backoff",  # same user too fast (131056): retry after 4^n s, others unaffected
    "needs_template",  # outside the 24 h window: only an approved template can reach the user
    "unreachable",  # not on WhatsApp / old client / new ToS not accepted: mark the contact
    "wait_24h",  # per-user marketing cap: wait at least 24 h before that template again
    "opted_out",  # user stopped marketing messages: honour it, never retry marketing
    "token_alert",  # access token invalid or expired: stop sending, alert
    "config_alert",  # permissions, account, billing, template or number setup: alert an admin
    "no_retry",  # our request is wrong (a bug) or the situation is final: log, don't retry
]


@attrs.frozen
class ErrorPolicy:
    """What to do about one Cloud API error code.  ``retryable`` means the outbox may resend
    the same request automatically (with backoff); ``action`` says what else to do."""

    action: ErrorAction
    retryable: bool
    description: str


def _p(action: ErrorAction, description: str) -> ErrorPolicy:
    return ErrorPolicy(
        action=action,
        retryable=action in ("retry_backoff", "retry_pair_backoff"),
        description=description,
    )


_TEMPLATE_CONFIG = {
    132000: "template parameter count mismatch",
    132001: "template does not exist in this language",
    132005: "template text too long after substitution",
    132007: "template violates policy",
    132012: "template parameter format mismatch",
    132015: "template paused for low quality",
    132016: "template disabled",
}

#: Cloud API error code → policy (docs/whatsapp.md#errors).  Data, so it can be audited and
#: extended.
ERROR_POLICY: Final[dict[int, ErrorPolicy]] = {
    0: _p("token_alert", "authentication failure"),
    190: _p("token_alert", "access token expired or invalid"),
    3: _p("config_alert", "capability missing for this app"),
    10: _p("config_alert", "permission denied"),
    **{code: _p("config_alert", "permission missing") for code in range(200, 300)},
    4: _p("retry_backoff", "app API-call rate limit: back off for minutes"),
    80007: _p("retry_backoff", "WABA rate limit: back off, reduce API volume"),
    100: _p("no_retry", "invalid parameter: a bug in the request"),
    130429: _p("retry_backoff", "throughput exceeded for this number: queue and smooth"),
    131048: _p("config_alert", "spam rate limit: pause campaign sends, check quality"),
    131056: _p("retry_pair_backoff", "pair rate limit: too many messages to this user"),
    131064: _p("config_alert", "messaging limit from template mis-categorisation"),
    1: _p("retry_backoff", "unknown API error (transient)"),
    2: _p("retry_backoff", "API service temporarily unavailable"),
    131000: _p("retry_backoff", "something went wrong (transient)"),
    131016: _p("retry_backoff", "service unavailable"),
    133004: _p("retry_backoff", "server temporarily unavailable"),
    131057: _p("retry_backoff", "account in maintenance (about a minute)"),
    131005: _p("config_alert", "access denied"),
    131008: _p("no_retry", "required parameter missing"),
    131009: _p("no_retry", "parameter invalid (or reaction to an old/unknown message)"),
    131021: _p("no_retry", "recipient is the sender"),
    131026: _p("unreachable", "message undeliverable to this user"),
    131030: _p("config_alert", "recipient not in the test allow-list"),
    131031: _p("config_alert", "business account locked"),
    131042: _p("config_alert", "payment method problem"),
    131045: _p("config_alert", "phone number not registered"),
    131047: _p("needs_template", "more than 24 h since the customer last wrote"),
    131049: _p("wait_24h", "not delivered to keep ecosystem engagement healthy"),
    131050: _p("opted_out", "user stopped marketing messages"),
    131051: _p("no_retry", "unsupported message type"),
    131052: _p("no_retry", "media download failed (user's file, e.g. over 100 MB)"),
    131053: _p("no_retry", "media upload failed (often a MIME type mismatch)"),
    130403: _p("no_retry", "the business blocked this user"),
    130472: _p("no_retry", "user is in a marketing experiment group"),
    **{code: _p("config_alert", text) for code, text in _TEMPLATE_CONFIG.items()},
    133010: _p("config_alert", "phone number not registered on the platform"),
    135000: _p("no_retry", "generic user error with the request parameters"),
    368: _p("config_alert", "WABA restricted for a policy violation"),
}

#: Policy for codes not in :data:`ERROR_POLICY` (see the module docstring).
DEFAULT_ERROR_POLICY: Final = _p("retry_backoff", "unknown error code: bounded retry")


def error_policy(code: int) -> ErrorPolicy:
    """The policy for Cloud API error ``code`` (:data:`DEFAULT_ERROR_POLICY` if unknown)."""
    return ERROR_POLICY.get(code, DEFAULT_ERROR_POLICY)

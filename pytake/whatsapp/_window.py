"""The 24-hour customer-service window, as pure functions.

Rules (docs/whatsapp.md#window): a customer message opens a 24-hour window and every new one
restarts it; inside it any free-form type may be sent, outside it only approved templates
(otherwise Meta answers 131047). The window runs from the **WhatsApp timestamp of the
customer's last message**, never from when its webhook arrived (Meta retries deliveries for
hours). Our own messages and status webhooks do not restart it.

What needs the window here: every free-form type, reactions included. What does not:
templates, and read receipts / typing indicators (they answer a message that just arrived).
"""

from __future__ import annotations

from typing import Final

from pytake.errors import WindowClosed

__all__ = ["WINDOW_SECONDS", "check_window", "needs_window", "window_open"]

WINDOW_SECONDS: Final = 24 * 60 * 60
#: Types that may always be sent, window or not.
_ALWAYS_ALLOWED: Final = frozenset({"template", "read", "mark_read", "typing"})


def window_open(last_customer_ts: float | None, now: float) -> bool:
    """Whether a free-form message may be sent at ``now`` (epoch seconds), given the epoch
    timestamp of the customer's last message (``None``: the customer never wrote)."""
    if last_customer_ts is None:
        return False
    return now < last_customer_ts + WINDOW_SECONDS


def needs_window(message_type: str) -> bool:
    """Whether ``message_type`` (a body's ``type``, or ``"read"``) needs an open window."""
    return message_type not in _ALWAYS_ALLOWED


def check_window(
    recipient: str, last_customer_ts: float | None, now: float, message_type: str
) -> None:
    """Raise `WindowClosed` if a ``message_type`` message to ``recipient`` may not be sent at
    ``now``; return quietly if it may."""
    if needs_window(message_type) and not window_open(last_customer_ts, now):
        raise WindowClosed(recipient, last_customer_ts)

"""One question about an idle socket, for the connection pools (HTTP and PostgreSQL)."""

from __future__ import annotations

import select

__all__ = ["has_input"]


def has_input(fileno: int) -> bool:
    """Whether the socket has something to read (or has been closed by the other side),
    without waiting: an idle pooled connection that has is dead to its pool."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))

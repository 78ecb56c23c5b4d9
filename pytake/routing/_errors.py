"""The exceptions of the routing core, all under :class:`pytake.errors.PyTakeError`.

```
PyTakeError
└── RoutingError                 something about conversations, queues or team hours
    ├── InvalidTransition        the owner state machine has no rule for (state, event)
    ├── QueueError               a queue operation names something the queue does not hold
    │   └── OfferNotFound        accept of an offer that is gone (expired, withdrawn, never made)
    └── InvalidBusinessHours     a team's hours are malformed (also a ``ValueError``)
```

``InvalidTransition`` is what a stale or out-of-order message produces (an accept that
arrives after a transfer, say); actors log it and keep their state, which the pure functions
guarantee is untouched when they raise.
"""

from __future__ import annotations

from typing import Any

from pytake.errors import PyTakeError

__all__ = [
    "InvalidBusinessHours",
    "InvalidTransition",
    "OfferNotFound",
    "QueueError",
    "RoutingError",
]


class RoutingError(PyTakeError):
    """Base class of the routing core's errors."""


class InvalidTransition(RoutingError):
    """``event`` is not allowed while the conversation is in ``state``.

    ``state`` is the :class:`~pytake.routing.Owner`, ``event`` the event object, and ``kind``
    the event kind the table was consulted with (``"accept_other_agent"`` when an agent
    other than the one offered tries to accept, for instance).
    """

    def __init__(self, state: Any, event: Any, kind: str | None = None) -> None:
        name = getattr(state, "name", str(state))
        what = kind or type(event).__name__
        super().__init__(f"no transition from {name} on {what}: {event!r}")
        self.state = state
        self.event = event
        self.kind = kind


class QueueError(RoutingError):
    """A queue operation refers to a conversation or agent in the wrong place."""


class OfferNotFound(QueueError):
    """The agent tried to accept an offer that is no longer outstanding.

    The offer expired (its reservation timed out), was withdrawn (the conversation was
    transferred or resolved, the agent went away), or went to someone else.  The agent's UI
    says "too late"; nothing changed.
    """

    def __init__(self, conversation: str, agent: str, reason: str) -> None:
        super().__init__(f"no outstanding offer of {conversation!r} to {agent!r}: {reason}")
        self.conversation = conversation
        self.agent = agent
        self.reason = reason


class InvalidBusinessHours(RoutingError, ValueError):
    """A team's business hours cannot be used; the message says which value and why."""

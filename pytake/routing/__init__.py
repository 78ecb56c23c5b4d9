"""Routing: who owns a conversation, which agent gets it next, and when a team is open.

The pure core of "conversations, agents and queues": no I/O, no trio, no clock.  Time comes
in as arguments (epoch seconds, or aware datetimes for business hours), decisions go out as
effect objects for the actors to carry out, and every state is frozen attrs data that cattrs
snapshots to JSON.  Layers, each in one module that states its rules up front:

- :mod:`~pytake.routing._ownership` — the owner state machine of one conversation
  (flow → queued → offered → assigned → resolved, and reopening), as a transition table.
- :mod:`~pytake.routing._queue` — one team's queue: order (priority with aging, then age),
  agent choice (round-robin, least-busy, skills, sticky), offers with reservation timeouts,
  presence, capacity and the estimated wait.  Every event pulls; there is no sweep.
- :mod:`~pytake.routing._hours` — business hours, holidays and after-hours hand-offs.
- :mod:`~pytake.routing._bursts` — several quick customer messages delivered as one turn.
- :mod:`~pytake.routing._metrics` — first response, wait and handle times, transfers and
  resolution, recomputable from the conversation's event log.
- :mod:`~pytake.routing._errors` — ``RoutingError`` and its subclasses.

Users import from here, never from the underscore modules.  See ``docs/routing.md``.
"""

from ..errors import (
    InvalidBusinessHours,
    InvalidTransition,
    OfferNotFound,
    QueueError,
    RoutingError,
)
from ._bursts import BurstCoalescer, Turn
from ._hours import WEEKDAYS, AfterHours, BusinessHours, Closed, HandoffDecision, Open
from ._metrics import (
    MESSAGE_TYPES,
    ConversationEvent,
    ConversationMetrics,
    compute_metrics,
    message_event,
    transition_event,
)
from ._ownership import (
    DEFAULT_REOPEN_WINDOW,
    INBOUND_HANDLER,
    QUEUE_ORIGINATED,
    TRANSITIONS,
    Accept,
    CustomerMessage,
    Decline,
    DeliverTo,
    DequeueFrom,
    EnqueueIn,
    Handler,
    Handoff,
    NotifyAssigned,
    Offered,
    OfferExpired,
    Owner,
    Ownership,
    OwnershipEffect,
    OwnershipEvent,
    Reassign,
    ReleaseAgent,
    Reopened,
    Requeue,
    Resolve,
    Resolved,
    ResolvedBy,
    ReturnToFlow,
    Rule,
    StartFlow,
    TransferToAgent,
    TransferToTeam,
    event_kind,
    transition,
    who_handles_inbound,
)
from ._queue import (
    AgentSlot,
    AgentStatus,
    Assignment,
    Offer,
    OfferAccepted,
    OfferWithdrawn,
    OfflinePolicy,
    QueueEffect,
    QueuePolicy,
    QueueState,
    Requeued,
    Strategy,
    WaitingEntry,
    WithdrawReason,
)

__all__ = [
    "DEFAULT_REOPEN_WINDOW",
    "INBOUND_HANDLER",
    "MESSAGE_TYPES",
    "QUEUE_ORIGINATED",
    "TRANSITIONS",
    "WEEKDAYS",
    "Accept",
    "AfterHours",
    "AgentSlot",
    "AgentStatus",
    "Assignment",
    "BurstCoalescer",
    "BusinessHours",
    "Closed",
    "ConversationEvent",
    "ConversationMetrics",
    "CustomerMessage",
    "Decline",
    "DeliverTo",
    "DequeueFrom",
    "EnqueueIn",
    "Handler",
    "Handoff",
    "HandoffDecision",
    "InvalidBusinessHours",
    "InvalidTransition",
    "NotifyAssigned",
    "Offer",
    "OfferAccepted",
    "OfferExpired",
    "OfferNotFound",
    "OfferWithdrawn",
    "Offered",
    "OfflinePolicy",
    "Open",
    "Owner",
    "Ownership",
    "OwnershipEffect",
    "OwnershipEvent",
    "QueueEffect",
    "QueueError",
    "QueuePolicy",
    "QueueState",
    "Reassign",
    "ReleaseAgent",
    "Reopened",
    "Requeue",
    "Requeued",
    "Resolve",
    "Resolved",
    "ResolvedBy",
    "ReturnToFlow",
    "RoutingError",
    "Rule",
    "StartFlow",
    "Strategy",
    "TransferToAgent",
    "TransferToTeam",
    "Turn",
    "WaitingEntry",
    "WithdrawReason",
    "compute_metrics",
    "event_kind",
    "message_event",
    "transition",
    "transition_event",
    "who_handles_inbound",
]

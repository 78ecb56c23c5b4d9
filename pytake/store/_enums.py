"""The closed sets of values that stored columns may hold.

Each is a `enum.StrEnum`, so a member compares equal to its string and serializes as it. The
database checks them too (``ck_<table>_<name>`` constraints, see `pytake.store._base.enum_type`),
so adding a value takes a migration that rewrites that constraint.
"""

from __future__ import annotations

import enum

__all__ = [
    "ConversationStatus",
    "DataRequestKind",
    "DataRequestState",
    "DeliveryStatus",
    "FlowVersionStatus",
    "InboxState",
    "MessageDirection",
    "OutboxState",
    "OwnerState",
    "RoutingStrategy",
    "UserRole",
]


class UserRole(enum.StrEnum):
    """What a user may do: admins configure, supervisors watch teams, agents talk to customers."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class RoutingStrategy(enum.StrEnum):
    """How a team's queue picks the agent for a waiting conversation."""

    ROUND_ROBIN = "round_robin"
    LEAST_BUSY = "least_busy"
    SKILLS = "skills"


class ConversationStatus(enum.StrEnum):
    """The coarse life cycle of a conversation, what listings filter on."""

    OPEN = "open"
    RESOLVED = "resolved"


class OwnerState(enum.StrEnum):
    """Who is handling a conversation: the flow, a team queue, an offered or assigned agent."""

    FLOW = "flow"
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class MessageDirection(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class DeliveryStatus(enum.StrEnum):
    """Where a message is. Inbound messages are ``received``; outbound ones start ``pending``
    (committed, not yet accepted by the Cloud API) and only move up the rank
    sent < delivered < read < played; ``failed`` is recorded whatever the rank."""

    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"


class FlowVersionStatus(enum.StrEnum):
    """A flow version is edited as a draft, runs once published, and is kept once archived."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class OutboxState(enum.StrEnum):
    """An outbound send: waiting (``pending``), claimed by a sender (``sending``), accepted by
    the Cloud API (``sent``) or rejected for good (``failed``)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class InboxState(enum.StrEnum):
    """A raw webhook body: not yet parsed (``pending``), done (``processed``), or given up on
    after repeated failures (``dead``, kept for operators)."""

    PENDING = "pending"
    PROCESSED = "processed"
    DEAD = "dead"


class DataRequestKind(enum.StrEnum):
    """What a customer's data request does (LGPD): hand over everything held about them
    (``export``), replace their personal fields (``anonymise``) or remove every trace
    (``erase``)."""

    EXPORT = "export"
    ANONYMISE = "anonymise"
    ERASE = "erase"


class DataRequestState(enum.StrEnum):
    """A data request is ``running`` from its first step to its last (so one interrupted by a
    crash is found and resumed at the next start), then ``done`` or ``failed``."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

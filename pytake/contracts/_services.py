"""The services an actor uses from a package it may not import, as protocols.

The composition root (`pytake.engine`) gives each actor kind its services, typed, when it
registers the kind; the implementations live with their own packages (the outbox with the
WhatsApp pipelines, team look-ups with the queues, live connections with the agents).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class EnqueuedMessage(Protocol):
    """What the outbox answers for a stored message."""

    @property
    def outbox_id(self) -> int: ...

    @property
    def message_id(self) -> int | None: ...

    @property
    def repeated(self) -> bool:
        """Its key was stored already: nothing new was stored or will be sent."""
        ...


class Outbox(Protocol):
    """The transactional outbox: a body stored now is sent to the Cloud API afterwards."""

    async def enqueue(
        self,
        phone_number_id: str,
        body: dict[str, Any],
        *,
        conversation_id: int | None = ...,
        recipient: str | None = ...,
        sent_by_user_id: int | None = ...,
        last_customer_ts: float | None = ...,
        now: float | None = ...,
        key: str | None = ...,
    ) -> EnqueuedMessage:
        """Store ``body`` for sending; with ``last_customer_ts``, refuse a free-form body
        outside the 24-hour window (`pytake.errors.WindowClosed`); with ``key``, a key
        stored before stores nothing (``repeated``)."""
        ...


class Teams(Protocol):
    """Teams by the names flows and settings use, and whether they are open."""

    async def id_of(self, name_or_id: str) -> str | None:
        """The team's id (as text), or ``None`` if there is no such team."""
        ...

    async def is_open(self, team_id: str, at: datetime) -> bool:
        """Whether the team works at ``at`` (its business hours and holidays)."""
        ...


class Connections(Protocol):
    """Agents' live WebSocket connections on this node."""

    def count(self, agent: str) -> int: ...

"""Messages an AgentActor accepts (frozen attrs; none is journaled: presence is live state
and every event it publishes is stored before it is sent)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Publish:
    """Send the agent an event: stored with the agent's next ``seq``, then pushed to every
    open connection.  ``type`` is a protocol event name (docs/agent-protocol.md)."""

    type: str
    data: dict[str, Any] = attrs.field(factory=dict)
    #: what caused it, when the same cause can come again (a journaled customer message
    #: handled again after a crash): the agent gets one event per key, and no seq is spent
    key: str | None = None


@attrs.frozen
class ConnectionsChanged:
    """A WebSocket of this agent opened or closed; the actor recounts and updates presence."""


@attrs.frozen
class SetPresence:
    """The agent chose ``online`` or ``away`` (offline follows from having no connection)."""

    status: str


@attrs.frozen
class OfflineGraceOver:
    """Timer: the agent's last connection closed ``agent_offline_grace`` seconds ago."""


@attrs.frozen
class ReloadAgent:
    """Teams, skills or capacity changed in the database: read them again, tell the queues."""


@attrs.frozen
class GetAgent:
    """Ask for an :class:`AgentView`."""


@attrs.frozen
class AgentView:
    agent_id: str
    status: str
    connections: int
    capacity: int
    teams: dict[str, tuple[str, ...]]
    conversations: tuple[str, ...]
    offers: tuple[str, ...]
    seq: int

"""Agents: the AgentActor (presence, capacity, teams, the event feed with per-agent seq),
the live connection registry behind ``/ws/agent``, and the stored event log."""

from ._actor import AWAY, OFFLINE, ONLINE, AgentActor, AgentServices, AgentState
from ._repo import AgentDirectory, AgentEventLog, AgentProfile, StoredEvent
from ._sockets import GOING_AWAY, SLOW_CONSUMER, AgentSockets, Connection

__all__ = [
    "AWAY",
    "GOING_AWAY",
    "OFFLINE",
    "ONLINE",
    "SLOW_CONSUMER",
    "AgentActor",
    "AgentDirectory",
    "AgentEventLog",
    "AgentProfile",
    "AgentServices",
    "AgentSockets",
    "AgentState",
    "Connection",
    "StoredEvent",
]

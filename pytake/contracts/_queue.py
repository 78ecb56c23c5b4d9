"""Messages a QueueActor (one per team, addressed by the team id) accepts."""

from __future__ import annotations

import attrs


@attrs.frozen
class Enqueue:
    """A conversation waits for this team (from its ConversationActor's ``EnqueueIn``)."""

    conversation: str
    priority: int = 0
    skills: tuple[str, ...] = ()
    sticky_agent: str | None = None
    sticky_at: float | None = None


@attrs.frozen
class Dequeue:
    """The conversation left the queue some other way (transfer, resolve, back to the bot)."""

    conversation: str


@attrs.frozen
class Reprioritize:
    """A waiting conversation's priority changed (a supervisor, or a flow)."""

    conversation: str
    priority: int


@attrs.frozen
class AcceptOffer:
    """``agent`` accepts its offer.  Answer: :class:`OfferAnswer`."""

    conversation: str
    agent: str


@attrs.frozen
class DeclineOffer:
    conversation: str
    agent: str


@attrs.frozen
class OfferAnswer:
    accepted: bool
    reason: str = ""


@attrs.frozen
class Release:
    """The conversation's agent is done with it here (resolved, transferred, requeued)."""

    conversation: str
    agent: str | None = None


@attrs.frozen
class AssignDirect:
    """A transfer to an agent or a supervisor's reassign through this team."""

    conversation: str
    agent: str


@attrs.frozen
class AgentUpdate:
    """An AgentActor restates presence, capacity and skills for this team."""

    agent: str
    status: str
    capacity: int
    skills: tuple[str, ...] = ()


@attrs.frozen
class LeaveTeam:
    agent: str


@attrs.frozen
class QueueTick:
    """Timer: the earliest offer deadline has come."""


@attrs.frozen
class PublishStats:
    """Timer: tell the team's present agents the queue's statistics (at most once a second)."""


@attrs.frozen
class ReloadTeam:
    """The team's settings changed in the database."""


@attrs.frozen
class GetQueueStats:
    """Ask for :class:`QueueStats`."""


@attrs.frozen
class GetPosition:
    """Ask where a conversation stands: :class:`Position`."""

    conversation: str


@attrs.frozen
class Position:
    position: int | None
    estimated_wait: float | None


@attrs.frozen
class QueueStats:
    team: str
    waiting: int
    offered: int
    assigned: int
    agents_online: int
    agents_away: int
    free_slots: int
    oldest_wait: float | None
    handle_time_avg: float | None

"""Queues: the QueueActor (one per team) over :mod:`pytake.routing`'s queue state, and the
team profile it reads from the database."""

from ._actor import QueueActor, QueueActorState
from ._messages import (
    AcceptOffer,
    AgentUpdate,
    AssignDirect,
    DeclineOffer,
    Dequeue,
    Enqueue,
    GetPosition,
    GetQueueStats,
    LeaveTeam,
    OfferAnswer,
    Position,
    QueueStats,
    QueueTick,
    Release,
    ReloadTeam,
    Reprioritize,
)
from ._team import (
    TeamDirectory,
    TeamProfile,
    TeamResolver,
    after_hours_from,
    all_team_ids,
    hours_from,
    policy_from,
)

__all__ = [
    "AcceptOffer",
    "AgentUpdate",
    "AssignDirect",
    "DeclineOffer",
    "Dequeue",
    "Enqueue",
    "GetPosition",
    "GetQueueStats",
    "LeaveTeam",
    "OfferAnswer",
    "Position",
    "QueueActor",
    "QueueActorState",
    "QueueStats",
    "QueueTick",
    "Release",
    "ReloadTeam",
    "Reprioritize",
    "TeamDirectory",
    "TeamProfile",
    "TeamResolver",
    "after_hours_from",
    "all_team_ids",
    "hours_from",
    "policy_from",
]

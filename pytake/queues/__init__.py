"""Queues: the QueueActor (one per team) over :mod:`pytake.routing`'s queue state, the
team profile it reads from the database, and the teams' administration: the rules a team and
its members follow (`team_fields`, `member_fields`) and their storage (`TeamRepository`); each
team's canned responses (`canned_fields`, `CannedResponseRepository`)."""

from ._actor import QueueActor, QueueActorState, QueueServices
from ._canned import (
    CannedFilter,
    CannedResponseConflict,
    CannedResponseError,
    CannedResponseNotFound,
    InvalidCannedResponse,
    canned_fields,
)
from ._rebuild import rebuilt
from ._repo.canned import CannedResponseRepository
from ._repo.teams import AgentRecord, MemberRecord, TeamRecord, TeamRepository
from ._rules import (
    InvalidTeam,
    TeamConflict,
    TeamError,
    TeamNotFound,
    effective_settings,
    member_fields,
    team_fields,
)
from ._team import (
    TeamDirectory,
    TeamLookup,
    TeamNames,
    TeamProfile,
    TeamResolver,
    after_hours_from,
    all_team_ids,
    hours_from,
    policy_from,
)

__all__ = [
    "AgentRecord",
    "CannedFilter",
    "CannedResponseConflict",
    "CannedResponseError",
    "CannedResponseNotFound",
    "CannedResponseRepository",
    "InvalidCannedResponse",
    "InvalidTeam",
    "MemberRecord",
    "QueueActor",
    "QueueActorState",
    "QueueServices",
    "TeamConflict",
    "TeamDirectory",
    "TeamError",
    "TeamLookup",
    "TeamNames",
    "TeamNotFound",
    "TeamProfile",
    "TeamRecord",
    "TeamRepository",
    "TeamResolver",
    "after_hours_from",
    "all_team_ids",
    "canned_fields",
    "effective_settings",
    "hours_from",
    "member_fields",
    "policy_from",
    "rebuilt",
    "team_fields",
]

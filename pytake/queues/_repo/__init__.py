"""Everything the queues package reads from and writes to the database: teams and their
members (``teams``), canned responses (``canned``), what a queue rebuilds from
(``queue_rows``)."""

from .canned import CannedResponseRepository
from .queue_rows import WAITING, open_rows_of_team, team_id_of, team_ids, team_row
from .teams import AgentRecord, MemberRecord, TeamRecord, TeamRepository

__all__ = [
    "WAITING",
    "AgentRecord",
    "CannedResponseRepository",
    "MemberRecord",
    "TeamRecord",
    "TeamRepository",
    "open_rows_of_team",
    "team_id_of",
    "team_ids",
    "team_row",
]

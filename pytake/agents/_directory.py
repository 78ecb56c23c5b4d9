"""What the database says about an agent: teams, skills per team, capacity."""

from __future__ import annotations

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..store import Database, TeamMember, User


@attrs.frozen
class AgentProfile:
    exists: bool
    name: str = ""
    #: team id (as text) → the agent's skills in that team
    teams: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    #: the most conversations at once, across teams (the largest of its memberships)
    capacity: int = 1


def _profile(session: Session, agent_id: int) -> AgentProfile:
    user = session.get(User, agent_id)
    if user is None or not user.active:
        return AgentProfile(exists=False)
    rows = session.execute(
        sa.select(TeamMember.team_id, TeamMember.skills, TeamMember.max_concurrent).where(
            TeamMember.user_id == agent_id
        )
    ).all()
    teams = {str(r.team_id): tuple(str(s) for s in (r.skills or ())) for r in rows}
    capacity = max((r.max_concurrent for r in rows), default=1)
    return AgentProfile(exists=True, name=user.name, teams=teams, capacity=max(1, capacity))


class AgentDirectory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def profile(self, agent_id: int) -> AgentProfile:
        return await self._db.run(_profile, agent_id, readonly=True)

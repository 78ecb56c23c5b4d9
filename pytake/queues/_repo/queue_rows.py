"""What a team's queue reads from the database: the team's row (policy, hours) and the
conversations it holds, waiting or assigned; team names to ids."""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...store import Conversation, Team

#: Owner states in which a conversation waits in its team's queue.
WAITING: Final = ("queued", "offered")


def open_rows_of_team(session: Session, team_id: int) -> list[Any]:
    """The team's open conversations that wait or are assigned: the queue's durable truth."""
    c = Conversation
    return list(session.execute(
        sa.select(c.id, c.business_phone_number_id, c.customer_id, c.owner_state,
                  c.assigned_agent_id, c.priority, c.updated_at)
        .where(c.team_id == team_id, c.status == "open",
               c.owner_state.in_([*WAITING, "assigned"]))
    ))


def team_row(session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)


def team_id_of(session: Session, name_or_id: str) -> str | None:
    """The id (as text) of the team named, or numbered, ``name_or_id``."""
    if name_or_id.isdigit():
        team = session.get(Team, int(name_or_id))
    else:
        team = session.execute(sa.select(Team).where(Team.name == name_or_id)).scalar()
    return None if team is None else str(team.id)


def team_ids(session: Session) -> list[str]:
    return [str(i) for i in session.execute(sa.select(Team.id)).scalars()]

"""A team's queue rebuilt from the ``conversations`` table on activation.

The table is the durable truth of who owns a conversation: a ConversationActor writes its
row (and waits for the commit) before it tells the queue anything.  A queue's own snapshot is
written behind, so after a crash it may miss its last changes; on activation the queue takes
its waiting list and assignments from the rows, keeping what the snapshot knew about each
(order, skills, sticky agent) where it still applies.  Outstanding offers are not kept: their
timers died with the process, so they are made again.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..contracts import conversation_address
from ..routing import Assignment, QueueState, WaitingEntry
from ..store import Database
from ._repo.queue_rows import WAITING as _WAITING
from ._repo.queue_rows import open_rows_of_team


def rebuilt(queue: QueueState, rows: list[Any]) -> QueueState:
    waiting: dict[str, WaitingEntry] = {}
    assigned: dict[str, Assignment] = {}
    for row in rows:
        key = conversation_address(row.business_phone_number_id, row.customer_id)
        at = row.updated_at.timestamp()
        state = str(getattr(row.owner_state, "value", row.owner_state))
        if state in _WAITING:
            known = queue.waiting.get(key)
            waiting[key] = known if known is not None else WaitingEntry(
                conversation=key, enqueued_at=at, priority=row.priority or 0)
        elif row.assigned_agent_id is not None:
            agent = str(row.assigned_agent_id)
            known_assignment = queue.assigned.get(key)
            if known_assignment is not None and known_assignment.agent == agent:
                assigned[key] = known_assignment
            else:
                assigned[key] = Assignment(conversation=key, agent=agent, assigned_at=at,
                                           enqueued_at=at, priority=row.priority or 0)
    active: dict[str, int] = {}
    for assignment in assigned.values():
        active[assignment.agent] = active.get(assignment.agent, 0) + 1
    agents = {name: attrs.evolve(slot, active=active.get(name, 0))
              for name, slot in queue.agents.items()}
    return attrs.evolve(queue, waiting=waiting, assigned=assigned, offers={}, agents=agents)


async def rebuild(db: Database, queue: QueueState, team_id: int) -> QueueState:
    return rebuilt(queue, await db.run(open_rows_of_team, team_id, readonly=True))

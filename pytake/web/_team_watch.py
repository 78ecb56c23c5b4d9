"""The ``watch_teams`` command of the agent socket: a supervisor's live view of every open
conversation of some teams, started as a snapshot and continued by the team feed
(`pytake.conversations.TeamFeed`, whose docstring shows why nothing falls between the two).

``{"id": 1, "type": "watch_teams", "teams": ["3", "5"]}`` is answered by an ``ack`` whose data
is the snapshot (``conversations``: each open conversation of those teams with its owner,
agent, priority, labels and customer), and followed on the same connection by one
``team.conversation`` frame per committed change. Watching again replaces the teams (an empty
list stops). The frames carry no ``seq``: after a reconnect the client watches again and gets
a new snapshot.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pytake.conversations import TeamFeed, TeamWatcher, conversation_change, team_conversations
from pytake.errors import StorageUnavailable
from pytake.identity import Principal
from pytake.store import Conversation, Customer, Database
from pytake.web._desk import AgentDesk
from pytake.web._permissions import COMMAND_PERMISSIONS, allowed
from pytake.web._rest_support import iso

__all__ = ["WATCH_TEAMS", "TeamWatch"]

log = logging.getLogger("pytake.web")

WATCH_TEAMS: Final = "watch_teams"
#: The most teams one connection watches, and conversations one snapshot holds.
MAX_TEAMS: Final = 50
SNAPSHOT_LIMIT: Final = 2000


def _snapshot_row(c: Conversation, customer: Customer) -> dict[str, Any]:
    row = conversation_change(int(c.id), {
        "team_id": c.team_id, "owner_state": str(c.owner_state),
        "assigned_agent_id": c.assigned_agent_id, "priority": c.priority,
        "labels": c.labels, "status": str(c.status),
    })
    row["customer"] = {"id": customer.id, "name": customer.name, "phone": customer.phone}
    row["opened_at"] = iso(c.opened_at)
    row["last_customer_message_at"] = iso(c.last_customer_message_at)
    return row


class TeamWatch:
    def __init__(self, feed: TeamFeed, db: Database, desk: AgentDesk) -> None:
        self._feed = feed
        self._db = db
        self._desk = desk

    def stop(self, watcher: TeamWatcher) -> None:
        self._feed.unsubscribe(watcher)

    async def command(self, watcher: TeamWatcher, principal: Principal,
                      frame: dict[str, Any]) -> bool:
        """Carry out one ``watch_teams`` frame: the answer, then the live changes, all
        offered to ``watcher`` in that order. Whether it was carried out (not refused)."""
        command_id = frame.get("id")

        def refuse(reason: str, code: str) -> None:
            watcher.offer({"type": "rejected", "id": command_id, "reason": reason,
                           "code": code})

        needed = COMMAND_PERMISSIONS[WATCH_TEAMS]
        if not allowed(principal.role, needed):
            refuse(f"{WATCH_TEAMS} needs permission {needed}, which role {principal.role} "
                   "does not have", "forbidden")
            return False
        teams = frame.get("teams")
        if not isinstance(teams, list) or len(teams) > MAX_TEAMS or not all(
                isinstance(t, str | int) and not isinstance(t, bool)
                and str(t).isdigit() and len(str(t)) < 19 for t in teams):
            refuse(f"teams must be a list of at most {MAX_TEAMS} team ids", "invalid")
            return False
        wanted = sorted({str(t) for t in teams}, key=int)
        for team in wanted:
            if not await self._desk.team_exists(team):
                refuse(f"no team {team}", "not_found")
                return False
        if not wanted:
            self._feed.unsubscribe(watcher)
            watcher.offer({"type": "ack", "id": command_id,
                           "data": {"teams": [], "conversations": [], "truncated": False}})
            return True
        # Subscribe first, read second: see TeamFeed's docstring.
        self._feed.subscribe(watcher, wanted)
        try:
            rows, truncated = await self._db.run(
                team_conversations, [int(t) for t in wanted], SNAPSHOT_LIMIT, readonly=True)
        except StorageUnavailable as exc:
            self._feed.unsubscribe(watcher)
            refuse(f"storage unavailable ({exc}); try again", "unavailable")
            return False
        snapshot = [_snapshot_row(c, customer) for c, customer in rows]
        watcher.offer({"type": "ack", "id": command_id, "data": {
            "teams": wanted, "conversations": snapshot, "truncated": truncated}})
        self._feed.go_live(watcher, (row["conversation_id"] for row in snapshot))
        return True

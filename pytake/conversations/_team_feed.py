"""`TeamFeed`: every change of a conversation's owner, team, agent, priority, labels or status,
pushed to the supervisors who watch its team, with a snapshot-then-live start that misses
nothing.

Where the changes come from: a ConversationActor writes its row's ownership columns with
each record (`ConversationLog`); once a record has committed, the log hands its columns here,
in commit order. Each change carries the whole set (``owner``, ``team``, ``agent``,
``priority``, ``labels``, ``status``): applying one is *setting* those values, so applying a
change twice, or an older change before a newer one of the same conversation, ends in the
newer one's values.

Why a watcher misses nothing (`subscribe`, then a snapshot, then `go_live`):

1. `subscribe` registers the watcher *before* the snapshot is read; from then on every
   committed change of its teams is kept in its buffer, in commit order.
2. The snapshot is read from the database: it holds every change committed before the read.
3. `go_live` sends the buffer after the snapshot, then changes as they come.

A change committed before the read is in the snapshot (and perhaps also in the buffer: set
again, same values); one committed after it was published after the subscription, so it is in
the buffer or live. For each conversation the last change applied is therefore its last
committed one. A conversation that leaves the watched teams (a transfer elsewhere) is still
sent to the watchers that knew it, once, so they can drop it.

The feed lives in one node's memory, as the agents' live connections do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Protocol

__all__ = ["TeamFeed", "TeamWatcher", "conversation_change"]

#: The frame type of one change.
CHANGE: Final = "team.conversation"


class TeamWatcher(Protocol):
    """Where a watcher's frames go (an agent socket's connection)."""

    def offer(self, frame: dict[str, Any]) -> None: ...

    def cut(self, reason: str, code: int | None = None) -> None: ...


def conversation_change(conversation_id: int, columns: dict[str, Any]) -> dict[str, Any]:
    """The frame data of one change, from the ownership columns a record wrote."""
    team = columns.get("team_id")
    agent = columns.get("assigned_agent_id")
    return {
        "conversation_id": conversation_id,
        "team": None if team is None else str(team),
        "owner": columns.get("owner_state"),
        "agent": None if agent is None else str(agent),
        "priority": columns.get("priority", 0),
        "labels": list(columns.get("labels") or []),
        "status": columns.get("status"),
    }


class _Watch:
    def __init__(self, watcher: TeamWatcher, teams: frozenset[str], limit: int) -> None:
        self.watcher = watcher
        self.teams = teams
        self.limit = limit
        #: conversations this watcher was told are in its teams (to tell it when one leaves)
        self.known: set[int] = set()
        self.buffer: list[dict[str, Any]] | None = []
        self.overflowed = False

    def offer(self, frame: dict[str, Any]) -> None:
        if self.overflowed:
            return
        if self.buffer is not None:
            # Kept whatever its team: whether a conversation leaving the teams concerns this
            # watcher depends on the snapshot, which is not known yet.
            if len(self.buffer) < self.limit:
                self.buffer.append(frame)
            else:  # the snapshot took too long for a busy node: the client watches again
                self.overflowed = True
                self.buffer = None
                self.watcher.cut("too slow: the team feed overflowed; reconnect")
            return
        self.send(frame)

    def send(self, frame: dict[str, Any]) -> None:
        data = frame["data"]
        conversation_id = data["conversation_id"]
        ours = data["team"] in self.teams and data["status"] != "resolved"
        if not ours and conversation_id not in self.known:
            return
        if ours:
            self.known.add(conversation_id)
        else:
            self.known.discard(conversation_id)
        self.watcher.offer(frame)


class TeamFeed:
    """Changes of conversations, by team, for the watchers of those teams (module docstring)."""

    def __init__(self, buffer_limit: int = 10_000) -> None:
        self.buffer_limit = buffer_limit
        self._watches: dict[TeamWatcher, _Watch] = {}
        #: changes published (for metrics and tests)
        self.published = 0

    def publish(self, conversation_id: int, columns: dict[str, Any]) -> None:
        """One committed change (called in commit order)."""
        self.published += 1
        if not self._watches:
            return
        frame = {"type": CHANGE, "data": conversation_change(conversation_id, columns)}
        for watch in list(self._watches.values()):
            watch.offer(frame)

    def subscribe(self, watcher: TeamWatcher, teams: Iterable[str]) -> None:
        """Start keeping ``teams``' changes for ``watcher`` (replacing what it watched);
        read the snapshot after this, then call `go_live`."""
        self._watches[watcher] = _Watch(watcher, frozenset(teams), self.buffer_limit)

    def go_live(self, watcher: TeamWatcher, snapshot: Iterable[int]) -> None:
        """The snapshot (these conversation ids) has been sent: send what was kept since
        `subscribe`, then changes as they come."""
        watch = self._watches.get(watcher)
        if watch is None or watch.buffer is None or watch.overflowed:
            return
        watch.known.update(snapshot)
        buffered, watch.buffer = watch.buffer, None
        for frame in buffered:
            watch.send(frame)

    def unsubscribe(self, watcher: TeamWatcher) -> None:
        self._watches.pop(watcher, None)

    def watching(self, watcher: TeamWatcher) -> frozenset[str]:
        watch = self._watches.get(watcher)
        return frozenset() if watch is None else watch.teams

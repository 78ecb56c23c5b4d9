"""Service levels from the conversation log as it commits: first response, handle time and
who resolved, as Prometheus histograms and counters.

The conversations already publish every committed log entry (`ConversationLog`'s
``on_event``); `ConversationPulse.observe` reads the owner moves from them, so measuring costs
a dict lookup per entry and no query.  It follows the rules of
`pytake.routing.compute_metrics`, per hand-off rather than per conversation: a conversation
reopened and handed to people again gets a new first response.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from pytake.routing import Owner

#: Conversations followed at once; the oldest are forgotten first (a conversation left open
#: for days should not keep memory that a busy node needs).
TRACKED: Final = 50_000

_HUMAN: Final = frozenset({Owner.QUEUED.value, Owner.OFFERED.value, Owner.ASSIGNED.value})
_RESOLVED_BY: Final = {Owner.FLOW.value: "bot", Owner.ASSIGNED.value: "agent"}
_BUCKETS: Final = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)


class _Followed:
    __slots__ = ("assigned_at", "handed_at", "owner")

    def __init__(self) -> None:
        self.owner = Owner.FLOW.value
        self.handed_at: float | None = None
        self.assigned_at: float | None = None


class ConversationPulse:
    """Feed it ``(type, data)`` as `ConversationLog` publishes them (``conversation.<type>``,
    with ``conversation_id``, ``at`` and the entry's payload)."""

    def __init__(self, registry: CollectorRegistry, tracked: int = TRACKED) -> None:
        self._tracked = tracked
        self._followed: OrderedDict[Any, _Followed] = OrderedDict()
        self.first_response = Histogram(
            "pytake_first_response_seconds",
            "From a conversation's hand-off to people to the first agent message",
            buckets=_BUCKETS, registry=registry,
        )
        self.handle = Histogram(
            "pytake_handle_seconds", "Time a conversation spent assigned to an agent, per "
            "assignment", buckets=_BUCKETS, registry=registry,
        )
        self.resolved = Counter(
            "pytake_conversations_resolved", "Conversations resolved, by the bot (in the "
            "flow) or by an agent", ["by"], registry=registry,
        )
        for by in ("bot", "agent", "unassigned"):
            self.resolved.labels(by)

    def _follow(self, conversation: Any) -> _Followed:
        followed = self._followed.get(conversation)
        if followed is None:
            followed = self._followed[conversation] = _Followed()
            if len(self._followed) > self._tracked:
                self._followed.popitem(last=False)
        else:
            self._followed.move_to_end(conversation)
        return followed

    def observe(self, type: str, data: dict[str, Any]) -> None:
        conversation, at = data.get("conversation_id"), data.get("at")
        if conversation is None or not isinstance(at, int | float):
            return
        if type == "conversation.agent_message":
            followed = self._followed.get(conversation)
            if followed is not None and followed.handed_at is not None:
                self.first_response.observe(max(0.0, at - followed.handed_at))
                followed.handed_at = None
            return
        to = data.get("to")
        if not isinstance(to, str):
            return
        followed = self._follow(conversation)
        source = data.get("from", followed.owner)
        if source == Owner.ASSIGNED.value and followed.assigned_at is not None and (
                to != Owner.ASSIGNED.value or data.get("agent") is not None):
            self.handle.observe(max(0.0, at - followed.assigned_at))
            followed.assigned_at = None
        if to == Owner.RESOLVED.value and source != Owner.RESOLVED.value:
            self.resolved.labels(_RESOLVED_BY.get(str(source), "unassigned")).inc()
            self._followed.pop(conversation, None)
            return
        if to in _HUMAN and source not in _HUMAN:
            followed.handed_at = at
        if to == Owner.ASSIGNED.value:
            followed.assigned_at = at
        followed.owner = to

"""Conversation metrics, recomputable from the conversation's event log.

Everything that defines a conversation metric lives in this file.

The ConversationActor appends one :class:`ConversationEvent` for every owner transition
(:func:`transition_event`) and every message (:func:`message_event`).  Metrics are a pure
function of that log (:func:`compute_metrics`), so they can be recomputed at any time (after a
bug fix, with a new definition) from what was stored.

Definitions (times in seconds; ``None`` when the thing never happened):

- ``wait_time``: total time spent waiting for an agent (``queued`` or ``offered``), summed
  over every wait (after transfers and reopenings too).
- ``handle_time``: total time an agent owned it (``assigned``), summed over agents.
- ``first_response_time``: from the first time the conversation was handed to people
  (entered ``queued``, ``offered`` or ``assigned``) to the first agent message after that.
  Bot replies never count: this is the customer's wait for a human.
- ``transfers``: ``transfer_to_team`` + ``transfer_to_agent`` events (a supervisor's
  ``reassign`` is counted apart, in ``reassignments``).
- ``resolved_by``: who owned it when it was last resolved (``"bot"``, ``"agent"``, or
  ``"unassigned"`` when closed while waiting); ``None`` if it is not resolved now.
- ``reopens``: how many times a resolved conversation came back.

An interval still open at the end of the log runs to ``now`` if given, else to the last event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ._ownership import Owner, Ownership, OwnershipEvent

__all__ = [
    "MESSAGE_TYPES",
    "ConversationEvent",
    "ConversationMetrics",
    "compute_metrics",
    "message_event",
    "transition_event",
]

#: Log types of messages; every other type is an owner transition named by its event kind.
MESSAGE_TYPES = frozenset({"customer_message", "bot_message", "agent_message"})

_WAITING = {Owner.QUEUED.value, Owner.OFFERED.value}
_HUMAN = {Owner.QUEUED.value, Owner.OFFERED.value, Owner.ASSIGNED.value}
_RESOLVED_BY = {Owner.FLOW.value: "bot", Owner.ASSIGNED.value: "agent"}


@attrs.frozen(kw_only=True)
class ConversationEvent:
    """One entry of a conversation's log: ``type``, when (epoch seconds) and details.

    A transition's payload has ``from`` and ``to`` (owner values), ``team`` and ``agent``
    after it, and under ``event`` the event's own fields (who declined, who supervised).
    A customer message is logged once, as ``customer_message`` with ``from``/``to``.
    """

    type: str
    at: float
    payload: dict[str, Any] = attrs.field(factory=dict)
    #: what caused it, when the same cause can come again (a journaled message handled again
    #: after a crash): the log keeps one event per key
    key: str | None = None


def transition_event(
    event: OwnershipEvent, before: Ownership, after: Ownership
) -> ConversationEvent:
    """The log entry for ``event`` having moved ``before`` to ``after``."""
    fields = attrs.asdict(event, recurse=False)
    fields.pop("at")
    payload: dict[str, Any] = {
        "from": before.owner.value,
        "to": after.owner.value,
        "team": after.team,
        "agent": after.agent,
        "event": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
    }
    return ConversationEvent(type=event.kind, at=event.at, payload=payload)


def message_event(
    sender: str, at: float, *, key: str | None = None, **payload: Any
) -> ConversationEvent:
    """The log entry for a message from ``"customer"``, ``"bot"`` or ``"agent"``."""
    kind = f"{sender}_message"
    if kind not in MESSAGE_TYPES:
        raise ValueError(f"sender must be customer, bot or agent, not {sender!r}")
    return ConversationEvent(type=kind, at=at, payload=dict(payload), key=key)


@attrs.frozen(kw_only=True)
class ConversationMetrics:
    """The metrics defined in this module's docstring."""

    first_response_time: float | None = None
    wait_time: float | None = None
    handle_time: float | None = None
    transfers: int = 0
    reassignments: int = 0
    reopens: int = 0
    resolved_by: str | None = None
    resolved_at: float | None = None
    agents: tuple[str, ...] = ()


def compute_metrics(
    events: Iterable[ConversationEvent], *, now: float | None = None
) -> ConversationMetrics:
    """The metrics of one conversation from its log (in any order; sorted by ``at``,
    stably, so entries logged in the same instant keep their order)."""
    log = sorted(events, key=lambda e: e.at)
    owner = Owner.FLOW.value
    since: float | None = log[0].at if log else None
    wait: float | None = None
    handle: float | None = None
    handed_at: float | None = None
    first_response: float | None = None
    transfers = reassignments = reopens = 0
    resolved_by: str | None = None
    resolved_at: float | None = None
    agents: list[str] = []

    def close_interval(until: float) -> None:
        nonlocal wait, handle
        if since is None:
            return
        spent = max(0.0, until - since)
        if owner in _WAITING:
            wait = (wait or 0.0) + spent
        elif owner == Owner.ASSIGNED.value:
            handle = (handle or 0.0) + spent

    for event in log:
        if event.type == "agent_message":
            if handed_at is not None and first_response is None:
                first_response = event.at - handed_at
            continue
        to = event.payload.get("to")
        if to is None:
            continue  # a message that did not move the owner
        source = event.payload.get("from", owner)
        if event.type in ("transfer_to_team", "transfer_to_agent"):
            transfers += 1
        elif event.type == "reassign":
            reassignments += 1
        close_interval(event.at)
        if source == Owner.RESOLVED.value and to != Owner.RESOLVED.value:
            reopens += 1
            resolved_by = resolved_at = None
        if to == Owner.RESOLVED.value:
            resolved_by = _RESOLVED_BY.get(source, "unassigned")
            resolved_at = event.at
        if to in _HUMAN and handed_at is None:
            handed_at = event.at
        agent = event.payload.get("agent")
        if to == Owner.ASSIGNED.value and agent is not None and agent not in agents:
            agents.append(agent)
        owner, since = to, event.at

    if log:
        close_interval(now if now is not None else log[-1].at)
    return ConversationMetrics(
        first_response_time=first_response,
        wait_time=wait,
        handle_time=handle,
        transfers=transfers,
        reassignments=reassignments,
        reopens=reopens,
        resolved_by=resolved_by,
        resolved_at=resolved_at,
        agents=tuple(agents),
    )

"""Who owns a conversation: the owner state machine, as a table.

Everything that decides who owns a conversation lives in this file.

States (:class:`Owner`)::

    FLOW ──handoff──▶ QUEUED ──offer──▶ OFFERED ──accept──▶ ASSIGNED ──resolve──▶ RESOLVED
      ▲                 ▲ ◀──decline / offer_expired / requeue──┘ │                    │
      │                 └──────────transfer_to_team───────────────┘                    │
      └──────────────── customer_message after the reopen window (or bot-resolved) ────┤
                        QUEUED ◀── customer_message within the reopen window ──────────┘

Rules:

1. Exactly one owner at a time.  ``FLOW`` means the bot (the running flow) owns it;
   ``QUEUED`` and ``OFFERED`` mean the team's queue owns it (an offer only *reserves* it for
   one agent); ``ASSIGNED`` means exactly one agent owns it; ``RESOLVED`` means nobody does.
2. Inbound customer messages go only to the owner (:data:`INBOUND_HANDLER`): the bot answers
   only in ``FLOW``; while the queue owns it messages are kept for whoever accepts (no bot
   reply); in ``ASSIGNED`` only the agent sees them.  A bot never answers a conversation an
   agent owns.
3. Every allowed ``(state, event kind)`` pair is a row of :data:`TRANSITIONS`; anything else
   raises :class:`InvalidTransition` and leaves the state untouched.  Some events are first
   refined into a more precise kind by a guard (:func:`event_kind`): an accept by an agent
   other than the one offered is ``"accept_other_agent"``, which has no row, for instance.
4. Reopening: a customer message after ``RESOLVED`` within ``reopen_window`` seconds of the
   resolution goes back to the queue of the team that last had the conversation, with the
   last agent as the sticky preference; otherwise (window passed, or the bot resolved it and
   no team ever had it) it starts over in the flow.  Chosen because a customer who writes
   "one more thing" minutes after an agent closed the chat wants that agent's team, not the
   bot's welcome menu; after the window it is a new matter.
5. Events that originate in the queue (``offer``, ``accept``, ``decline``, ``offer_expired``,
   ``requeue``) carry no queue effects: the queue already applied them.  Every other exit
   from ``QUEUED``/``OFFERED`` emits :class:`DequeueFrom`, every other entry into ``QUEUED``
   emits :class:`EnqueueIn`, and every exit from ``ASSIGNED`` emits :class:`ReleaseAgent` (so
   capacity is freed by the event, never by a sweep).

The state is frozen attrs data (cattrs/JSON friendly) and :func:`transition` is pure: time
comes in on the events (``at``, epoch seconds), effects go out as data for the actor to carry
out.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import ClassVar, Literal

import attrs

from ..errors import InvalidTransition

#: Seconds after a resolution during which a customer message reopens to the last team.
DEFAULT_REOPEN_WINDOW = 24 * 3600.0

Handler = Literal["bot", "agent", "queue"]
ResolvedBy = Literal["bot", "agent", "unassigned"]


class Owner(enum.Enum):
    """The owner states (sentinels, not strings, as in h11)."""

    FLOW = "flow"
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


#: Who handles a customer message in each state.  ``RESOLVED`` has no handler of its own: the
#: message first reopens the conversation (rule 4) and the new state's handler takes it.
INBOUND_HANDLER: Mapping[Owner, Handler | None] = {
    Owner.FLOW: "bot",
    Owner.QUEUED: "queue",
    Owner.OFFERED: "queue",
    Owner.ASSIGNED: "agent",
    Owner.RESOLVED: None,
}


@attrs.frozen(kw_only=True)
class Ownership:
    """One conversation's owner and what routing needs to remember about it.

    Invariants: ``FLOW`` has no ``team``/``agent``; ``QUEUED`` has a ``team`` and no
    ``agent``; ``OFFERED`` has both (the agent holding the reservation); ``ASSIGNED`` has an
    ``agent`` (``team`` is ``None`` only when a supervisor took it straight from the flow);
    ``RESOLVED`` has neither, and ``last_team``/``last_agent``/``resolved_at`` say who had it.
    """

    owner: Owner = Owner.FLOW
    team: str | None = None
    agent: str | None = None
    #: queue priority given at handoff (higher is served first), kept across requeues
    priority: int = 0
    #: skills the conversation requires (honoured by the ``skills`` strategy)
    skills: tuple[str, ...] = ()
    #: when the current state began (epoch seconds), ``None`` before the first event
    since: float | None = None
    last_team: str | None = None
    #: the last agent that owned it, and when they stopped (for sticky routing)
    last_agent: str | None = None
    last_agent_at: float | None = None
    resolved_at: float | None = None
    resolved_by: ResolvedBy | None = None


# --- events ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OwnershipEvent:
    """Base of the events; ``at`` is when it happened (epoch seconds)."""

    kind: ClassVar[str] = ""
    at: float


@attrs.frozen(kw_only=True)
class Handoff(OwnershipEvent):
    """The flow hands the conversation to ``team``'s queue."""

    kind: ClassVar[str] = "handoff"
    team: str
    priority: int = 0
    skills: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Offered(OwnershipEvent):
    """The queue reserved the conversation for ``agent`` (queue-originated)."""

    kind: ClassVar[str] = "offer"
    agent: str


@attrs.frozen(kw_only=True)
class Accept(OwnershipEvent):
    """``agent`` accepted the offer, and the queue confirmed it (queue-originated)."""

    kind: ClassVar[str] = "accept"
    agent: str


@attrs.frozen(kw_only=True)
class Decline(OwnershipEvent):
    """``agent`` declined the offer; the queue offers it to the next agent (queue-originated)."""

    kind: ClassVar[str] = "decline"
    agent: str


@attrs.frozen(kw_only=True)
class OfferExpired(OwnershipEvent):
    """``agent`` let the reservation time out (queue-originated)."""

    kind: ClassVar[str] = "offer_expired"
    agent: str


@attrs.frozen(kw_only=True)
class Requeue(OwnershipEvent):
    """The queue took the conversation back (its agent went offline under the ``requeue``
    policy, or went away while holding the offer) (queue-originated)."""

    kind: ClassVar[str] = "requeue"
    reason: str = "agent_offline"


@attrs.frozen(kw_only=True)
class TransferToTeam(OwnershipEvent):
    """Move the conversation to ``team``'s queue (``priority``/``skills`` default to the
    current ones)."""

    kind: ClassVar[str] = "transfer_to_team"
    team: str
    priority: int | None = None
    skills: tuple[str, ...] | None = None


@attrs.frozen(kw_only=True)
class TransferToAgent(OwnershipEvent):
    """Give the conversation straight to ``agent`` (optionally changing ``team``)."""

    kind: ClassVar[str] = "transfer_to_agent"
    agent: str
    team: str | None = None


@attrs.frozen(kw_only=True)
class Reassign(OwnershipEvent):
    """A supervisor (``by``) gives the conversation to ``agent``, taking it from whoever had
    it, the bot included.  Not counted as a transfer."""

    kind: ClassVar[str] = "reassign"
    agent: str
    by: str = ""
    team: str | None = None


@attrs.frozen(kw_only=True)
class ReturnToFlow(OwnershipEvent):
    """Give the conversation back to the bot (an agent hands back, or a closed team's
    after-hours policy sends the customer to the flow)."""

    kind: ClassVar[str] = "return_to_flow"


@attrs.frozen(kw_only=True)
class Resolve(OwnershipEvent):
    """Close the conversation; ``by`` says who clicked (agent id, ``"bot"``, a supervisor)."""

    kind: ClassVar[str] = "resolve"
    by: str = ""


@attrs.frozen(kw_only=True)
class CustomerMessage(OwnershipEvent):
    """A customer message (or a coalesced burst, delivered as one turn) arrived at ``at``."""

    kind: ClassVar[str] = "customer_message"


# --- effects -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EnqueueIn:
    """Put the conversation in ``team``'s queue; prefer ``sticky_agent`` (last owner)."""

    team: str
    priority: int
    skills: tuple[str, ...]
    sticky_agent: str | None
    sticky_at: float | None


@attrs.frozen(kw_only=True)
class DequeueFrom:
    """Take the conversation out of ``team``'s queue, withdrawing any outstanding offer."""

    team: str


@attrs.frozen(kw_only=True)
class ReleaseAgent:
    """``agent`` no longer owns the conversation: its capacity is free (``team`` may be
    ``None`` after a supervisor took it from the flow)."""

    agent: str
    team: str | None


@attrs.frozen(kw_only=True)
class NotifyAssigned:
    """``agent`` now owns the conversation without an offer (transfer or reassign): tell the
    agent, and count it against the agent's capacity in ``team``'s queue."""

    agent: str
    team: str | None


@attrs.frozen(kw_only=True)
class DeliverTo:
    """Deliver the customer's message to ``handler`` (``agent`` set when it is an agent)."""

    handler: Handler
    agent: str | None = None


@attrs.frozen(kw_only=True)
class StartFlow:
    """Run the flow for this conversation (``restart``: from its start, not where it was)."""

    restart: bool


@attrs.frozen(kw_only=True)
class Reopened:
    """A resolved conversation was reopened into ``team``'s queue."""

    team: str


@attrs.frozen(kw_only=True)
class Resolved:
    """The conversation was resolved, while owned by ``by``."""

    by: ResolvedBy


OwnershipEffect = (
    EnqueueIn | DequeueFrom | ReleaseAgent | NotifyAssigned | DeliverTo | StartFlow | Reopened
    | Resolved
)


# --- the table ---------------------------------------------------------------------------


@attrs.frozen
class Rule:
    """One row of the table: the next state and the names of the effects, in order."""

    next: Owner
    effects: tuple[str, ...] = ()


F, Q, OF, A, R = Owner.FLOW, Owner.QUEUED, Owner.OFFERED, Owner.ASSIGNED, Owner.RESOLVED

#: Event kinds the queue originates; they carry no queue effects (rule 5).
QUEUE_ORIGINATED = frozenset({"offer", "accept", "decline", "offer_expired", "requeue"})

#: Every allowed transition.  Keys are ``(state, event kind)``; see :func:`event_kind`.
TRANSITIONS: Mapping[tuple[Owner, str], Rule] = {
    # the bot owns it
    (F, "customer_message"): Rule(F, ("deliver",)),
    (F, "handoff"): Rule(Q, ("enqueue",)),
    (F, "reassign"): Rule(A, ("assign",)),
    (F, "resolve"): Rule(R, ("resolved",)),
    # waiting in a team's queue
    (Q, "customer_message"): Rule(Q, ("deliver",)),
    (Q, "offer"): Rule(OF),
    (Q, "transfer_to_team"): Rule(Q, ("dequeue", "enqueue")),
    (Q, "transfer_to_agent"): Rule(A, ("dequeue", "assign")),
    (Q, "reassign"): Rule(A, ("dequeue", "assign")),
    (Q, "return_to_flow"): Rule(F, ("dequeue", "start_flow")),
    (Q, "resolve"): Rule(R, ("dequeue", "resolved")),
    # reserved for one agent
    (OF, "customer_message"): Rule(OF, ("deliver",)),
    (OF, "accept"): Rule(A),
    (OF, "decline"): Rule(Q),
    (OF, "offer_expired"): Rule(Q),
    (OF, "requeue"): Rule(Q),
    (OF, "transfer_to_team"): Rule(Q, ("dequeue", "enqueue")),
    (OF, "transfer_to_agent"): Rule(A, ("dequeue", "assign")),
    (OF, "reassign"): Rule(A, ("dequeue", "assign")),
    (OF, "return_to_flow"): Rule(F, ("dequeue", "start_flow")),
    (OF, "resolve"): Rule(R, ("dequeue", "resolved")),
    # an agent owns it
    (A, "customer_message"): Rule(A, ("deliver",)),
    (A, "requeue"): Rule(Q, ("release",)),
    (A, "transfer_to_team"): Rule(Q, ("release", "enqueue")),
    (A, "transfer_to_agent"): Rule(A, ("release", "assign")),
    (A, "reassign"): Rule(A, ("release", "assign")),
    (A, "return_to_flow"): Rule(F, ("release", "start_flow")),
    (A, "resolve"): Rule(R, ("release", "resolved")),
    # closed; a customer message reopens it (rule 4)
    (R, "customer_message_reopen"): Rule(Q, ("reopened", "enqueue", "deliver")),
    (R, "customer_message_restart"): Rule(F, ("start_flow", "deliver")),
}

del F, Q, OF, A, R


def event_kind(
    ownership: Ownership, event: OwnershipEvent, *, reopen_window: float = DEFAULT_REOPEN_WINDOW
) -> str:
    """The key :data:`TRANSITIONS` is consulted with: ``event.kind``, refined by guards.

    - accept/decline/offer_expired by an agent other than the one offered:
      ``"<kind>_other_agent"`` (a stale click or timer; no row);
    - transfer_to_team to the queue it already waits in: ``"transfer_to_same_team"``;
    - transfer_to_agent/reassign to the agent that already owns it: ``"<kind>_same_agent"``;
    - requeue of a conversation no team has (a supervisor took it from the flow):
      ``"requeue_without_team"``;
    - customer_message while resolved: ``"customer_message_reopen"`` within the window when
      a team had it, else ``"customer_message_restart"``.
    """
    kind = event.kind
    if isinstance(event, Accept | Decline | OfferExpired):
        if event.agent != ownership.agent:
            return f"{kind}_other_agent"
    elif isinstance(event, TransferToTeam):
        if ownership.owner in (Owner.QUEUED, Owner.OFFERED) and event.team == ownership.team:
            return "transfer_to_same_team"
    elif isinstance(event, TransferToAgent | Reassign):
        if ownership.owner is Owner.ASSIGNED and event.agent == ownership.agent:
            return f"{kind}_same_agent"
    elif isinstance(event, Requeue):
        if ownership.team is None:
            return "requeue_without_team"
    elif isinstance(event, CustomerMessage) and ownership.owner is Owner.RESOLVED:
        reopen = (
            ownership.last_team is not None
            and ownership.resolved_at is not None
            and event.at - ownership.resolved_at <= reopen_window
        )
        return "customer_message_reopen" if reopen else "customer_message_restart"
    return kind


def _resolved_by(owner: Owner) -> ResolvedBy:
    if owner is Owner.FLOW:
        return "bot"
    if owner is Owner.ASSIGNED:
        return "agent"
    return "unassigned"


def _next_state(before: Ownership, event: OwnershipEvent, rule: Rule, kind: str) -> Ownership:
    if kind == "customer_message":
        return before  # a message to the current owner changes nothing about ownership
    at = event.at
    new = attrs.evolve(before, owner=rule.next, since=at)
    if before.owner is Owner.ASSIGNED and before.agent is not None:
        # Whoever stops owning it becomes the sticky candidate.
        new = attrs.evolve(new, last_agent=before.agent, last_agent_at=at)
    if before.team is not None:
        new = attrs.evolve(new, last_team=before.team)

    nxt = rule.next
    if nxt is Owner.FLOW:
        return attrs.evolve(new, team=None, agent=None, resolved_at=None, resolved_by=None)
    if nxt is Owner.RESOLVED:
        return attrs.evolve(
            new, team=None, agent=None, resolved_at=at, resolved_by=_resolved_by(before.owner)
        )
    if nxt is Owner.QUEUED:
        if isinstance(event, Handoff):
            return attrs.evolve(
                new, team=event.team, agent=None, priority=event.priority, skills=event.skills
            )
        if isinstance(event, TransferToTeam):
            return attrs.evolve(
                new,
                team=event.team,
                agent=None,
                priority=before.priority if event.priority is None else event.priority,
                skills=before.skills if event.skills is None else event.skills,
            )
        if kind == "customer_message_reopen":
            return attrs.evolve(
                new, team=before.last_team, agent=None, resolved_at=None, resolved_by=None
            )
        return attrs.evolve(new, agent=None)  # decline, expiry, requeue: same team
    if nxt is Owner.OFFERED:
        assert isinstance(event, Offered)
        return attrs.evolve(new, agent=event.agent)
    # ASSIGNED
    assert isinstance(event, Accept | TransferToAgent | Reassign)
    team = before.team
    if isinstance(event, TransferToAgent | Reassign) and event.team is not None:
        team = event.team
    return attrs.evolve(new, agent=event.agent, team=team)


def _effect(name: str, before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    builder = _EFFECT_BUILDERS[name]
    return builder(before, after, kind)


def _enqueue(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    assert after.team is not None
    return EnqueueIn(
        team=after.team,
        priority=after.priority,
        skills=after.skills,
        sticky_agent=after.last_agent,
        sticky_at=after.last_agent_at,
    )


def _dequeue(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    assert before.team is not None
    return DequeueFrom(team=before.team)


def _release(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    assert before.agent is not None
    return ReleaseAgent(agent=before.agent, team=before.team)


def _assign(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    assert after.agent is not None
    return NotifyAssigned(agent=after.agent, team=after.team)


def _deliver(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    handler = INBOUND_HANDLER[after.owner]
    assert handler is not None
    return DeliverTo(handler=handler, agent=after.agent if handler == "agent" else None)


def _start_flow(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    return StartFlow(restart=before.owner is Owner.RESOLVED)


def _reopened(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    assert after.team is not None
    return Reopened(team=after.team)


def _resolved(before: Ownership, after: Ownership, kind: str) -> OwnershipEffect:
    assert after.resolved_by is not None
    return Resolved(by=after.resolved_by)


_EFFECT_BUILDERS: Mapping[str, Callable[[Ownership, Ownership, str], OwnershipEffect]] = {
    "enqueue": _enqueue,
    "dequeue": _dequeue,
    "release": _release,
    "assign": _assign,
    "deliver": _deliver,
    "start_flow": _start_flow,
    "reopened": _reopened,
    "resolved": _resolved,
}


def transition(
    ownership: Ownership,
    event: OwnershipEvent,
    *,
    reopen_window: float = DEFAULT_REOPEN_WINDOW,
) -> tuple[Ownership, tuple[OwnershipEffect, ...]]:
    """Apply ``event``: the new ownership and the effects for the actor to carry out.

    Raises :class:`InvalidTransition` (state untouched) when the table has no row for
    ``(ownership.owner, event_kind(...))``.
    """
    kind = event_kind(ownership, event, reopen_window=reopen_window)
    rule = TRANSITIONS.get((ownership.owner, kind))
    if rule is None:
        raise InvalidTransition(ownership.owner, event, kind)
    after = _next_state(ownership, event, rule, kind)
    effects = tuple(_effect(name, ownership, after, kind) for name in rule.effects)
    return after, effects


def who_handles_inbound(
    ownership: Ownership | Owner,
    at: float | None = None,
    *,
    reopen_window: float = DEFAULT_REOPEN_WINDOW,
) -> Handler:
    """Who gets a customer message arriving at ``at``: ``"bot"``, ``"agent"`` or ``"queue"``.

    For a resolved conversation this is the handler after the reopen rule (which needs the
    full :class:`Ownership` and ``at``).  Never ``"bot"`` while an agent owns it.
    """
    owner = ownership if isinstance(ownership, Owner) else ownership.owner
    handler = INBOUND_HANDLER[owner]
    if handler is not None:
        return handler
    if isinstance(ownership, Owner) or at is None:
        raise ValueError("a resolved conversation needs its Ownership and the message time")
    _, effects = transition(ownership, CustomerMessage(at=at), reopen_window=reopen_window)
    deliver = next(e for e in effects if isinstance(e, DeliverTo))
    return deliver.handler

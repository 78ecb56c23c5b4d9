"""One team's queue: who waits, which agent gets offered what, and when.

Everything that affects the queue lives in this file.  A ``QueueActor`` holds one
:class:`QueueState`, feeds it every event with the current time, carries out the effects, and
sets one timer for :meth:`QueueState.next_deadline`.  There is no periodic sweep.

Rules:

1. **Every event pulls.**  Every operation that changes the queue (a new entry, an agent
   coming online, capacity freed by a resolve or transfer, an offer declined or expired)
   first expires the offers whose reservation is due, then applies itself, then offers
   waiting conversations to free agents (:meth:`QueueState.next_assignments`), all in one
   pure step that returns ``(new_state, effects)``.  The old state is never modified, so an
   operation that raises changes nothing.
2. **Order.**  Waiting conversations are taken by *effective priority* (``priority`` plus
   ``policy.aging_per_minute`` for every minute waited), highest first, then oldest
   ``enqueued_at``, then conversation id.  Aging is linear and the same for everyone, so the
   order of two waiting conversations never changes while they wait: only newcomers are
   slotted in.  A conversation no free agent can take (skills) does not hold up the ones
   behind it.
3. **Agent choice** (``policy.strategy``), among agents that are ``ONLINE``, below capacity
   *counting their outstanding offers*, and that have not declined or let this
   conversation's offer expire:

   - ``ROUND_ROBIN``: the agent offered work longest ago (never offered first), then by id;
   - ``LEAST_BUSY``: the lowest ``load / capacity``, ties to the longest idle (offered work
     longest ago), then by id;
   - ``SKILLS``: only agents having every skill the conversation requires, then as
     ``LEAST_BUSY``.  The other strategies ignore required skills.

   **Sticky**: when ``policy.sticky_hours`` is set, the customer's last agent is preferred
   over the strategy if they are such a candidate and stopped serving this customer at most
   that many hours ago.  If everyone who could take a conversation has declined it, the
   decliners are tried again (the conversation is never stranded).
4. **Offers.**  At most one outstanding offer per conversation (offers are keyed by
   conversation).  An offer reserves a slot of the agent until it is accepted, declined, or
   expires ``policy.reservation_timeout`` seconds after it was made; then the next agent is
   offered it.  :meth:`~QueueState.accept` is strict (raises :class:`OfferNotFound`: the agent
   must hear "too late"); a decline or expiry of an offer that no longer exists is a no-op,
   because clicks and timers race with everything else.
5. **Presence.**  An agent going ``AWAY`` or ``OFFLINE`` returns its outstanding offers at
   once.  ``AWAY`` keeps its conversations; ``OFFLINE`` keeps them under the
   ``KEEP`` policy and puts them back in the queue under ``REQUEUE`` (with their original
   ``enqueued_at``, so they go before newcomers), reported as :class:`Requeued` effects.
6. **Capacity** is per agent across teams: ``AgentSlot.active`` is the agent's number of
   conversations (its AgentActor re-states it with :meth:`~QueueState.upsert_agent`), this
   queue's assignments raise it and :meth:`~QueueState.release` and
   :meth:`~QueueState.capacity_freed` lower it.  A direct assignment (transfer to an agent,
   supervisor reassign) may exceed capacity: a person decided it.  Two queues may offer the
   same agent's last slot at once; the AgentActor declines the second.
7. **Estimated wait** (:meth:`~QueueState.estimated_wait`): with ``ahead`` conversations
   ranked before this one and not yet offered, ``free`` free slots and ``slots`` total slots
   of the online agents that could take it, and ``H`` the moving average of handle times
   (exponential, ``policy.handle_time_alpha``, measured from assignment to release; until the
   first release ``policy.handle_time_default``)::

       wait = 0                                   if ahead < free
       wait = (ahead - free + 1) * H / slots      otherwise
       wait = None                                if slots == 0 (nobody online can take it)

   i.e. the queue drains at ``slots / H`` conversations per second.

All times are epoch seconds (floats) passed in by the caller; the state is frozen attrs with
string keys, so it snapshots to JSON through cattrs as is.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Literal

import attrs

from ..errors import OfferNotFound, QueueError

__all__ = [
    "AgentSlot",
    "AgentStatus",
    "Assignment",
    "Offer",
    "OfferAccepted",
    "OfferWithdrawn",
    "OfflinePolicy",
    "QueueEffect",
    "QueuePolicy",
    "QueueState",
    "Requeued",
    "Strategy",
    "WaitingEntry",
    "WithdrawReason",
]


class Strategy(enum.Enum):
    """How a team picks the agent for a waiting conversation (rule 3)."""

    ROUND_ROBIN = "round_robin"
    LEAST_BUSY = "least_busy"
    SKILLS = "skills"


class AgentStatus(enum.Enum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class OfflinePolicy(enum.Enum):
    """What happens to an agent's conversations when it goes offline (rule 5)."""

    REQUEUE = "requeue"
    KEEP = "keep"


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0 or math.isnan(value):
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def _count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


def _optional_non_negative(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and (value < 0 or math.isnan(value)):
        raise ValueError(f"{attribute.name} must be >= 0 or None, not {value!r}")


def _fraction(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 < value <= 1:
        raise ValueError(f"{attribute.name} must be in (0, 1], not {value!r}")


def _skills(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(value)))


@attrs.frozen(kw_only=True)
class QueuePolicy:
    """A team's routing settings."""

    strategy: Strategy = Strategy.LEAST_BUSY
    #: seconds an agent has to accept an offer before it goes to the next agent
    reservation_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: priority points a conversation gains per minute waited (0: no aging)
    aging_per_minute: float = attrs.field(default=0.0, validator=_non_negative)
    #: prefer the customer's last agent if they served them within this many hours (None: off)
    sticky_hours: float | None = attrs.field(default=None, validator=_optional_non_negative)
    offline_policy: OfflinePolicy = OfflinePolicy.REQUEUE
    #: handle time (seconds) assumed by the wait estimate before any has been measured
    handle_time_default: float = attrs.field(default=300.0, validator=_positive)
    #: weight of the newest handle time in the moving average
    handle_time_alpha: float = attrs.field(default=0.2, validator=_fraction)


@attrs.frozen(kw_only=True)
class WaitingEntry:
    """A conversation waiting in the queue (also while an offer for it is outstanding)."""

    conversation: str
    enqueued_at: float
    priority: int = 0
    skills: tuple[str, ...] = attrs.field(default=(), converter=_skills)
    #: the customer's last agent and when they stopped serving them (sticky routing)
    last_agent: str | None = None
    last_agent_at: float | None = None
    #: agents that declined this conversation or let its offer expire (rule 3)
    declined_by: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class AgentSlot:
    """What the queue knows about one agent of the team."""

    agent: str
    status: AgentStatus = AgentStatus.OFFLINE
    capacity: int = attrs.field(default=1, validator=_count)
    #: conversations the agent owns, in every team (rule 6)
    active: int = attrs.field(default=0, validator=_count)
    skills: tuple[str, ...] = attrs.field(default=(), converter=_skills)
    #: when the agent was last offered work here (round-robin order, least-busy ties)
    last_offered_at: float | None = None


@attrs.frozen(kw_only=True)
class Offer:
    """An outstanding reservation of ``conversation`` for ``agent`` (also the effect that
    tells the actor to show the offer to the agent and tell the conversation)."""

    conversation: str
    agent: str
    offered_at: float
    expires_at: float


@attrs.frozen(kw_only=True)
class Assignment:
    """A conversation this queue gave to an agent (kept to requeue it and time it)."""

    conversation: str
    agent: str
    assigned_at: float
    enqueued_at: float
    priority: int = 0
    skills: tuple[str, ...] = ()


WithdrawReason = Literal["declined", "expired", "agent_away", "agent_offline", "removed"]


@attrs.frozen(kw_only=True)
class OfferWithdrawn:
    """The offer is gone without an accept; tell the agent's UI and the conversation
    (``declined`` → ``Decline``, ``expired`` → ``OfferExpired``, ``agent_*`` → ``Requeue``;
    ``removed`` means the conversation itself asked to leave the queue)."""

    conversation: str
    agent: str
    reason: WithdrawReason


@attrs.frozen(kw_only=True)
class OfferAccepted:
    """``agent`` owns ``conversation`` now; tell the conversation (``Accept``)."""

    conversation: str
    agent: str


@attrs.frozen(kw_only=True)
class Requeued:
    """``agent`` went offline and ``conversation`` is back in the queue (``Requeue``)."""

    conversation: str
    agent: str


QueueEffect = Offer | OfferWithdrawn | OfferAccepted | Requeued
Step = tuple["QueueState", tuple[QueueEffect, ...]]


@attrs.frozen(kw_only=True)
class QueueState:
    """One team's queue.  Every operation returns ``(new_state, effects)`` (rule 1)."""

    team: str
    policy: QueuePolicy = attrs.field(factory=QueuePolicy)
    waiting: dict[str, WaitingEntry] = attrs.field(factory=dict)
    agents: dict[str, AgentSlot] = attrs.field(factory=dict)
    #: outstanding offers by conversation: at most one each (rule 4)
    offers: dict[str, Offer] = attrs.field(factory=dict)
    assigned: dict[str, Assignment] = attrs.field(factory=dict)
    #: moving average of handle times (seconds), ``None`` until the first release
    handle_time_avg: float | None = None
    handle_samples: int = 0

    # --- queries -------------------------------------------------------------------------

    def load(self, agent: str) -> int:
        """The agent's active conversations plus its outstanding offers here."""
        slot = self.agents[agent]
        return slot.active + sum(1 for o in self.offers.values() if o.agent == agent)

    def effective_priority(self, entry: WaitingEntry, now: float) -> float:
        """``priority`` plus the aging earned by ``now`` (rule 2)."""
        return entry.priority + self.policy.aging_per_minute * (now - entry.enqueued_at) / 60

    def ranked(self) -> list[WaitingEntry]:
        """Waiting conversations in the order they are served (rule 2)."""
        if not self.waiting:
            return []
        # The order does not depend on the time it is evaluated at; use a nearby reference
        # to keep the floats small.
        ref = max(e.enqueued_at for e in self.waiting.values())
        return sorted(
            self.waiting.values(),
            key=lambda e: (-self.effective_priority(e, ref), e.enqueued_at, e.conversation),
        )

    def position(self, conversation: str) -> int:
        """1-based place in the queue (1: served next).  Raises :class:`QueueError` if the
        conversation is not waiting here."""
        if conversation not in self.waiting:
            raise QueueError(f"{conversation!r} is not waiting in team {self.team!r}")
        for index, entry in enumerate(self.ranked(), start=1):
            if entry.conversation == conversation:
                return index
        raise AssertionError("unreachable")  # pragma: no cover

    def estimated_wait(self, conversation: str, now: float) -> float | None:
        """Seconds until an agent is likely offered the conversation (rule 7); ``0.0`` when
        an offer is outstanding or a slot is free, ``None`` when nobody online can take it.
        ``now`` is accepted for symmetry with the other operations; the estimate is
        computed from the live agents and the moving average of handle times."""
        if conversation not in self.waiting:
            raise QueueError(f"{conversation!r} is not waiting in team {self.team!r}")
        if conversation in self.offers:
            return 0.0
        entry = self.waiting[conversation]
        able = [a for a in self.agents.values() if self._could_take(a, entry)]
        slots = sum(a.capacity for a in able)
        if slots == 0:
            return None
        free = sum(max(0, a.capacity - self.load(a.agent)) for a in able)
        ahead = 0
        for other in self.ranked():
            if other.conversation == conversation:
                break
            if other.conversation not in self.offers:
                ahead += 1
        if ahead < free:
            return 0.0
        handle = self.handle_time_avg
        if handle is None:
            handle = self.policy.handle_time_default
        return (ahead - free + 1) * handle / slots

    def next_deadline(self) -> float | None:
        """The earliest offer expiry: the one timer the actor needs (``None``: no offers)."""
        return min((o.expires_at for o in self.offers.values()), default=None)

    # --- events --------------------------------------------------------------------------

    def next_assignments(self, now: float) -> Step:
        """Expire due offers and offer waiting conversations to free agents (rules 1-4)."""
        draft = _Draft(self)
        draft.expire_due(now)
        draft.pull(now)
        return draft.done()

    def offer_expired(self, conversation: str, now: float) -> Step:
        """The actor's timer fired: expire every offer due by ``now`` (``conversation``'s
        included if it is due) and offer them to the next agents.  A stale timer is a
        no-op."""
        return self.next_assignments(now)

    def enqueue(
        self,
        conversation: str,
        now: float,
        *,
        priority: int = 0,
        skills: Iterable[str] = (),
        last_agent: str | None = None,
        last_agent_at: float | None = None,
    ) -> Step:
        """Add a waiting conversation (enqueued at ``now``)."""
        if conversation in self.waiting or conversation in self.assigned:
            raise QueueError(f"{conversation!r} is already in team {self.team!r}'s queue")
        draft = _Draft(self)
        draft.expire_due(now)
        draft.waiting[conversation] = WaitingEntry(
            conversation=conversation,
            enqueued_at=now,
            priority=priority,
            skills=tuple(skills),
            last_agent=last_agent,
            last_agent_at=last_agent_at,
        )
        draft.pull(now)
        return draft.done()

    def remove(self, conversation: str, now: float) -> Step:
        """Take a waiting conversation out (transferred, resolved, back to the flow),
        withdrawing its offer.  Unknown conversations are a no-op."""
        draft = _Draft(self)
        draft.expire_due(now)
        if conversation in draft.waiting:
            draft.withdraw(conversation, "removed")
            del draft.waiting[conversation]
        draft.pull(now)
        return draft.done()

    def accept(self, conversation: str, agent: str, now: float) -> Step:
        """``agent`` accepts its offer; raises :class:`OfferNotFound` if the offer is gone
        (expired by ``now`` included), leaving the state as it was."""
        draft = _Draft(self)
        draft.expire_due(now)
        offer = draft.offers.get(conversation)
        if offer is None or offer.agent != agent:
            reason = "expired" if self._offer_is(conversation, agent) else "not offered"
            raise OfferNotFound(conversation, agent, reason)
        del draft.offers[conversation]
        entry = draft.waiting.pop(conversation)
        draft.assigned[conversation] = Assignment(
            conversation=conversation,
            agent=agent,
            assigned_at=now,
            enqueued_at=entry.enqueued_at,
            priority=entry.priority,
            skills=entry.skills,
        )
        draft.bump_active(agent, +1)
        draft.effects.append(OfferAccepted(conversation=conversation, agent=agent))
        draft.pull(now)
        return draft.done()

    def decline(self, conversation: str, agent: str, now: float) -> Step:
        """``agent`` declines; the next agent is offered the conversation.  A decline of an
        offer that no longer exists is a no-op."""
        draft = _Draft(self)
        draft.expire_due(now)
        offer = draft.offers.get(conversation)
        if offer is not None and offer.agent == agent:
            draft.withdraw(conversation, "declined")
        draft.pull(now)
        return draft.done()

    def upsert_agent(
        self,
        agent: str,
        now: float,
        *,
        status: AgentStatus | None = None,
        capacity: int | None = None,
        active: int | None = None,
        skills: Iterable[str] | None = None,
    ) -> Step:
        """Add an agent to the team or restate what its AgentActor knows (``None``: keep)."""
        draft = _Draft(self)
        draft.expire_due(now)
        slot = draft.agents.get(agent)
        if slot is None:
            # New to this queue, perhaps not to its conversations: a queue rebuilt after a
            # restart knows the assignments before their agent restates itself.
            held = sum(1 for a in draft.assigned.values() if a.agent == agent)
            slot = AgentSlot(agent=agent, active=held)
        changes: dict[str, object] = {}
        if capacity is not None:
            changes["capacity"] = capacity
        if active is not None:
            changes["active"] = active
        if skills is not None:
            changes["skills"] = tuple(skills)
        draft.agents[agent] = attrs.evolve(slot, **changes)  # type: ignore[arg-type]
        if status is not None:
            draft.set_status(agent, status, now)
        draft.pull(now)
        return draft.done()

    def agent_status(self, agent: str, status: AgentStatus, now: float) -> Step:
        """Presence changed (rule 5).  Raises :class:`QueueError` for an unknown agent."""
        if agent not in self.agents:
            raise QueueError(f"agent {agent!r} is not in team {self.team!r}")
        draft = _Draft(self)
        draft.expire_due(now)
        draft.set_status(agent, status, now)
        draft.pull(now)
        return draft.done()

    def remove_agent(self, agent: str, now: float) -> Step:
        """The agent leaves the team: offers returned, its conversations from this queue
        requeued whatever the offline policy (it no longer belongs here)."""
        if agent not in self.agents:
            return self.next_assignments(now)
        draft = _Draft(self)
        draft.expire_due(now)
        draft.set_status(agent, AgentStatus.OFFLINE, now, policy=OfflinePolicy.REQUEUE)
        del draft.agents[agent]
        draft.pull(now)
        return draft.done()

    def release(self, conversation: str, now: float) -> Step:
        """A conversation assigned through this queue left its agent (resolved,
        transferred, returned to the flow): free the slot, record the handle time, pull.
        Unknown conversations are a no-op (the queue may have requeued it already)."""
        draft = _Draft(self)
        draft.expire_due(now)
        assignment = draft.assigned.pop(conversation, None)
        if assignment is not None:
            draft.bump_active(assignment.agent, -1)
            draft.sample_handle_time(max(0.0, now - assignment.assigned_at))
        draft.pull(now)
        return draft.done()

    def capacity_freed(self, agent: str, now: float, count: int = 1) -> Step:
        """``agent`` finished ``count`` conversations elsewhere (another team's, or one
        assigned directly): lower its load and pull."""
        draft = _Draft(self)
        draft.expire_due(now)
        if agent in draft.agents:
            draft.bump_active(agent, -count)
        draft.pull(now)
        return draft.done()

    def assign_direct(self, conversation: str, agent: str, now: float) -> Step:
        """A transfer to ``agent`` or a supervisor's reassign: the conversation leaves the
        waiting list (its offer withdrawn) and counts against the agent, even over capacity."""
        if agent not in self.agents:
            raise QueueError(f"agent {agent!r} is not in team {self.team!r}")
        draft = _Draft(self)
        draft.expire_due(now)
        entry = draft.waiting.pop(conversation, None)
        if entry is not None and conversation in draft.offers:
            offer = draft.offers.pop(conversation)
            draft.effects.append(
                OfferWithdrawn(conversation=conversation, agent=offer.agent, reason="removed")
            )
        previous = draft.assigned.pop(conversation, None)
        if previous is not None:
            draft.bump_active(previous.agent, -1)
        draft.assigned[conversation] = Assignment(
            conversation=conversation,
            agent=agent,
            assigned_at=now,
            enqueued_at=entry.enqueued_at if entry else now,
            priority=entry.priority if entry else 0,
            skills=entry.skills if entry else (),
        )
        draft.bump_active(agent, +1)
        draft.pull(now)
        return draft.done()

    # --- helpers -------------------------------------------------------------------------

    def _offer_is(self, conversation: str, agent: str) -> bool:
        offer = self.offers.get(conversation)
        return offer is not None and offer.agent == agent

    def _could_take(self, slot: AgentSlot, entry: WaitingEntry) -> bool:
        if slot.status is not AgentStatus.ONLINE or slot.capacity == 0:
            return False
        if self.policy.strategy is Strategy.SKILLS:
            return set(entry.skills) <= set(slot.skills)
        return True


class _Draft:
    """A mutable copy of a state for the length of one operation (never escapes it)."""

    def __init__(self, state: QueueState) -> None:
        self.state = state
        self.policy = state.policy
        self.waiting = dict(state.waiting)
        self.agents = dict(state.agents)
        self.offers = dict(state.offers)
        self.assigned = dict(state.assigned)
        self.handle_time_avg = state.handle_time_avg
        self.handle_samples = state.handle_samples
        self.effects: list[QueueEffect] = []

    def done(self) -> Step:
        new = attrs.evolve(
            self.state,
            waiting=self.waiting,
            agents=self.agents,
            offers=self.offers,
            assigned=self.assigned,
            handle_time_avg=self.handle_time_avg,
            handle_samples=self.handle_samples,
        )
        return new, tuple(self.effects)

    def bump_active(self, agent: str, delta: int) -> None:
        slot = self.agents.get(agent)
        if slot is not None:
            self.agents[agent] = attrs.evolve(slot, active=max(0, slot.active + delta))

    def sample_handle_time(self, seconds: float) -> None:
        alpha = self.policy.handle_time_alpha
        avg = self.handle_time_avg
        self.handle_time_avg = seconds if avg is None else alpha * seconds + (1 - alpha) * avg
        self.handle_samples += 1

    def withdraw(self, conversation: str, reason: WithdrawReason) -> None:
        offer = self.offers.pop(conversation, None)
        if offer is None:
            return
        self.effects.append(
            OfferWithdrawn(conversation=conversation, agent=offer.agent, reason=reason)
        )
        entry = self.waiting.get(conversation)
        if entry is not None and reason in ("declined", "expired"):
            declined = (*entry.declined_by, offer.agent)
            self.waiting[conversation] = attrs.evolve(entry, declined_by=declined)

    def expire_due(self, now: float) -> None:
        due = sorted(
            (o for o in self.offers.values() if o.expires_at <= now),
            key=lambda o: (o.expires_at, o.conversation),
        )
        for offer in due:
            self.withdraw(offer.conversation, "expired")

    def set_status(
        self,
        agent: str,
        status: AgentStatus,
        now: float,
        *,
        policy: OfflinePolicy | None = None,
    ) -> None:
        slot = self.agents[agent]
        self.agents[agent] = attrs.evolve(slot, status=status)
        if status is AgentStatus.ONLINE:
            return
        reason: WithdrawReason = "agent_away" if status is AgentStatus.AWAY else "agent_offline"
        for offer in sorted(self.offers.values(), key=lambda o: o.conversation):
            if offer.agent == agent:
                self.withdraw(offer.conversation, reason)
        policy = policy or self.policy.offline_policy
        if status is not AgentStatus.OFFLINE or policy is OfflinePolicy.KEEP:
            return
        mine = sorted(
            (a for a in self.assigned.values() if a.agent == agent),
            key=lambda a: a.conversation,
        )
        for assignment in mine:
            del self.assigned[assignment.conversation]
            self.bump_active(agent, -1)
            self.waiting[assignment.conversation] = WaitingEntry(
                conversation=assignment.conversation,
                enqueued_at=assignment.enqueued_at,
                priority=assignment.priority,
                skills=assignment.skills,
                last_agent=agent,
                last_agent_at=now,
            )
            self.effects.append(Requeued(conversation=assignment.conversation, agent=agent))

    def pull(self, now: float) -> None:
        """Offer waiting conversations to free agents until nobody can take more."""
        loads = {a: self.agents[a].active for a in self.agents}
        for offer in self.offers.values():
            if offer.agent in loads:
                loads[offer.agent] += 1
        view = attrs.evolve(self.state, waiting=self.waiting, agents=self.agents)
        for entry in view.ranked():
            if entry.conversation in self.offers:
                continue
            if not any(
                s.status is AgentStatus.ONLINE and loads[s.agent] < s.capacity
                for s in self.agents.values()
            ):
                break
            agent = self._choose(entry, now, loads)
            if agent is None:
                continue
            offer = Offer(
                conversation=entry.conversation,
                agent=agent,
                offered_at=now,
                expires_at=now + self.policy.reservation_timeout,
            )
            self.offers[entry.conversation] = offer
            self.agents[agent] = attrs.evolve(self.agents[agent], last_offered_at=now)
            loads[agent] += 1
            self.effects.append(offer)

    def _choose(self, entry: WaitingEntry, now: float, loads: dict[str, int]) -> str | None:
        policy = self.policy
        able = [
            s
            for s in self.agents.values()
            if s.status is AgentStatus.ONLINE
            and loads[s.agent] < s.capacity
            and (policy.strategy is not Strategy.SKILLS or set(entry.skills) <= set(s.skills))
        ]
        candidates = [s for s in able if s.agent not in entry.declined_by]
        if not candidates and able:
            # Everyone able has declined it: go round again rather than strand it.
            self.waiting[entry.conversation] = attrs.evolve(entry, declined_by=())
            candidates = able
        if not candidates:
            return None
        if (
            policy.sticky_hours is not None
            and entry.last_agent is not None
            and entry.last_agent_at is not None
            and now - entry.last_agent_at <= policy.sticky_hours * 3600
        ):
            for s in candidates:
                if s.agent == entry.last_agent:
                    return s.agent

        def idle(s: AgentSlot) -> float:
            return -math.inf if s.last_offered_at is None else s.last_offered_at

        if policy.strategy is Strategy.ROUND_ROBIN:
            best = min(candidates, key=lambda s: (idle(s), s.agent))
        else:
            best = min(candidates, key=lambda s: (loads[s.agent] / s.capacity, idle(s), s.agent))
        return best.agent

"""QueueActor: one team's queue, addressed by ``("queue", "<team id>")``.

It keeps a :class:`pytake.routing.QueueState` and carries out its effects: an offer is told
to the conversation (which tells the agent), a withdrawn, accepted or requeued offer likewise.
There is no sweep: every message pulls waiting conversations to free agents, and the one
timer (the earliest offer deadline, re-armed after every step) expires reservations.

On activation it reads the team's policy from the database, keeps its snapshot's waiting
list and assignments, and re-arms the deadline timer.  Agents restate their presence to it
whenever it changes, so a queue never offers to an agent that is not connected for long.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import attrs

from ..actors import Actor, Timers
from ..contracts import (
    AcceptOffer,
    AgentUpdate,
    AssignDirect,
    Connections,
    ConnectionsChanged,
    DeclineOffer,
    Dequeue,
    Enqueue,
    GetPosition,
    GetQueueStats,
    LeaveTeam,
    OfferAnswer,
    Position,
    Publish,
    PublishStats,
    QueueAccepted,
    QueueInfo,
    QueueOffered,
    QueueRequeued,
    QueueStats,
    QueueTick,
    QueueWithdrew,
    Release,
    ReloadAgent,
    ReloadTeam,
    Reprioritize,
    TeamClosed,
)
from ..routing import (
    AgentStatus,
    Closed,
    Offer,
    OfferAccepted,
    OfferNotFound,
    OfferWithdrawn,
    QueueEffect,
    QueueError,
    QueueState,
    Requeued,
)
from ..store import Database
from ._rebuild import rebuild
from ._team import TeamDirectory, TeamProfile

log = logging.getLogger("pytake.queues")

#: Seconds between two ``queue.stats`` events of one team.
STATS_INTERVAL = 1.0


def _shape(q: QueueState) -> tuple[int, int, int, int]:
    online = sum(1 for a in q.agents.values() if a.status is AgentStatus.ONLINE)
    return len(q.waiting), len(q.offers), len(q.assigned), online


@attrs.define
class QueueActorState:
    queue: QueueState | None = None


@attrs.define
class QueueServices:
    """What a QueueActor works with, given to its kind by the composition root."""

    #: the database its queue is rebuilt from after a restart
    db: Database
    #: teams' policies, hours and members
    teams: TeamDirectory
    #: agents' live connections on this node (presence in a snapshot may be stale)
    connections: Connections
    #: offer deadlines and statistics ticks, and the clock
    timers: Timers


class QueueActor(Actor[QueueActorState]):
    kind = "queue"
    state_type = QueueActorState
    services: QueueServices

    _profile: TeamProfile | None = None
    _stats_pending = False

    @property
    def queue(self) -> QueueState:
        assert self.state.queue is not None
        return self.state.queue

    async def receive(self, message: Any) -> Any:
        if self._profile is None:
            await self._load()
            self.state.queue = await rebuild(self.services.db, self.queue, int(self.id))
            self._arm_timer()
        now = self._now()
        q = self.queue
        answer: Any = None
        try:
            if isinstance(message, Enqueue):
                if message.conversation in q.waiting or message.conversation in q.assigned:
                    step = q.next_assignments(now)
                else:
                    step = q.enqueue(
                        message.conversation,
                        now,
                        priority=message.priority,
                        skills=message.skills,
                        last_agent=message.sticky_agent,
                        last_agent_at=message.sticky_at,
                    )
                await self._apply(step)
                await self._after_enqueue(message.conversation, now)
                return None
            if isinstance(message, AcceptOffer):
                try:
                    step = q.accept(message.conversation, message.agent, now)
                except OfferNotFound as exc:
                    return OfferAnswer(False, f"the offer is no longer yours ({exc.reason})")
                answer = OfferAnswer(True)
            elif isinstance(message, DeclineOffer):
                step = q.decline(message.conversation, message.agent, now)
            elif isinstance(message, Reprioritize):
                entry = q.waiting.get(message.conversation)
                if entry is not None:
                    waiting = {**q.waiting, message.conversation: attrs.evolve(
                        entry, priority=message.priority)}
                    q = attrs.evolve(q, waiting=waiting)
                step = q.next_assignments(now)
            elif isinstance(message, Dequeue):
                step = q.remove(message.conversation, now)
            elif isinstance(message, Release):
                step = q.release(message.conversation, now)
            elif isinstance(message, AssignDirect):
                if message.agent not in q.agents:
                    (q, _) = q.upsert_agent(message.agent, now)
                step = q.assign_direct(message.conversation, message.agent, now)
            elif isinstance(message, AgentUpdate):
                step = q.upsert_agent(
                    message.agent,
                    now,
                    status=AgentStatus(message.status),
                    capacity=message.capacity,
                    skills=message.skills,
                )
            elif isinstance(message, LeaveTeam):
                step = q.remove_agent(message.agent, now)
            elif isinstance(message, QueueTick):
                step = q.next_assignments(now)
            elif isinstance(message, PublishStats):
                await self._publish_stats(now)
                return None
            elif isinstance(message, ReloadTeam):
                await self._load()
                step = self.queue.next_assignments(now)
            elif isinstance(message, GetQueueStats):
                return self._stats(now)
            elif isinstance(message, GetPosition):
                if message.conversation not in q.waiting:
                    return Position(None, None)
                return Position(
                    q.position(message.conversation),
                    q.estimated_wait(message.conversation, now),
                )
            else:
                raise TypeError(f"QueueActor cannot handle {type(message).__name__}")
        except QueueError as exc:
            # A stale message (the state moved on); logged and dropped, the state unchanged.
            log.info("queue %s: %s dropped: %s", self.id, type(message).__name__, exc)
            return OfferAnswer(False, str(exc)) if isinstance(message, AcceptOffer) else None
        await self._apply(step)
        return answer

    async def _load(self) -> None:
        self._profile = profile = await self.services.teams.profile(
            int(self.id)
        )
        if self.state.queue is None:
            self.state.queue = QueueState(team=self.id, policy=profile.policy)
        else:
            self.state.queue = attrs.evolve(self.state.queue, policy=profile.policy)
            await self._forget_stale_presence()
        self._arm_timer()

    async def _forget_stale_presence(self) -> None:
        """Presence in a snapshot may be from before a restart: an agent it calls present but
        with no connection here is set away (its offers return, it keeps its conversations)
        and its AgentActor is woken, which applies the offline grace and policy properly."""
        sockets = self.services.connections
        now = self._now()
        for slot in list(self.queue.agents.values()):
            if slot.status is not AgentStatus.OFFLINE and not sockets.count(slot.agent):
                step = self.queue.upsert_agent(slot.agent, now, status=AgentStatus.AWAY)
                await self._apply(step)
                await self.router.tell("agent", slot.agent, ConnectionsChanged())
            elif sockets.count(slot.agent):
                # Connected: whatever the snapshot says, the agent's actor knows; ask it.
                await self.router.tell("agent", slot.agent, ReloadAgent())

    async def _apply(self, step: tuple[QueueState, tuple[QueueEffect, ...]]) -> None:
        before = self.state.queue
        self.state.queue, effects = step
        if before is not None and _shape(before) != _shape(self.state.queue):
            self._stats_changed()
        team = self.id
        for effect in effects:
            if isinstance(effect, Offer):
                msg: Any = QueueOffered(team, effect.agent, effect.expires_at)
            elif isinstance(effect, OfferWithdrawn):
                msg = QueueWithdrew(team, effect.agent, effect.reason)
            elif isinstance(effect, OfferAccepted):
                msg = QueueAccepted(team, effect.agent)
            elif isinstance(effect, Requeued):
                msg = QueueRequeued(team, effect.agent)
            else:  # pragma: no cover - QueueEffect is a closed union
                continue
            await self.router.tell("conversation", effect.conversation, msg)
        self._arm_timer()

    async def _after_enqueue(self, conversation: str, now: float) -> None:
        profile = self._profile
        assert profile is not None
        if profile.hours is not None:
            decision = profile.after_hours.decide(
                profile.hours, dt.datetime.fromtimestamp(now, dt.UTC)
            )
            if isinstance(decision, Closed):
                await self.router.tell(
                    "conversation",
                    conversation,
                    TeamClosed(self.id, decision.message, decision.redirect_to),
                )
                return
        q = self.queue
        if conversation in q.waiting and conversation not in q.offers:
            await self.router.tell(
                "conversation",
                conversation,
                QueueInfo(self.id, q.position(conversation), q.estimated_wait(conversation, now)),
            )

    def _stats_changed(self) -> None:
        """Agents see queue statistics change at most once a second, however busy it is."""
        if not self._stats_pending:
            self._stats_pending = True
            self.services.timers.schedule(
                self.kind, self.id, "stats", self._now() + STATS_INTERVAL, PublishStats()
            )

    async def _publish_stats(self, now: float) -> None:
        self._stats_pending = False
        stats = attrs.asdict(self._stats(now))
        for slot in self.queue.agents.values():
            if slot.status is not AgentStatus.OFFLINE:
                await self.router.tell("agent", slot.agent, Publish("queue.stats", stats))

    def _arm_timer(self) -> None:
        timers = self.services.timers
        deadline = self.queue.next_deadline()
        if deadline is None:
            timers.cancel(self.kind, self.id, "offers")
        else:
            timers.schedule(self.kind, self.id, "offers", deadline, QueueTick())

    def _stats(self, now: float) -> QueueStats:
        q = self.queue
        online = [a for a in q.agents.values() if a.status is AgentStatus.ONLINE]
        waits = [now - e.enqueued_at for e in q.waiting.values()]
        return QueueStats(
            team=self.id,
            waiting=len(q.waiting) - len(q.offers),
            offered=len(q.offers),
            assigned=len(q.assigned),
            agents_online=len(online),
            agents_away=sum(1 for a in q.agents.values() if a.status is AgentStatus.AWAY),
            free_slots=sum(max(0, a.capacity - q.load(a.agent)) for a in online),
            oldest_wait=max(waits) if waits else None,
            handle_time_avg=q.handle_time_avg,
        )

    def _now(self) -> float:
        now: float = self.services.timers.now()
        return now

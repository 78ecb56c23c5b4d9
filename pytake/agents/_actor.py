"""AgentActor: one agent's presence, capacity, teams and event feed.

Addressed by ``("agent", "<user id>")``.  Presence follows the agent's live WebSocket
connections (several tabs are several connections): the first one makes it ``online`` (or
the ``away`` it last chose), and when the last one closes it turns ``offline`` only after
``offline_grace`` seconds, so a page reload or a network blip does not hand its offers and
conversations around.  Every presence change is restated to each of its teams' queues.

Every event for the agent goes through :class:`Publish`: it gets the agent's next ``seq``, is
stored (``agent_events``), and only then is pushed to the agent's connections; so a client
that reconnects with the last seq it saw misses nothing, also after a server restart.  The
seq counter is re-read from the log on activation, so a crash between the store and the
snapshot never reuses a number.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..actors import Actor, Timers
from ..contracts import (
    AgentUpdate,
    AgentView,
    ConnectionsChanged,
    GetAgent,
    LeaveTeam,
    OfflineGraceOver,
    Publish,
    ReloadAgent,
    SetPresence,
)
from ._repo import AgentDirectory, AgentEventLog, AgentProfile, StoredEvent
from ._sockets import AgentSockets

ONLINE, AWAY, OFFLINE = "online", "away", "offline"

#: Events that start or end an agent's hold on a conversation or an offer.
_HOLDS = {"conversation.assigned"}
_RELEASES = {"conversation.resolved", "conversation.released", "conversation.transferred"}


@attrs.define
class AgentState:
    status: str = OFFLINE
    #: what the agent chose for when it is connected
    chosen: str = ONLINE
    seq: int = 0
    conversations: list[str] = attrs.Factory(list)
    offers: list[str] = attrs.Factory(list)


@attrs.define
class AgentServices:
    """What an AgentActor works with, given to its kind by the composition root."""

    events: AgentEventLog
    sockets: AgentSockets
    directory: AgentDirectory
    #: the offline grace and the clock
    timers: Timers
    offline_grace: float = 10.0
    #: agent id → its current status, for listings that cannot wait on every actor
    presence: dict[str, str] = attrs.Factory(dict)


class AgentActor(Actor[AgentState]):
    kind = "agent"
    state_type = AgentState

    _profile: AgentProfile | None = None

    services: AgentServices

    @property
    def _services(self) -> AgentServices:
        return self.services

    async def receive(self, message: Any) -> Any:
        if self._profile is None:
            await self._activate()
        if isinstance(message, Publish):
            await self._publish(message.type, message.data, message.key)
        elif isinstance(message, ConnectionsChanged):
            # A queue may have set the agent away meanwhile (it found no connection while
            # the agent was in its offline grace): a connection restates presence anyway.
            await self._presence_changed(restate=True)
        elif isinstance(message, SetPresence):
            if message.status not in (ONLINE, AWAY):
                return None
            self.state.chosen = message.status
            await self._presence_changed()
        elif isinstance(message, OfflineGraceOver):
            await self._presence_changed(grace_over=True)
        elif isinstance(message, ReloadAgent):
            await self._reload()
        elif isinstance(message, GetAgent):
            return self._view()
        else:
            raise TypeError(f"AgentActor cannot handle {type(message).__name__}")
        return None

    async def _activate(self) -> None:
        services = self._services
        self._profile = await services.directory.profile(int(self.id))
        # The log is the truth for seq: the snapshot may be older than the last stored event.
        self.state.seq = max(self.state.seq, await services.events.last_seq(int(self.id)))
        # Presence is live, not state: a snapshot's status may be from before a restart, and
        # the queues (rebuilt from their own snapshots) may think otherwise.  Restate it.
        if services.sockets.count(self.id):
            self.state.status = OFFLINE  # so that the change to the chosen status is told
        await self._presence_changed()  # not connected: the offline grace, if it was present

    async def _publish(self, type: str, data: dict[str, Any], key: str | None = None) -> None:
        state = self.state
        conversation = str(data.get("conversation", ""))
        if type == "conversation.offered" and conversation not in state.offers:
            state.offers.append(conversation)
        elif type == "conversation.offer_withdrawn":
            state.offers = [c for c in state.offers if c != conversation]
        if type in _HOLDS and conversation not in state.conversations:
            state.conversations.append(conversation)
            state.offers = [c for c in state.offers if c != conversation]
        elif type in _RELEASES:
            state.conversations = [c for c in state.conversations if c != conversation]
        services = self._services
        event = StoredEvent(int(self.id), state.seq + 1, type, data, self._now(), key)
        if not await services.events.append(event):
            return  # published before (its key is stored): the agent has it already
        state.seq = event.seq
        services.sockets.push(self.id, event.frame())

    async def _presence_changed(
        self, *, grace_over: bool = False, restate: bool = False
    ) -> None:
        state = self.state
        connections = self._services.sockets.count(self.id)
        timers = self._services.timers
        if connections:
            timers.cancel(self.kind, self.id, "offline")
            status = state.chosen
        elif state.status == OFFLINE or grace_over:
            status = OFFLINE
        else:
            grace = self._services.offline_grace
            timers.schedule(self.kind, self.id, "offline", self._now() + grace, OfflineGraceOver())
            return
        if status != state.status:
            state.status = status
            self._services.presence[self.id] = status
            await self._restate_to_queues()
            await self._publish("presence", {"status": status, "connections": connections})
        elif restate and connections:
            await self._restate_to_queues()

    async def _restate_to_queues(self) -> None:
        profile = self._profile
        assert profile is not None
        for team, skills in profile.teams.items():
            await self.router.tell(
                "queue",
                team,
                AgentUpdate(self.id, self.state.status, profile.capacity, skills),
            )

    async def _reload(self) -> None:
        before = self._profile
        self._profile = await self._services.directory.profile(int(self.id))
        if before is not None:
            for team in set(before.teams) - set(self._profile.teams):
                await self.router.tell("queue", team, LeaveTeam(self.id))
        await self._restate_to_queues()

    def _view(self) -> AgentView:
        profile = self._profile
        assert profile is not None
        return AgentView(
            agent_id=self.id,
            status=self.state.status,
            connections=self._services.sockets.count(self.id),
            capacity=profile.capacity,
            teams=dict(profile.teams),
            conversations=tuple(self.state.conversations),
            offers=tuple(self.state.offers),
            seq=self.state.seq,
        )

    def _now(self) -> float:
        return self._services.timers.now()

"""ConversationActor: one customer's conversation with one business number.

Addressed by ``("conversation", "<phone_number_id>:<customer row id>")`` — the customer's row
id, not their phone number, so a customer who changes number keeps their conversation.

It owns the 24-hour window (from message timestamps, never arrival times), unread counts,
labels, and — through :mod:`pytake.routing` — who owns the conversation: the bot, a team's
queue, an offered or an assigned agent, or nobody (resolved).  A customer message goes only
to the owner: the bot answers only while it owns the conversation, the assigned agent gets
``message.new``, and while the conversation waits its messages are kept for whoever accepts.

Every transition and every message is appended to ``conversation_events`` together with the
``conversations`` row's new owner, team and agent (one group-committed write), and carried
out as messages: to the team's QueueActor (enqueue, dequeue, release, direct assignment) and
to AgentActors (offered, assigned, resolved, transferred, message.new, updated).  Actors only
``tell`` each other, never ``ask``, so no two actors can wait on each other.

Commands (from the agent WebSocket, the REST API, later flows) answer a
:class:`CommandResult`; a refused command changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ..actors import Actor
from ..contracts import (
    AddNote,
    AssignDirect,
    CommandResult,
    ConversationView,
    DeliveryFailed,
    Dequeue,
    Enqueue,
    ForgetConversation,
    GetConversation,
    HandOffConversation,
    InboundReceived,
    MarkRead,
    MessageStatus,
    Publish,
    QueueAccepted,
    QueueInfo,
    QueueOffered,
    QueueRequeued,
    QueueWithdrew,
    ReassignConversation,
    Release,
    Reprioritize,
    ResolveConversation,
    SendReply,
    SetLabels,
    SetPriority,
    TeamClosed,
    Transfer,
)
from ..errors import InvalidMessage, StorageUnavailable, WindowClosed
from ..flowrun import (
    CustomerInput,
    Ended,
    Event,
    FlowExecutor,
    FlowHandoff,
    FlowRun,
    TimerFired,
    Waiting,
)
from ..flowrun import Result as FlowResult
from ..flows import fold
from ..routing import (
    Accept,
    BurstCoalescer,
    ConversationEvent,
    CustomerMessage,
    Decline,
    DequeueFrom,
    EnqueueIn,
    Handoff,
    InvalidTransition,
    NotifyAssigned,
    Offered,
    OfferExpired,
    Owner,
    Ownership,
    OwnershipEffect,
    OwnershipEvent,
    ReleaseAgent,
    Requeue,
    Resolve,
    StartFlow,
    TransferToAgent,
    TransferToTeam,
    message_event,
    transition,
    transition_event,
    who_handles_inbound,
)
from ..routing import Reassign as ReassignEvent
from ..store import ConversationStatus
from ..whatsapp import mark_read_body, text_message
from ._content import build_body
from ._flow_ports import ActorFlowPorts, FlowTimer
from ._log import (
    ConversationRecord,
    RecordOutcome,
    nothing_to_wait_for,
    utc,
)
from ._routing import RoutingConfig
from ._services import ConversationServices

log = logging.getLogger("pytake.conversations")

_RECENT = 20
_SUPERVISORS = ("admin", "supervisor")


@attrs.frozen
class BurstDue:
    """Timer: the customer's burst of messages is complete; the bot takes the turn."""


@attrs.define
class ConversationState:
    conversation_id: int | None = None
    customer_id: int | None = None
    last_customer_message_at: int | None = None
    inbound_count: int = 0
    unread: int = 0
    needs_template: bool = False
    welcomed: bool = False
    recent: list[int] = attrs.Factory(list)
    phone_number_id: str = ""
    reply_to: str = ""
    ownership: Ownership = attrs.Factory(Ownership)
    labels: list[str] = attrs.Factory(list)
    last_text: str = ""
    #: what the customer tapped last (a reply button, list row or template button), "" when
    #: their last message was no tap
    last_reply_id: str = ""
    last_inbound_wamid: str = ""
    offer_expires_at: float | None = None
    #: the note of the last hand-off or transfer, shown to whoever is offered or takes it
    handoff_note: str = ""
    #: message ids of the customer's turn the bot has not taken yet
    burst: BurstCoalescer[int] | None = None
    #: the flow running for this conversation, and where it is
    flow: FlowRun | None = None


class ConversationActor(Actor[ConversationState]):
    kind = "conversation"
    state_type = ConversationState
    state_version = 3
    services: ConversationServices

    #: the row values this activation last wrote (an UPDATE that changes nothing is skipped)
    _written: tuple[int, dict[str, Any]] | None = None
    #: whether this activation has compared its snapshot with the conversation's row
    _reconciled = False

    @classmethod
    def upgrade_snapshot(cls, data: Any, from_version: int) -> Any:
        if from_version in (1, 2):
            return data  # v2 and v3 only added fields, all with defaults
        return super().upgrade_snapshot(data, from_version)

    # --- dispatch ----------------------------------------------------------------------------

    async def receive(self, message: Any) -> Any:
        if not self._reconciled:
            await self._reconcile(message)
        if isinstance(message, InboundReceived):
            await self._inbound(message)
            return None
        if isinstance(message, DeliveryFailed):
            if message.code == 131047:
                self.state.needs_template = True
            return None
        if isinstance(message, GetConversation):
            return self._view()
        if isinstance(message, MessageStatus):
            ownership = self.state.ownership
            if ownership.owner is Owner.ASSIGNED and ownership.agent is not None:
                await self._publish(ownership.agent, "message.status", {
                    "conversation": self.id, "conversation_id": self.state.conversation_id,
                    "message_id": message.message_id, "wamid": message.wamid,
                    "status": message.status,
                })
            return None
        if isinstance(message, BurstDue):
            await self._burst_due()
            return None
        if isinstance(message, FlowTimer):
            if self.state.flow is not None and self.state.ownership.owner is Owner.FLOW:
                await self._flow_turn(TimerFired(message.token))
            return None
        if isinstance(message, (QueueOffered, QueueWithdrew, QueueAccepted, QueueRequeued)):
            await self._from_queue(message)
            return None
        if isinstance(message, QueueInfo):
            await self._tell_position(message)
            return None
        if isinstance(message, TeamClosed):
            await self._team_closed(message)
            return None
        if isinstance(message, ForgetConversation):
            return await self._forget(message)
        return await self._command(message)

    async def _reconcile(self, message: Any) -> None:
        """Take ownership from the conversation's row where it is newer than the snapshot.

        Every transition is committed to the row before anyone is told of it, while snapshots
        are written behind: after a crash the row is the truth.  An offer found there is
        taken as waiting (the queue, rebuilt from the same rows, offers it again).
        """
        conversation_id = self.state.conversation_id
        if conversation_id is None and isinstance(message, InboundReceived):
            conversation_id = message.conversation_id
        self._reconciled = True
        if conversation_id is None:
            return
        stored = await self.services.log.stored_owner(conversation_id)
        if stored is None:
            return
        owner = Owner(stored.owner)
        if owner is Owner.OFFERED:
            owner = Owner.QUEUED
        ownership = self.state.ownership
        agent = stored.agent if owner is Owner.ASSIGNED else None
        if (ownership.owner, ownership.team, ownership.agent) != (owner, stored.team, agent):
            log.info("conversation %s: restored owner %s from its row (snapshot had %s)",
                     self.id, owner.value, ownership.owner.value)
            self.state.ownership = attrs.evolve(
                ownership, owner=owner, team=stored.team, agent=agent,
                priority=stored.priority,
            )
            self.state.labels = list(stored.labels)
            self.state.conversation_id = conversation_id

    # --- customer messages -------------------------------------------------------------------

    async def _inbound(self, message: InboundReceived) -> None:
        state = self.state
        if message.conversation_id != state.conversation_id:
            state.conversation_id = message.conversation_id
        state.customer_id = message.customer_id
        if message.phone_number_id:
            state.phone_number_id = message.phone_number_id
        if message.reply_to:
            state.reply_to = message.reply_to
        if message.opens_window:
            last = state.last_customer_message_at
            # Retries can deliver old messages late: the window follows the newest timestamp.
            if last is None or message.timestamp > last:
                state.last_customer_message_at = message.timestamp
                state.needs_template = False
            state.last_inbound_wamid = message.wamid
        state.inbound_count += 1
        state.unread += 1
        state.recent = [*state.recent[-(_RECENT - 1):], message.message_id]
        if message.opens_window:
            # The flow's next turn reads these: a message without words (a photo) must not
            # hand it the words or the tap of an earlier one.
            state.last_text = message.text[:200]
            state.last_reply_id = message.reply_id
        now = self._now()
        # Keyed by the message: handled again after a crash, it is logged (and published to
        # subscribers) once.
        events = [message_event("customer", now, key=f"m{message.message_id}",
                                message_id=message.message_id, type=message.type)]
        if self.replaying:
            if not await self._first_time(events):
                await self._handled_before(message, now)
                return
            events = []  # logged just now
        if state.ownership.owner is Owner.ASSIGNED and state.ownership.agent is not None:
            # The hot path: the message row is stored already, so the agent hears of it now,
            # while its log entry commits (a crash replays the journaled message).
            await self._publish(state.ownership.agent, "message.new", self._message_data(message),
                                key=f"message.new:m{message.message_id}")
            await self._record(events)
            return
        effects: tuple[OwnershipEffect, ...] = ()
        if state.ownership.owner is Owner.RESOLVED and message.opens_window:
            effects = self._move(CustomerMessage(at=now), events)
        committed: Callable[[], Awaitable[RecordOutcome]] = nothing_to_wait_for
        if effects:
            # A transition: committed before anyone (the queue) is told of it.
            await self._record(events)
            await self._carry_out(effects, cause="customer_message")
        else:
            # Only the message's event: the bot's answer is stored by the same writer after
            # it, so the turn's record and answer share a transaction.
            committed = await self._record_soon(events)

        reply = self._automatic_reply(message)
        if reply is not None:
            # Keyed by the message it answers: a replay sends it once.
            await self._send_text(reply, key=f"auto:{state.conversation_id}:m{message.message_id}")
        if who_handles_inbound(state.ownership) == "bot" and message.opens_window:
            await self._bot_takes(message.message_id, now)
        await committed()

    async def _handled_before(self, message: InboundReceived, now: float) -> None:
        """A message handled before a crash (the snapshot was older than its effects), found
        again by the start-up replay.  Its log entry is there; the rest runs again where it
        may not have happened, keyed so that it happens once: the agent that owned it then
        and owns it now is told (the crash may have come between the log and the agent's
        event), and the bot's turn runs again so that its flow is where it was."""
        state = self.state
        ownership = state.ownership
        if (ownership.owner is Owner.ASSIGNED and ownership.agent is not None
                and state.conversation_id is not None
                and await self.services.log.owner_unchanged_since(state.conversation_id,
                                                     f"m{message.message_id}")):
            await self._publish(ownership.agent, "message.new", self._message_data(message),
                                key=f"message.new:m{message.message_id}")
        elif who_handles_inbound(ownership) == "bot" and message.opens_window:
            await self._bot_takes(message.message_id, now)

    async def _bot_takes(self, message_id: int, now: float) -> None:
        config = self._config
        if config.burst_gap <= 0:
            await self._bot_turn()
            return
        burst = self.state.burst or BurstCoalescer[int](
            gap=config.burst_gap, max_hold=config.burst_max_hold
        )
        self.state.burst, deadline = burst.add(message_id, now)
        self.services.timers.schedule(self.kind, self.id, "burst", deadline, BurstDue())

    async def _burst_due(self) -> None:
        burst = self.state.burst
        if burst is None:
            return
        self.state.burst, turn = burst.due(self._now())
        if turn is not None and self.state.ownership.owner is Owner.FLOW:
            await self._bot_turn()

    async def _bot_turn(self) -> None:
        """The bot's answer to a customer's turn: the running flow takes it, or the flow its
        words or the default start; without flows, the default team gets the conversation."""
        if self.services.flows is not None and (
            self.state.flow is not None or self._flow_to_start()
        ):
            await self._flow_turn(CustomerInput(self.state.last_text,
                                                reply_id=self.state.last_reply_id or None))
            return
        await self._to_default_team()

    def _flow_to_start(self) -> str:
        config = self._config
        words = fold(self.state.last_text)
        for keyword, flow in config.keywords.items():
            if fold(keyword) == words:
                return flow
        return config.number_flows.get(self.state.phone_number_id, config.default_flow)

    async def _flow_turn(self, event: Event) -> None:
        library = self.services.flows
        assert library is not None  # a turn of a flow is taken only with flows
        ports = ActorFlowPorts(self, library)
        state = self.state
        # The customer's last message names the turn; a timer's turn also its wait's token
        # (tokens count from 1 in each flow run, which starts with a new message).
        last = state.recent[-1] if state.recent else 0
        ports.turn = f"m{last}.t{event.token}" if isinstance(event, TimerFired) else f"m{last}"
        executor = FlowExecutor(
            ports,
            customer={"id": state.customer_id, "wa_id": state.reply_to},
            conversation={"id": state.conversation_id},
        )
        if state.flow is None:
            name = self._flow_to_start()
            stored = await library.load(name, await library.start_version(name, self.id))
            if stored is None:
                log.error("conversation %s: flow %r is not published", self.id, name)
                await self._to_default_team()
                return
            ports.loaded[(name, None)] = ports.loaded[(name, stored.flow.version)] = stored
            state.flow, result = await executor.start(stored.flow)
        else:
            result = await executor.resume(state.flow, event)
        await ports.flush()
        await self._flow_result(result)

    async def _flow_result(self, result: FlowResult) -> None:
        if isinstance(result, Waiting):
            return
        self.state.flow = None
        now = self._now()
        if isinstance(result, FlowHandoff):
            team = await self.services.teams.id_of(result.team)
            if team is None:
                log.error("conversation %s: the flow hands off to unknown team %r",
                          self.id, result.team)
                await self._to_default_team()
                return
            await self._transition(
                Handoff(at=now, team=team, priority=result.priority, skills=result.skills),
                cause="handoff", note=result.note, by="bot",
            )
        elif isinstance(result, Ended) and result.resolved:
            await self._transition(Resolve(at=now, by="bot"), cause="resolve", by="bot")

    async def _to_default_team(self) -> None:
        team = await self._config.default_team()
        if team is None:
            self.services.warn_once(
                "idle bot",
                "conversation %s: the bot owns it and has nothing to do: no published flow "
                "answers it (flows_default, flows_keywords) and no routing_default_team takes "
                "it, so the customer gets no answer (said once per process)", self.id,
            )
            return
        if self.state.ownership.owner is Owner.FLOW:
            await self._transition(Handoff(at=self._now(), team=team), cause="handoff")

    # --- the customer's data erased or anonymised --------------------------------------------

    async def _forget(self, message: ForgetConversation) -> CommandResult:
        """End the conversation for good and forget it (see `ForgetConversation`).  Whoever
        has it hears ``conversation.resolved`` with the reason; the resolution is logged
        (an erasure deletes the log right after, an anonymisation keeps it)."""
        state = self.state
        was = state.ownership.owner
        told: list[str] = []
        if was is not Owner.RESOLVED:
            events: list[ConversationEvent] = []
            effects = self._move(Resolve(at=self._now(), by="privacy"), events)
            if message.record:
                await self._record(events)
            await self._carry_out(effects, cause=message.reason)
            # (an agent it was offered to hears it from the queue: the offer is withdrawn)
            told = [e.agent for e in effects if isinstance(e, ReleaseAgent)]
        self.services.timers.cancel_all(self.kind, self.id)
        self.state = self.initial_state(self.id)
        self._written = None
        return CommandResult(True, data={"was": was.value, "told": told})

    # --- the queue's decisions ---------------------------------------------------------------

    async def _from_queue(
        self, message: QueueOffered | QueueWithdrew | QueueAccepted | QueueRequeued
    ) -> None:
        now = self._now()
        state = self.state
        if isinstance(message, QueueOffered):
            if await self._transition(Offered(at=now, agent=message.agent), cause="offer"):
                state.offer_expires_at = message.expires_at
                data = self._summary()
                data["expires_at"] = message.expires_at
                await self._publish(message.agent, "conversation.offered", data)
            return
        if isinstance(message, QueueWithdrew):
            event: OwnershipEvent | None = {
                "declined": Decline(at=now, agent=message.agent),
                "expired": OfferExpired(at=now, agent=message.agent),
                "agent_away": Requeue(at=now, reason=message.reason),
                "agent_offline": Requeue(at=now, reason=message.reason),
            }.get(message.reason)
            if event is not None and state.ownership.agent == message.agent:
                await self._transition(event, cause=event.kind)
            await self._publish(
                message.agent,
                "conversation.offer_withdrawn",
                {"conversation": self.id, "conversation_id": state.conversation_id,
                 "reason": message.reason},
            )
            return
        if isinstance(message, QueueAccepted):
            if await self._transition(Accept(at=now, agent=message.agent), cause="accept"):
                await self._publish(message.agent, "conversation.assigned", self._context())
            return
        await self._transition(Requeue(at=now, reason="agent_offline"), cause="requeue")

    async def _tell_position(self, message: QueueInfo) -> None:
        replies = self.services.replies
        template = getattr(replies, "queue_position", "")
        if not template or self.state.ownership.owner is not Owner.QUEUED:
            return
        wait = message.estimated_wait
        if wait is None:
            template = getattr(replies, "queue_position_unknown_wait", template)
        minutes = "" if wait is None else str(max(1, round(wait / 60)))
        # Keyed by the stint in the queue and the place: a queue rebuilt after a crash tells
        # every waiting conversation its place again, which the customer already knows.
        await self._send_text(template.format(position=message.position, minutes=minutes),
                              key=f"{self._stint_key('queue')}:p{message.position}")

    def _stint_key(self, what: str) -> str:
        """An idempotency key for a notice told once per state of the conversation's owner
        (the state's start time tells two stints in the same state apart)."""
        ownership = self.state.ownership
        since = "" if ownership.since is None else f"{ownership.since:.6f}"
        return f"{what}:{self.state.conversation_id}:{ownership.team or ''}:{since}"

    async def _team_closed(self, message: TeamClosed) -> None:
        if message.message:
            await self._send_text(message.message, key=self._stint_key("closed"))
        if message.redirect_to and self.state.ownership.owner in (Owner.QUEUED, Owner.OFFERED):
            await self._transition(
                TransferToTeam(at=self._now(), team=message.redirect_to), cause="transfer_to_team"
            )

    # --- commands ----------------------------------------------------------------------------

    async def _command(self, message: Any) -> CommandResult:
        if isinstance(message, HandOffConversation):
            event: OwnershipEvent = Handoff(
                at=self._now(), team=message.team, priority=message.priority,
                skills=message.skills,
            )
            return await self._command_transition(event, note=message.note, by=message.by)
        by = getattr(message, "by", None)
        role = getattr(message, "role", "")
        if by is None:
            raise TypeError(f"ConversationActor cannot handle {type(message).__name__}")
        supervisor = role in _SUPERVISORS
        if isinstance(message, ReassignConversation):
            if not supervisor:
                return CommandResult(False, "only a supervisor or admin can reassign")
            event = ReassignEvent(at=self._now(), agent=message.agent, by=by, team=message.team)
            return await self._command_transition(event, by=by)
        owns = self.state.ownership.owner is Owner.ASSIGNED and self.state.ownership.agent == by
        if not (owns or supervisor):
            return CommandResult(False, "the conversation is not assigned to you")
        if isinstance(message, SendReply):
            return await self._reply(message)
        if isinstance(message, AddNote):
            return await self._note(message)
        if isinstance(message, SetLabels):
            labels = [x for x in self.state.labels if x not in message.remove]
            labels += [x for x in message.add if x not in labels]
            self.state.labels = labels
            await self._updated(by, "labels", {"labels": labels})
            return CommandResult(True, data={"labels": labels})
        if isinstance(message, SetPriority):
            ownership = self.state.ownership
            self.state.ownership = attrs.evolve(ownership, priority=message.priority)
            await self._updated(by, "priority", {"priority": message.priority})
            if ownership.owner in (Owner.QUEUED, Owner.OFFERED) and ownership.team is not None:
                await self.router.tell("queue", ownership.team,
                                       Reprioritize(self.id, message.priority))
            return CommandResult(True)
        if isinstance(message, Transfer):
            return await self._transfer(message)
        if isinstance(message, ResolveConversation):
            return await self._command_transition(Resolve(at=self._now(), by=by), by=by)
        if isinstance(message, MarkRead):
            return await self._mark_read(message)
        raise TypeError(f"ConversationActor cannot handle {type(message).__name__}")

    async def _reply(self, message: SendReply) -> CommandResult:
        state = self.state
        if not state.reply_to or not state.phone_number_id:
            return CommandResult(False, "the customer has not written yet: nowhere to send")
        try:
            body = build_body(state.reply_to, message.content)
            outbox = self.services.outbox
            if outbox is None:
                return CommandResult(False, "no outbox is configured: nothing can be sent",
                                     code="unavailable")
            sent = await outbox.enqueue(
                state.phone_number_id,
                body,
                conversation_id=state.conversation_id,
                sent_by_user_id=int(message.by),
                last_customer_ts=state.last_customer_message_at,
                key=None if message.key is None
                else f"agent:{message.by}:{state.conversation_id}:{message.key}",
            )
        except (InvalidMessage, WindowClosed) as exc:
            return CommandResult(False, str(exc), code="invalid")
        except StorageUnavailable as exc:
            return CommandResult(False, f"storage unavailable: {exc}; try again",
                                 code="unavailable")
        if sent.repeated:  # a retry of a send that was stored: nothing new happened
            return CommandResult(True, data={"message_id": sent.message_id,
                                             "outbox_id": sent.outbox_id, "repeated": True})
        await self._record([message_event("agent", self._now(), message_id=sent.message_id,
                                          by=message.by)])
        return CommandResult(True, data={"message_id": sent.message_id,
                                         "outbox_id": sent.outbox_id})

    async def _note(self, message: AddNote) -> CommandResult:
        text = message.text.strip()
        if not text:
            return CommandResult(False, "a note needs text", code="invalid")
        if len(text) > 4096:
            return CommandResult(False, "a note is at most 4096 characters", code="invalid")
        await self._updated(message.by, "note", {"text": text})
        return CommandResult(True)

    async def _transfer(self, message: Transfer) -> CommandResult:
        now = self._now()
        if message.agent is not None:
            event: OwnershipEvent = TransferToAgent(at=now, agent=message.agent, team=message.team)
        elif message.team is not None:
            event = TransferToTeam(at=now, team=message.team)
        else:
            return CommandResult(False, "a transfer needs a team or an agent", code="invalid")
        return await self._command_transition(event, note=message.note, by=message.by)

    async def _mark_read(self, message: MarkRead) -> CommandResult:
        state = self.state
        state.unread = 0
        outbox = self.services.outbox
        if outbox is not None and state.last_inbound_wamid and state.phone_number_id:
            try:
                await outbox.enqueue(
                    state.phone_number_id,
                    mark_read_body(state.last_inbound_wamid, typing=message.typing),
                    conversation_id=state.conversation_id,
                    recipient=state.reply_to,
                )
            except StorageUnavailable as exc:
                return CommandResult(False, f"storage unavailable: {exc}; try again",
                                     code="unavailable")
        return CommandResult(True)

    async def _command_transition(
        self, event: OwnershipEvent, *, by: str, note: str = ""
    ) -> CommandResult:
        try:
            moved = await self._transition(event, cause=event.kind, note=note, by=by)
        except StorageUnavailable as exc:
            return CommandResult(False, f"storage unavailable: {exc}; try again",
                                 code="unavailable")
        if not moved:
            owner = self.state.ownership.owner.value
            return CommandResult(False, f"cannot {event.kind.replace('_', ' ')} a conversation "
                                        f"that is {owner}")
        return CommandResult(True, data=self._summary())

    # --- carrying out transitions ------------------------------------------------------------

    def _move(self, event: OwnershipEvent, events: list[ConversationEvent]) -> tuple[Any, ...]:
        """Apply ``event`` to the ownership (raises InvalidTransition) and log it."""
        before = self.state.ownership
        after, effects = transition(before, event, reopen_window=self._config.reopen_window)
        self.state.ownership = after
        events.append(transition_event(event, before, after))
        if after.owner is not Owner.FLOW:
            self.state.flow = None  # people own it now: the bot's flow stops where it was
        elif any(isinstance(e, StartFlow) for e in effects):
            self.state.flow = None  # back to the bot: a new flow starts with the next turn
        if after.owner is not Owner.OFFERED:
            self.state.offer_expires_at = None
        return effects

    async def _transition(
        self, event: OwnershipEvent, *, cause: str, note: str = "", by: str = ""
    ) -> bool:
        """Move, store, carry out; ``False`` (nothing changed) if the move is not allowed."""
        events: list[ConversationEvent] = []
        try:
            effects = self._move(event, events)
        except InvalidTransition as exc:
            log.info("conversation %s: %s", self.id, exc)
            return False
        if note or event.kind in ("handoff", "transfer_to_team", "transfer_to_agent", "reassign"):
            self.state.handoff_note = note
        if note:
            note_event = ConversationEvent(type="note", at=event.at,
                                           payload={"text": note, "by": by})
            events.append(note_event)
        await self._record(events)
        await self._carry_out(effects, cause=cause, note=note)
        return True

    async def _carry_out(
        self, effects: tuple[Any, ...], *, cause: str, note: str = ""
    ) -> None:
        for effect in effects:
            if isinstance(effect, EnqueueIn):
                await self.router.tell("queue", effect.team, Enqueue(
                    self.id, effect.priority, effect.skills, effect.sticky_agent,
                    effect.sticky_at,
                ))
            elif isinstance(effect, DequeueFrom):
                await self.router.tell("queue", effect.team, Dequeue(self.id))
            elif isinstance(effect, ReleaseAgent):
                if effect.team is not None:
                    await self.router.tell("queue", effect.team, Release(self.id, effect.agent))
                kind = _release_event(cause)
                data = {"conversation": self.id, "conversation_id": self.state.conversation_id,
                        "reason": cause}
                await self._publish(effect.agent, kind, data)
            elif isinstance(effect, NotifyAssigned):
                if effect.team is not None:
                    await self.router.tell("queue", effect.team,
                                           AssignDirect(self.id, effect.agent))
                await self._publish(effect.agent, "conversation.assigned", self._context())
            # Resolved, Reopened, StartFlow, DeliverTo: the row follows the ownership in
            # _record, and the inbound path delivers the message itself.

    async def _record(self, events: list[ConversationEvent]) -> RecordOutcome:
        outcome: RecordOutcome = await (await self._record_soon(events))()
        return outcome

    async def _first_time(self, events: list[ConversationEvent]) -> bool:
        """Record ``events`` (the first keyed); whether that one was new, that is, whether
        the message it logs is handled for the first time."""
        outcome = await self._record(events)
        return not outcome or outcome[0]

    async def _record_soon(
        self, events: list[ConversationEvent]
    ) -> Callable[[], Awaitable[RecordOutcome]]:
        """Hand the row and ``events`` to the log's writer; return what to await for the
        commit.  Whatever this actor writes through that writer afterwards commits with it
        or after it."""
        if self.state.conversation_id is None:
            return nothing_to_wait_for
        o = self.state.ownership
        updates: dict[str, Any] = {
            "owner_state": o.owner.value,
            "team_id": int(o.team) if o.team is not None and o.team.isdigit() else None,
            "assigned_agent_id": (
                int(o.agent) if o.owner is Owner.ASSIGNED and o.agent and o.agent.isdigit()
                else None
            ),
            "priority": o.priority,
            "labels": list(self.state.labels),
            "status": (ConversationStatus.RESOLVED if o.owner is Owner.RESOLVED
                       else ConversationStatus.OPEN).value,
            "resolved_at": utc(o.resolved_at) if o.owner is Owner.RESOLVED else None,
        }
        row = self.state.conversation_id
        if (row, updates) == self._written:
            updates = {}  # the row already says so: only the events are new
        record = ConversationRecord(row, updates, tuple(events))
        committed = await self.services.log.record_soon(record)
        if updates:
            self._written = (row, updates)
        return committed

    async def _updated(self, by: str, what: str, data: dict[str, Any]) -> None:
        payload = {**data, "by": by}
        await self._record([ConversationEvent(type=what, at=self._now(), payload=payload)])
        agent = self.state.ownership.agent
        if agent is not None and self.state.ownership.owner is Owner.ASSIGNED:
            await self._publish(agent, "conversation.updated",
                                {"conversation": self.id,
                                 "conversation_id": self.state.conversation_id,
                                 "change": what, **payload})

    async def _publish(
        self, agent: str, type: str, data: dict[str, Any], key: str | None = None
    ) -> None:
        await self.router.tell("agent", agent, Publish(type, data, key))

    # --- views -------------------------------------------------------------------------------

    def _summary(self) -> dict[str, Any]:
        s = self.state
        o = s.ownership
        return {
            "conversation": self.id,
            "conversation_id": s.conversation_id,
            "customer_id": s.customer_id,
            "customer": s.reply_to,
            "owner": o.owner.value,
            "team": o.team,
            "agent": o.agent,
            "priority": o.priority,
            "labels": list(s.labels),
            "unread": s.unread,
            "preview": s.last_text,
            "note": s.handoff_note,
        }

    def _context(self) -> dict[str, Any]:
        data = self._summary()
        data["recent_message_ids"] = list(self.state.recent)
        data["window_open_until"] = (
            None if self.state.last_customer_message_at is None
            else self.state.last_customer_message_at + 24 * 3600
        )
        return data

    def _message_data(self, message: InboundReceived) -> dict[str, Any]:
        return {
            "conversation": self.id,
            "conversation_id": message.conversation_id,
            "message_id": message.message_id,
            "wamid": message.wamid,
            "type": message.type,
            "text": message.text,
            "timestamp": message.timestamp,
        }

    def _view(self) -> ConversationView:
        s = self.state
        return ConversationView(
            conversation_id=s.conversation_id,
            customer_id=s.customer_id,
            last_customer_message_at=s.last_customer_message_at,
            inbound_count=s.inbound_count,
            unread=s.unread,
            needs_template=s.needs_template,
            last_message_ids=tuple(s.recent),
            owner=s.ownership.owner.value,
            team=s.ownership.team,
            agent=s.ownership.agent,
            labels=tuple(s.labels),
            priority=s.ownership.priority,
        )

    # --- services ----------------------------------------------------------------------------

    @property
    def _config(self) -> RoutingConfig:
        config: RoutingConfig = self.services.routing
        return config

    def _now(self) -> float:
        return self.services.timers.now()

    def _automatic_reply(self, message: InboundReceived) -> str | None:
        """The edge's own replies — only while the bot owns the conversation."""
        replies = self.services.replies
        if replies is None or self.state.ownership.owner is not Owner.FLOW:
            return None
        if message.type == "request_welcome":
            if self.state.welcomed:
                return None
            self.state.welcomed = True
            return str(replies.welcome)
        if 131052 in message.error_codes:
            return str(replies.file_too_large)
        if message.type in ("unsupported", "unknown"):
            return str(replies.unsupported)
        return None

    async def _send_text(self, text: str, key: str | None = None) -> None:
        state = self.state
        outbox = self.services.outbox
        if outbox is None or not state.reply_to or not state.phone_number_id:
            return
        # The state change above is committed with this message; if the enqueue fails the
        # message is retried as a whole (the reply is at least once, never lost).
        try:
            enqueued = await outbox.enqueue(
                state.phone_number_id,
                text_message(state.reply_to, text),
                conversation_id=state.conversation_id,
                last_customer_ts=state.last_customer_message_at,
                key=key,
            )
        except WindowClosed:
            log.info("conversation %s: automatic reply skipped, window closed", self.id)
            return
        if enqueued.repeated:
            return  # told before (a replay, a rebuilt queue): nothing new was sent
        await self._record([message_event("bot", self._now())])


def _release_event(cause: str) -> str:
    """The event the agent who loses a conversation gets, by what took it away."""
    if cause in ("resolve", "erased", "anonymised"):
        return "conversation.resolved"
    if cause in ("transfer_to_team", "transfer_to_agent", "reassign"):
        return "conversation.transferred"
    return "conversation.released"


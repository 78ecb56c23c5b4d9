"""Messages a ConversationActor accepts (frozen attrs; journaled ones survive restarts)."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class InboundReceived:
    """A customer's message, stored in ``messages`` (row ``message_id``) before this arrives."""

    message_id: int
    wamid: str
    type: str
    timestamp: int
    conversation_id: int
    customer_id: int
    #: whether it opens/restarts the 24-hour window (user messages do; system ones don't)
    opens_window: bool = True
    text: str = ""
    phone_number_id: str = ""
    #: where replies go: the customer's wa_id, or their BSUID when they have no phone
    reply_to: str = ""
    #: error codes WhatsApp attached (131052: the file was too large to deliver)
    error_codes: tuple[int, ...] = ()
    #: the id of the reply button, list row or template button the customer tapped
    reply_id: str = ""


@attrs.frozen
class DeliveryFailed:
    """An outbound message failed with ``code`` (131047: a template is now needed)."""

    message_id: int
    code: int
    details: str = ""


@attrs.frozen
class MessageStatus:
    """An outbound message's delivery status moved forward (sent, delivered, read, played,
    failed); the agent who owns the conversation is told."""

    message_id: int
    wamid: str
    status: str


@attrs.frozen
class GetConversation:
    """Ask for a :class:`ConversationView`."""


@attrs.frozen
class ConversationView:
    conversation_id: int | None
    customer_id: int | None
    last_customer_message_at: int | None
    inbound_count: int
    unread: int
    needs_template: bool
    last_message_ids: tuple[int, ...]
    owner: str = "flow"
    team: str | None = None
    agent: str | None = None
    labels: tuple[str, ...] = ()
    priority: int = 0


# --- from the team's QueueActor -----------------------------------------------------------


@attrs.frozen
class QueueOffered:
    """The queue reserved this conversation for ``agent`` until ``expires_at`` (epoch)."""

    team: str
    agent: str
    expires_at: float


@attrs.frozen
class QueueWithdrew:
    """The offer to ``agent`` is gone: ``declined``, ``expired``, ``agent_away``,
    ``agent_offline`` or ``removed``."""

    team: str
    agent: str
    reason: str


@attrs.frozen
class QueueAccepted:
    team: str
    agent: str


@attrs.frozen
class QueueRequeued:
    """The agent went offline and the team's policy puts its conversations back in line."""

    team: str
    agent: str


@attrs.frozen
class QueueInfo:
    """Where the conversation waits, for telling the customer."""

    team: str
    position: int
    estimated_wait: float | None


@attrs.frozen
class TeamClosed:
    """The team is outside its business hours: tell the customer ``message``; with
    ``redirect_to`` the conversation goes to that team instead."""

    team: str
    message: str
    redirect_to: str | None = None


# --- commands from agents, supervisors, the REST API and (later) flows --------------------


@attrs.frozen
class CommandResult:
    """Every command's answer: ``ok``, else a ``reason`` the client is shown."""

    ok: bool
    reason: str = ""
    data: dict[str, Any] = attrs.field(factory=dict)
    #: why it was refused: ``invalid`` (bad input), ``forbidden``, ``not_found``, ``conflict``
    #: (not allowed in the conversation's current state, or not yours), ``unavailable``
    code: str = "conflict"


@attrs.frozen
class HandOffConversation:
    """The bot (or an API client) hands the conversation to ``team``'s queue."""

    team: str
    priority: int = 0
    skills: tuple[str, ...] = ()
    note: str = ""
    by: str = "bot"


@attrs.frozen
class SendReply:
    """Send the customer ``content`` (``{"type": "text", "text": ...}``, media, buttons, list
    or template; see docs/agent-protocol.md) as user ``by``."""

    by: str
    role: str
    content: dict[str, Any]
    #: The client's key for this send: a repeat with the same key (a retry after a lost
    #: answer) sends nothing again and answers what the first did.
    key: str | None = None


@attrs.frozen
class AddNote:
    """A private note: stored in the event log, shown to agents, never sent to the customer."""

    by: str
    role: str
    text: str


@attrs.frozen
class SetLabels:
    by: str
    role: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@attrs.frozen
class SetPriority:
    by: str
    role: str
    priority: int


@attrs.frozen
class Transfer:
    """To another team's queue (``team``) or straight to an agent (``agent``), with a note."""

    by: str
    role: str
    team: str | None = None
    agent: str | None = None
    note: str = ""


@attrs.frozen
class ReassignConversation:
    """A supervisor gives the conversation to ``agent`` (whoever has it now)."""

    by: str
    role: str
    agent: str
    team: str | None = None


@attrs.frozen
class ResolveConversation:
    by: str
    role: str


@attrs.frozen
class MarkRead:
    """Mark the customer's messages read (blue ticks) and reset the unread count."""

    by: str
    role: str
    typing: bool = False


@attrs.frozen
class ForgetConversation:
    """The customer's data is being erased or anonymised (LGPD): end the conversation now
    and forget it.  An open conversation is resolved (logged like any resolution, so the
    team feed and webhook subscribers see it) and whoever had it is told
    ``conversation.resolved`` with ``reason`` (``"erased"``, ``"anonymised"``); the queue lets
    go of it, its timers are cancelled and the actor's state is reset, so no snapshot written
    afterwards holds anything of the customer.  Answers a `CommandResult` whose ``data``
    says ``was`` (the owner before) and ``told`` (the agents told).  ``record=False`` when
    the conversation's rows are gone already (another process erased them): nothing is
    logged, the agent and the queue are still told."""

    reason: str
    record: bool = True

"""The contracts actors are written against: what they say to each other, how they are
addressed, and the services they use.

This package is a leaf under the actor packages (``conversations``, ``agents``, ``queues``)
and the pipelines that feed them (``whatsapp``): each of those imports the messages of the
others from here, never the other package, so none of them depends on another.  It holds:

- messages (frozen attrs classes): to a ConversationActor (customer messages, statuses, queue
  offers, commands and their `CommandResult`), to a QueueActor (enqueue, offers, presence),
  to an AgentActor (`Publish`, presence);
- addresses: the actor kinds and `conversation_address`;
- services: the `typing.Protocol` of each collaborator an actor uses from a package it may
  not import (the outbox, team names and hours, live connections).

Two of the messages are journaled (stored before they are acknowledged), and their stored
type names must keep resolving: `JOURNALED` lists them and `FORMER_TYPE_NAMES` maps the names
older versions stored them under.
"""

from ._addresses import AGENT, CONVERSATION, QUEUE, conversation_address
from ._agent import (
    AgentView,
    ConnectionsChanged,
    GetAgent,
    OfflineGraceOver,
    Publish,
    ReloadAgent,
    SetPresence,
)
from ._conversation import (
    AddNote,
    CommandResult,
    ConversationView,
    DeliveryFailed,
    ForgetConversation,
    GetConversation,
    HandOffConversation,
    InboundReceived,
    MarkRead,
    MessageStatus,
    QueueAccepted,
    QueueInfo,
    QueueOffered,
    QueueRequeued,
    QueueWithdrew,
    ReassignConversation,
    ResolveConversation,
    SendReply,
    SetLabels,
    SetPriority,
    TeamClosed,
    Transfer,
)
from ._queue import (
    AcceptOffer,
    AgentUpdate,
    AssignDirect,
    DeclineOffer,
    Dequeue,
    Enqueue,
    GetPosition,
    GetQueueStats,
    LeaveTeam,
    OfferAnswer,
    Position,
    PublishStats,
    QueueStats,
    QueueTick,
    Release,
    ReloadTeam,
    Reprioritize,
)
from ._services import Connections, EnqueuedMessage, Outbox, Teams

#: Messages stored in the actor journal (see `pytake.actors.Router.tell_durable`).
JOURNALED = (InboundReceived, DeliveryFailed)

#: ``module:QualName`` under which earlier versions journaled a message → its class now.
FORMER_TYPE_NAMES: dict[str, type] = {
    "pytake.conversations._messages:InboundReceived": InboundReceived,
    "pytake.conversations._messages:DeliveryFailed": DeliveryFailed,
}

__all__ = [
    "AGENT",
    "CONVERSATION",
    "FORMER_TYPE_NAMES",
    "JOURNALED",
    "QUEUE",
    "AcceptOffer",
    "AddNote",
    "AgentUpdate",
    "AgentView",
    "AssignDirect",
    "CommandResult",
    "Connections",
    "ConnectionsChanged",
    "ConversationView",
    "DeclineOffer",
    "DeliveryFailed",
    "Dequeue",
    "Enqueue",
    "EnqueuedMessage",
    "ForgetConversation",
    "GetAgent",
    "GetConversation",
    "GetPosition",
    "GetQueueStats",
    "HandOffConversation",
    "InboundReceived",
    "LeaveTeam",
    "MarkRead",
    "MessageStatus",
    "OfferAnswer",
    "OfflineGraceOver",
    "Outbox",
    "Position",
    "Publish",
    "PublishStats",
    "QueueAccepted",
    "QueueInfo",
    "QueueOffered",
    "QueueRequeued",
    "QueueStats",
    "QueueTick",
    "QueueWithdrew",
    "ReassignConversation",
    "Release",
    "ReloadAgent",
    "ReloadTeam",
    "Reprioritize",
    "ResolveConversation",
    "SendReply",
    "SetLabels",
    "SetPresence",
    "SetPriority",
    "TeamClosed",
    "Teams",
    "Transfer",
    "conversation_address",
]

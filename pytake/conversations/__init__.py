"""Conversations: the ConversationActor, the messages and commands it accepts, and what it
writes (the conversation row and its event log)."""

from ._actor import BurstDue, ConversationActor, ConversationState
from ._content import build_body
from ._log import ConversationLog, ConversationRecord
from ._messages import (
    AddNote,
    CommandResult,
    ConversationView,
    DeliveryFailed,
    GetConversation,
    HandOff,
    InboundReceived,
    MarkRead,
    MessageStatus,
    QueueAccepted,
    QueueInfo,
    QueueOffered,
    QueueRequeued,
    QueueWithdrew,
    Reassign,
    ResolveConversation,
    SendReply,
    SetLabels,
    SetPriority,
    TeamClosed,
    Transfer,
)
from ._replies import AutomaticReplies
from ._routing import RoutingConfig

JOURNALED = (InboundReceived, DeliveryFailed)

__all__ = [
    "JOURNALED",
    "AddNote",
    "AutomaticReplies",
    "BurstDue",
    "CommandResult",
    "ConversationActor",
    "ConversationLog",
    "ConversationRecord",
    "ConversationState",
    "ConversationView",
    "DeliveryFailed",
    "GetConversation",
    "HandOff",
    "InboundReceived",
    "MarkRead",
    "MessageStatus",
    "QueueAccepted",
    "QueueInfo",
    "QueueOffered",
    "QueueRequeued",
    "QueueWithdrew",
    "Reassign",
    "ResolveConversation",
    "RoutingConfig",
    "SendReply",
    "SetLabels",
    "SetPriority",
    "TeamClosed",
    "Transfer",
    "build_body",
]

"""Conversations: the ConversationActor, the messages and commands it accepts, and what it
writes (the conversation row and its event log)."""

from ..contracts import (
    AddNote,
    CommandResult,
    ConversationView,
    DeliveryFailed,
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
from ._actor import BurstDue, ConversationActor, ConversationState
from ._content import build_body
from ._directory import ConversationDirectory
from ._log import ConversationLog, ConversationRecord
from ._replies import AutomaticReplies
from ._routing import RoutingConfig
from ._services import ConversationServices

JOURNALED = (InboundReceived, DeliveryFailed)

__all__ = [
    "JOURNALED",
    "AddNote",
    "AutomaticReplies",
    "BurstDue",
    "CommandResult",
    "ConversationActor",
    "ConversationDirectory",
    "ConversationLog",
    "ConversationRecord",
    "ConversationServices",
    "ConversationState",
    "ConversationView",
    "DeliveryFailed",
    "GetConversation",
    "HandOffConversation",
    "InboundReceived",
    "MarkRead",
    "MessageStatus",
    "QueueAccepted",
    "QueueInfo",
    "QueueOffered",
    "QueueRequeued",
    "QueueWithdrew",
    "ReassignConversation",
    "ResolveConversation",
    "RoutingConfig",
    "SendReply",
    "SetLabels",
    "SetPriority",
    "TeamClosed",
    "Transfer",
    "build_body",
]

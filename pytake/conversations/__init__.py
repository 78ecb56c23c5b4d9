"""Conversations: the ConversationActor, the messages and commands it accepts, what it
writes (the conversation row and its event log), and the reads people make of them
(listings, messages, events, metrics: `conversations_page` and its neighbours)."""

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
from ._repo import (
    ConversationFilter,
    PageOrder,
    conversation_events,
    conversation_messages,
    conversations_page,
    recomputed_metrics,
    visible_conversation,
)
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
    "ConversationFilter",
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
    "PageOrder",
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
    "conversation_events",
    "conversation_messages",
    "conversations_page",
    "recomputed_metrics",
    "visible_conversation",
]

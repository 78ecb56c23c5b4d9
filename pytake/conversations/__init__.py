"""Conversations: the ConversationActor, the messages and commands it accepts, what it
writes (the conversation row and its event log), and the reads people make of them
(listings, messages, events, metrics: `conversations_page` and its neighbours)."""

from ._actor import BurstDue, ConversationActor, ConversationState
from ._content import build_body
from ._directory import ConversationDirectory
from ._log import ConversationLog, ConversationRecord
from ._replies import AutomaticReplies
from ._repo.reads import (
    ConversationFilter,
    PageOrder,
    conversation_events,
    conversation_message,
    conversation_messages,
    conversations_order,
    conversations_page,
    customer_profile,
    messages_order,
    recomputed_metrics,
    visible_conversation,
)
from ._routing import RoutingConfig
from ._services import ConversationServices

__all__ = [
    "AutomaticReplies",
    "BurstDue",
    "ConversationActor",
    "ConversationDirectory",
    "ConversationFilter",
    "ConversationLog",
    "ConversationRecord",
    "ConversationServices",
    "ConversationState",
    "PageOrder",
    "RoutingConfig",
    "build_body",
    "conversation_events",
    "conversation_message",
    "conversation_messages",
    "conversations_order",
    "conversations_page",
    "customer_profile",
    "messages_order",
    "recomputed_metrics",
    "visible_conversation",
]

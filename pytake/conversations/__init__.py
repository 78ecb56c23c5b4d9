"""Conversations: the ConversationActor, the messages and commands it accepts, what it
writes (the conversation row and its event log), and the reads people make of them
(listings, messages, events, metrics: `conversations_page` and its neighbours), and the
supervisors' live feed of their teams' conversations (`TeamFeed`)."""

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
    team_conversations,
    visible_conversation,
)
from ._routing import RoutingConfig
from ._services import ConversationServices
from ._team_feed import TeamFeed, TeamWatcher, conversation_change

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
    "TeamFeed",
    "TeamWatcher",
    "build_body",
    "conversation_change",
    "conversation_events",
    "conversation_message",
    "conversation_messages",
    "conversations_order",
    "conversations_page",
    "customer_profile",
    "messages_order",
    "recomputed_metrics",
    "team_conversations",
    "visible_conversation",
]

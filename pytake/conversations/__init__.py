"""Conversations: the ConversationActor and the messages it accepts."""

from ._actor import WINDOW_SECONDS, ConversationActor, ConversationState, window_open
from ._messages import ConversationView, DeliveryFailed, GetConversation, InboundReceived
from ._replies import AutomaticReplies

JOURNALED = (InboundReceived, DeliveryFailed)

__all__ = [
    "JOURNALED",
    "WINDOW_SECONDS",
    "AutomaticReplies",
    "ConversationActor",
    "ConversationState",
    "ConversationView",
    "DeliveryFailed",
    "GetConversation",
    "InboundReceived",
    "window_open",
]

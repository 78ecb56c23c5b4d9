"""Conversations: the ConversationActor and the messages it accepts."""

from ._actor import ConversationActor, ConversationState
from ._messages import ConversationView, DeliveryFailed, GetConversation, InboundReceived
from ._replies import AutomaticReplies

JOURNALED = (InboundReceived, DeliveryFailed)

__all__ = [
    "JOURNALED",
    "AutomaticReplies",
    "ConversationActor",
    "ConversationState",
    "ConversationView",
    "DeliveryFailed",
    "GetConversation",
    "InboundReceived",
]

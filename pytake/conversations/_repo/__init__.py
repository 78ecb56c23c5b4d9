"""Everything the conversations package reads from and writes to the database: what the
actors record (``records``) and what people read (``reads``)."""

from .reads import (
    ConversationFilter,
    PageOrder,
    conversation_events,
    conversation_messages,
    conversations_order,
    conversations_page,
    customer_profile,
    messages_order,
    recomputed_metrics,
    visible_conversation,
)
from .records import (
    RECORD,
    ConversationRecord,
    RecordOutcome,
    StoredOwner,
    conversation_key,
    no_transition_after,
    stored_owner,
)

__all__ = [
    "RECORD",
    "ConversationFilter",
    "ConversationRecord",
    "PageOrder",
    "RecordOutcome",
    "StoredOwner",
    "conversation_events",
    "conversation_key",
    "conversation_messages",
    "conversations_order",
    "conversations_page",
    "customer_profile",
    "messages_order",
    "no_transition_after",
    "recomputed_metrics",
    "stored_owner",
    "visible_conversation",
]

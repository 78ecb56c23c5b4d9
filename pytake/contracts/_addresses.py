"""Actor addresses: the kinds of actor and how their ids are made."""

from __future__ import annotations

from typing import Final

#: The kinds of actor the engine registers (the first half of an address).
CONVERSATION: Final = "conversation"
AGENT: Final = "agent"
QUEUE: Final = "queue"


def conversation_address(phone_number_id: str, customer_row_id: int) -> str:
    """A ConversationActor's id: the business number and the customer's row id (not the
    phone number, so a customer who changes number keeps their conversation)."""
    return f"{phone_number_id}:{customer_row_id}"

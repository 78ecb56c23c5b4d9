"""Messages a ConversationActor accepts (frozen attrs; journaled ones survive restarts)."""

from __future__ import annotations

import attrs


@attrs.frozen
class InboundReceived:
    """A customer's message, stored in ``messages`` (row ``message_id``) before this arrives."""

    message_id: int
    wamid: str
    type: str
    timestamp: int
    conversation_id: int
    customer_id: int
    #: whether it opens/restarts the 24-hour window (user messages do; system ones don't)
    opens_window: bool = True
    text: str = ""
    phone_number_id: str = ""
    #: where replies go: the customer's wa_id, or their BSUID when they have no phone
    reply_to: str = ""
    #: error codes WhatsApp attached (131052: the file was too large to deliver)
    error_codes: tuple[int, ...] = ()


@attrs.frozen
class DeliveryFailed:
    """An outbound message failed with ``code`` (131047: a template is now needed)."""

    message_id: int
    code: int
    details: str = ""


@attrs.frozen
class GetConversation:
    """Ask for a :class:`ConversationView`."""


@attrs.frozen
class ConversationView:
    conversation_id: int | None
    customer_id: int | None
    last_customer_message_at: int | None
    inbound_count: int
    unread: int
    needs_template: bool
    last_message_ids: tuple[int, ...]

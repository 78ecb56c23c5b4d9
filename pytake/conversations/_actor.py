"""ConversationActor: one customer's conversation with one business number.

Addressed by ``("conversation", "<phone_number_id>:<customer row id>")`` — the customer's row
id, not their phone number, so a customer who changes number keeps their conversation.
At this stage it tracks what the WhatsApp edge needs: the 24-hour customer-service window
(from message timestamps, never arrival times), unread counts and whether a template is
needed; ownership (bot, queue, agent) arrives with the conversations issue.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..actors import Actor
from ._messages import ConversationView, DeliveryFailed, GetConversation, InboundReceived

_RECENT = 20


@attrs.define
class ConversationState:
    conversation_id: int | None = None
    customer_id: int | None = None
    last_customer_message_at: int | None = None
    inbound_count: int = 0
    unread: int = 0
    needs_template: bool = False
    welcomed: bool = False
    recent: list[int] = attrs.Factory(list)


class ConversationActor(Actor[ConversationState]):
    kind = "conversation"
    state_type = ConversationState

    async def receive(self, message: Any) -> Any:
        state = self.state
        if isinstance(message, InboundReceived):
            state.conversation_id = message.conversation_id
            state.customer_id = message.customer_id
            if message.opens_window:
                last = state.last_customer_message_at
                # Retries can deliver old messages late: the window follows the newest timestamp.
                if last is None or message.timestamp > last:
                    state.last_customer_message_at = message.timestamp
                    state.needs_template = False
            state.inbound_count += 1
            state.unread += 1
            state.recent = [*state.recent[-(_RECENT - 1):], message.message_id]
            reply = self._automatic_reply(message)
            if reply is not None:
                await self._send_text(message, reply)
            return None
        if isinstance(message, DeliveryFailed):
            if message.code == 131047:
                state.needs_template = True
            return None
        if isinstance(message, GetConversation):
            return ConversationView(
                conversation_id=state.conversation_id,
                customer_id=state.customer_id,
                last_customer_message_at=state.last_customer_message_at,
                inbound_count=state.inbound_count,
                unread=state.unread,
                needs_template=state.needs_template,
                last_message_ids=tuple(state.recent),
            )
        raise TypeError(f"ConversationActor cannot handle {type(message).__name__}")


    def _automatic_reply(self, message: InboundReceived) -> str | None:
        """The edge's own replies (flows take over everything else later)."""
        replies: Any = self.router.services.get("replies")
        if replies is None:
            return None
        if message.type == "request_welcome":
            if self.state.welcomed:
                return None
            self.state.welcomed = True
            return str(replies.welcome)
        if 131052 in message.error_codes:
            return str(replies.file_too_large)
        if message.type in ("unsupported", "unknown"):
            return str(replies.unsupported)
        return None

    async def _send_text(self, message: InboundReceived, text: str) -> None:
        outbox: Any = self.router.services.get("outbox")
        if outbox is None or not message.reply_to:
            return
        from ..whatsapp._outbound import text_message

        # The state change above is committed with this message; if the enqueue fails the
        # message is retried as a whole (the reply is at least once, never lost).
        await outbox.enqueue(
            message.phone_number_id,
            text_message(message.reply_to, text),
            conversation_id=message.conversation_id,
            last_customer_ts=self.state.last_customer_message_at,
        )


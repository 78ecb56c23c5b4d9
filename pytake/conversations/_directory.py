"""A conversation row id (what agents and the REST API use) → its actor address."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..contracts import conversation_address
from ..store import Conversation, Database


def _key(session: Session, conversation_id: int) -> str | None:
    row = session.execute(
        sa.select(Conversation.business_phone_number_id, Conversation.customer_id).where(
            Conversation.id == conversation_id
        )
    ).one_or_none()
    return None if row is None else conversation_address(row[0], row[1])


class ConversationDirectory:
    """Cached: a conversation row never changes its number or customer."""

    def __init__(self, db: Database, size: int = 100_000) -> None:
        self._db = db
        self._size = size
        self._keys: dict[int, str] = {}

    def remember(self, conversation_id: int, key: str) -> None:
        if len(self._keys) >= self._size:
            self._keys.clear()
        self._keys[conversation_id] = key

    async def key_for(self, conversation_id: int) -> str | None:
        key = self._keys.get(conversation_id)
        if key is None:
            key = await self._db.run(_key, conversation_id, readonly=True)
            if key is not None:
                self.remember(conversation_id, key)
        return key

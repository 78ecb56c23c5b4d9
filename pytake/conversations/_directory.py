"""A conversation row id (what agents and the REST API use) → its actor address."""

from __future__ import annotations

from ..store import Database
from ._repo.records import conversation_key


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
            key = await self._db.run(conversation_key, conversation_id, readonly=True)
            if key is not None:
                self.remember(conversation_id, key)
        return key

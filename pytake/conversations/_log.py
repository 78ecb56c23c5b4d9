"""`ConversationLog`: what a ConversationActor writes (its row and event log, see
``_repo.records``) handed to the group committer; each committed event offered to the
outbound webhooks' feed, and each committed row change to the supervisors' team feed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..store import Database, GroupCommitter
from ._repo.records import (
    RECORD,
    ConversationRecord,
    RecordOutcome,
    StoredOwner,
    no_transition_after,
    stored_owner,
)

__all__ = ["ConversationLog", "ConversationRecord", "RecordOutcome", "StoredOwner",
           "nothing_to_wait_for", "utc"]


class ConversationLog:
    """Writes records; once committed, each event is also offered to ``on_event`` (the
    outbound webhooks' feed) as ``("conversation.<type>", data)``."""

    def __init__(
        self,
        committer: GroupCommitter,
        db: Database | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        on_state: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        self._committer = committer
        self._db = db
        self._on_event = on_event
        self._on_state = on_state
        # Published as each record commits, in commit order (not when its writer looks).
        committer.on_commit(RECORD.name, self._committed_records)

    async def stored_owner(self, conversation_id: int) -> StoredOwner | None:
        if self._db is None:
            return None
        return await self._db.read(stored_owner, conversation_id)

    async def owner_unchanged_since(self, conversation_id: int, key: str) -> bool:
        """Whether no owner transition was logged after the event stored under ``key``: the
        message it logs was handled by the conversation's present owner."""
        if self._db is None:
            return True
        return await self._db.read(no_transition_after, conversation_id, key)

    async def record(self, record: ConversationRecord) -> RecordOutcome:
        outcome: RecordOutcome = await (await self.record_soon(record))()
        return outcome

    async def record_soon(
        self, record: ConversationRecord
    ) -> Callable[[], Awaitable[RecordOutcome]]:
        """Hand ``record`` to the writer; return what to await for its commit (and which of
        its events were new).  Writes after it on the same writer (a bot's answer) commit
        with it or after it, never before."""
        if not (record.updates or record.events):
            return nothing_to_wait_for
        write = await self._committer.submit_soon(RECORD, record)
        return write.outcome

    def _committed_records(self, writes: Sequence[Any]) -> None:
        for write in writes:
            self._published(write.params, write.result)

    def _published(self, record: ConversationRecord, stored: RecordOutcome) -> None:
        if self._on_state is not None and record.updates:
            # Every record that writes the row writes all its ownership columns: a change
            # seen twice (a replay after a crash) sets the same values again.
            self._on_state(record.conversation_id, record.updates)
        if self._on_event is not None:
            for event, new in zip(record.events, stored, strict=True):
                if not new:
                    continue  # logged before this crash's replay: subscribers had it
                self._on_event(f"conversation.{event.type}", {
                    "conversation_id": record.conversation_id,
                    "at": event.at,
                    **event.payload,
                })


def utc(at: float | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(at, UTC)


async def nothing_to_wait_for() -> RecordOutcome:
    """What `ConversationLog.record_soon` gives when nothing was handed to the writer."""
    return ()

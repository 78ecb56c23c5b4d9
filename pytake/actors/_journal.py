"""Durable delivery: messages stored before they are acknowledged, applied exactly once.

``await router.tell_durable(kind, id, message)`` returns only after the message is committed
to the journal (a :class:`Journal` backed by the database) and placed in the actor's mailbox.
Journal ids grow in commit order and are delivered to each actor in that order; the actor's
snapshot records the highest id its state includes, so after a crash or restart the journal
delivers again exactly the rows above it, and a row delivered twice is skipped.
"""

from __future__ import annotations

from typing import Any, Protocol


class Journaled:
    """Mailbox item for a journaled message (internal)."""

    __slots__ = ("journal_id", "message", "replayed")

    def __init__(self, journal_id: int, message: Any, replayed: bool = False) -> None:
        self.journal_id = journal_id
        self.message = message
        #: delivered by the start-up replay: its effects may have happened before the crash
        self.replayed = replayed


class Journal(Protocol):
    async def append(self, kind: str, id: str, message: Any) -> int:
        """Commit ``message`` for ``(kind, id)``; deliver it (through
        ``Router.deliver_journaled``) in commit order; return its journal id."""
        ...

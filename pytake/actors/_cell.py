"""The runtime's record of one live actor and its mailbox.

A cell exists from an address's first message until the actor passivates.  It owns no task:
an idle actor is this object, its actor instance and its last committed snapshot, which is
what keeps a node able to hold hundreds of thousands of live conversations.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import trio


class Ask:
    """A message that wants a reply; the asker waits on ``done``."""

    __slots__ = ("done", "error", "message", "reply")

    def __init__(self, message: Any) -> None:
        self.message = message
        self.done = trio.Event()
        self.reply: Any = None
        self.error: BaseException | None = None

    def resolve(self, reply: Any) -> None:
        self.reply = reply
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()


class ActorCell:
    __slots__ = (
        "actor",
        "backoff",
        "committed",
        "head_attempts",
        "id",
        "journal",
        "last_active",
        "mailbox",
        "passivating",
        "restarts",
        "running",
        "saved_seq",
        "saving",
        "scheduled",
        "senders",
        "seq",
    )

    def __init__(self, id: str, now: float) -> None:
        self.id = id
        self.actor: Any = None  # None until activated (snapshot restored)
        self.mailbox: deque[Any] | None = None  # dropped when empty, to keep idle cells small
        self.committed: Any = None  # unstructured state after the last handled message
        self.seq = 0  # messages applied over the actor's whole life
        self.saved_seq = -1  # seq of the newest snapshot the store holds
        self.journal = 0  # highest journal id applied (see _journal)
        self.head_attempts = 0  # crashes caused by the message at the head of the mailbox
        self.restarts = 0
        self.scheduled = False  # in the ready queue
        self.running = False  # a worker is handling its messages
        self.backoff = False  # waiting out a restart delay
        self.passivating = False
        self.saving = 0  # snapshot writes of this cell under way
        self.last_active = now
        self.senders: trio.lowlevel.ParkingLot | None = None  # created when a sender must wait

    def depth(self) -> int:
        return len(self.mailbox) if self.mailbox else 0

    def state_word(self) -> str:
        if self.actor is None:
            return "activating"
        if self.backoff:
            return "backoff"
        if self.running:
            return "running"
        if self.scheduled:
            return "scheduled"
        if self.passivating:
            return "passivating"
        return "idle"

    def busy(self) -> bool:
        return bool(self.mailbox) or self.running or self.scheduled or self.backoff

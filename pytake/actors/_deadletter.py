"""Dead letters: messages that crashed their actor too many times, kept for operators."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

import attrs


@attrs.frozen(slots=True)
class DeadLetter:
    """A poison message with the error that killed it.  ``message`` is its ``repr`` and
    ``message_type`` its class name, since the message itself may not be serializable."""

    kind: str
    id: str
    message_type: str
    message: str
    error: str
    traceback: str
    attempts: int
    at: float  # wall-clock seconds since the epoch


class DeadLetterStore(Protocol):
    async def add(self, letter: DeadLetter) -> None: ...

    async def list(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]: ...


class InMemoryDeadLetters:
    """Keeps the newest ``capacity`` dead letters (oldest dropped first, counted)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._letters: deque[DeadLetter] = deque(maxlen=capacity)
        self.dropped = 0

    async def add(self, letter: DeadLetter) -> None:
        if len(self._letters) == self._letters.maxlen:
            self.dropped += 1
        self._letters.append(letter)

    async def list(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]:
        out = [d for d in reversed(self._letters) if kind is None or d.kind == kind]
        return out[:limit]

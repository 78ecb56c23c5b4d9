"""Dead letters: messages that crashed their actor too many times, kept for operators."""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any, Final, Protocol

import attrs


@attrs.frozen(slots=True)
class DeadLetter:
    """A poison message with the error that killed it.  ``message`` is its ``repr`` and
    ``message_type`` its class name, since the message itself may not be serializable.

    ``letter_id`` is the store's number for it (0 until stored); ``payload`` the message
    itself, held in memory only, so that an operator can deliver it again (see
    `DeadLetterStore.take`): a letter listed after a restart has none."""

    kind: str
    id: str
    message_type: str
    message: str
    error: str
    traceback: str
    attempts: int
    at: float  # wall-clock seconds since the epoch
    letter_id: int = 0
    payload: Any = attrs.field(default=None, eq=False, repr=False)


#: Payloads of dead letters kept in memory for a retry; beyond it the oldest are let go.
HELD_PAYLOADS: Final = 1000


class HeldPayloads:
    """The messages themselves of the newest dead letters, by letter id (bounded)."""

    def __init__(self, capacity: int = HELD_PAYLOADS) -> None:
        self._held: OrderedDict[int, Any] = OrderedDict()
        self._capacity = capacity

    def hold(self, letter_id: int, payload: Any) -> None:
        if payload is None:
            return
        self._held[letter_id] = payload
        while len(self._held) > self._capacity:
            self._held.popitem(last=False)

    def get(self, letter_id: int) -> Any:
        return self._held.get(letter_id)

    def drop(self, letter_id: int) -> None:
        self._held.pop(letter_id, None)


class DeadLetterStore(Protocol):
    async def add(self, letter: DeadLetter) -> None: ...

    async def list(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]: ...

    async def get(self, letter_id: int) -> DeadLetter | None:
        """The letter, with its ``payload`` if this process still holds it."""
        ...

    async def remove(self, letter_id: int) -> bool:
        """Forget the letter; whether there was one."""
        ...


class InMemoryDeadLetters:
    """Keeps the newest ``capacity`` dead letters (oldest dropped first, counted)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._letters: deque[DeadLetter] = deque(maxlen=capacity)
        self._numbers = itertools.count(1)
        self.dropped = 0

    async def add(self, letter: DeadLetter) -> None:
        if len(self._letters) == self._letters.maxlen:
            self.dropped += 1
        self._letters.append(attrs.evolve(letter, letter_id=next(self._numbers)))

    async def get(self, letter_id: int) -> DeadLetter | None:
        return next((d for d in self._letters if d.letter_id == letter_id), None)

    async def remove(self, letter_id: int) -> bool:
        letter = await self.get(letter_id)
        if letter is None:
            return False
        self._letters.remove(letter)
        return True

    async def list(self, limit: int = 100, kind: str | None = None) -> Sequence[DeadLetter]:
        out = [d for d in reversed(self._letters) if kind is None or d.kind == kind]
        return out[:limit]

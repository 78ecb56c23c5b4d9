"""Coalescing a customer's burst of messages into one turn.

Everything that decides what a "turn" is lives in this file.

Customers often type one thought as several messages ("hi" / "my order" / "didn't arrive").
The conversation answers the burst once, as one turn.

Rules:

1. A message arriving less than ``gap`` seconds after the previous one joins its turn;
   otherwise it starts a new turn.  A turn is due ``gap`` seconds after its last message.
2. With ``max_hold`` set, a turn is also due ``max_hold`` seconds after its *first* message
   however fast the customer keeps typing, and a message arriving after that starts a new
   turn, so a long burst still gets an answer.
3. Times are the caller's (epoch seconds); a message stamped before the previous one counts
   as arriving with it (clocks and deliveries are not perfectly ordered).
4. Turns come out in order, each once: :meth:`BurstCoalescer.due` hands out the oldest due
   turn; a turn closed by a later message waits in ``ready`` until asked for.

The coalescer is frozen data: ``add`` and ``due`` return the new coalescer, so an actor keeps
it in its snapshot and sets one timer for :meth:`BurstCoalescer.deadline`.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

__all__ = ["BurstCoalescer", "Turn"]

T = TypeVar("T")


def _gap(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"gap must be >= 0 seconds, not {value!r}")


def _hold(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"max_hold must be > 0 seconds or None, not {value!r}")


@attrs.frozen(kw_only=True)
class Turn(Generic[T]):
    """One or more messages delivered together."""

    messages: tuple[T, ...]
    first_at: float
    last_at: float


@attrs.frozen(kw_only=True)
class BurstCoalescer(Generic[T]):
    """Groups messages into turns (rules 1-4)."""

    gap: float = attrs.field(validator=_gap)
    max_hold: float | None = attrs.field(default=None, validator=_hold)
    pending: tuple[T, ...] = ()
    first_at: float | None = None
    last_at: float | None = None
    ready: tuple[Turn[T], ...] = ()

    def _due_at(self, first_at: float, last_at: float) -> float:
        due = last_at + self.gap
        if self.max_hold is not None:
            due = min(due, first_at + self.max_hold)
        return due

    def deadline(self) -> float | None:
        """When :meth:`due` will next return a turn (possibly already past), or ``None``."""
        if self.ready:
            turn = self.ready[0]
            return self._due_at(turn.first_at, turn.last_at)
        if self.first_at is None or self.last_at is None:
            return None
        return self._due_at(self.first_at, self.last_at)

    def add(self, message: T, at: float) -> tuple[BurstCoalescer[T], float]:
        """Take a message; returns the new coalescer and its :meth:`deadline`."""
        new = self
        if self.first_at is not None and self.last_at is not None:
            at = max(at, self.last_at)
            if at >= self._due_at(self.first_at, self.last_at):
                new = self._close()
        if new.first_at is None:
            new = attrs.evolve(new, pending=(message,), first_at=at, last_at=at)
        else:
            new = attrs.evolve(new, pending=(*new.pending, message), last_at=at)
        deadline = new.deadline()
        assert deadline is not None
        return new, deadline

    def due(self, now: float) -> tuple[BurstCoalescer[T], Turn[T] | None]:
        """The oldest turn due by ``now`` (and the coalescer without it), or ``None``."""
        new = self
        if not new.ready:
            deadline = new.deadline()
            if deadline is None or now < deadline:
                return self, None
            new = new._close()
        return attrs.evolve(new, ready=new.ready[1:]), new.ready[0]

    def flush(self) -> tuple[BurstCoalescer[T], Turn[T] | None]:
        """The oldest turn now, due or not (e.g. when the conversation changes hands)."""
        new = self if self.ready else self._close()
        if not new.ready:
            return self, None
        return attrs.evolve(new, ready=new.ready[1:]), new.ready[0]

    def _close(self) -> BurstCoalescer[T]:
        if self.first_at is None or self.last_at is None:
            return self
        turn = Turn(messages=self.pending, first_at=self.first_at, last_at=self.last_at)
        return attrs.evolve(
            self, pending=(), first_at=None, last_at=None, ready=(*self.ready, turn)
        )

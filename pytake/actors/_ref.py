"""Addresses: the only handle code outside the runtime holds on an actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._router import Router


class ActorRef:
    """``(kind, id)`` plus the router that reaches it.  Cheap to create, safe to keep:
    it stays valid across passivation and restarts because it names, not holds, the actor."""

    __slots__ = ("_router", "id", "kind")

    def __init__(self, router: Router, kind: str, id: str) -> None:
        self._router = router
        self.kind = kind
        self.id = id

    async def tell(self, message: Any, *, timeout: float | None = None) -> None:
        """Enqueue ``message``.  Returns at once unless the mailbox is full; then waits for
        room, up to ``timeout`` seconds if given, raising :class:`MailboxFull` after it."""
        await self._router.tell(self.kind, self.id, message, timeout=timeout)

    def tell_nowait(self, message: Any) -> None:
        """Enqueue ``message`` or raise :class:`MailboxFull` at once."""
        self._router.tell_nowait(self.kind, self.id, message)

    async def ask(self, message: Any, *, timeout: float = 5.0) -> Any:
        """Send ``message`` and wait for the actor's reply (what ``receive`` returned).

        Raises :class:`AskTimeout` if no reply comes within ``timeout`` seconds (the message
        stays accepted and will still be handled), :class:`MessageDeadLettered` if the message
        was poison, :class:`MailboxFull` if there was no room within the timeout.
        No task is left behind in any case."""
        return await self._router.ask(self.kind, self.id, message, timeout=timeout)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ActorRef)
            and other._router is self._router
            and other.kind == self.kind
            and other.id == self.id
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.id))

    def __repr__(self) -> str:
        return f"ActorRef({self.kind!r}, {self.id!r})"

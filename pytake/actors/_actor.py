"""The actor base class: private state, one handler, a snapshot schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._router import Router

S = TypeVar("S")


class Actor(Generic[S]):
    """Base class of every actor.

    Subclasses set ``kind`` (the address namespace), ``state_type`` (an attrs class that
    cattrs can (un)structure) and implement :meth:`receive`.  The runtime guarantees that
    ``receive`` is called for one message at a time, in mailbox order, so ``self.state`` needs
    no locks.

    After every message that ``receive`` handles without raising, the runtime commits a
    snapshot of ``self.state``.  If ``receive`` raises, the actor instance is discarded and a
    new one is built from the last committed snapshot, so a half-applied message leaves no
    trace; the message is then retried (and dead-lettered after the kind's poison threshold).
    Side effects outside ``self.state`` (telling other actors, writing rows) should therefore
    happen after the state change they depend on has been validated, or be idempotent.

    ``replaying`` is true while ``receive`` handles a journaled message delivered again at
    start-up (from above the actor's snapshot): its effects may already have happened
    before the crash, so an actor whose effects are not keyed checks before repeating them.
    """

    kind: ClassVar[str] = ""
    state_type: ClassVar[type[Any]]
    #: Bump when ``state_type`` changes shape; :meth:`upgrade_snapshot` converts older data.
    state_version: ClassVar[int] = 1

    __slots__ = ("id", "replaying", "router", "services", "state")

    #: The kind's services (`ActorKind.services`); a subclass annotates their type.
    services: Any

    def __init__(self, id: str, state: S, router: Router, services: Any = None) -> None:
        self.id = id
        self.state = state
        self.router = router
        self.services = services
        self.replaying = False

    @classmethod
    def initial_state(cls, id: str) -> S:
        """State of an actor that has never been snapshotted."""
        state: S = cls.state_type()
        return state

    @classmethod
    def upgrade_snapshot(cls, data: Any, from_version: int) -> Any:
        """Convert unstructured state written by an older ``state_version``.

        The default accepts only the current version; override it when the state changes.
        """
        if from_version != cls.state_version:
            raise ValueError(
                f"{cls.__name__} cannot read snapshot schema v{from_version} "
                f"(current v{cls.state_version}); override upgrade_snapshot"
            )
        return data

    def ref(self, kind: str, id: str) -> ActorRef:
        """Address another actor (or this one) through the router."""
        return self.router.ref(kind, id)

    async def receive(self, message: Any) -> Any:
        """Handle one message; the return value is the reply to an ``ask``."""
        raise NotImplementedError

"""PyTake's actor runtime on trio.

Layers, from the outside in:

- :class:`ActorRef` is an address ``(kind, id)``; ``tell`` enqueues, ``ask`` waits for a reply.
- :class:`Router` is the only way to reach an actor.  The first message to an address
  activates it (restoring its last :class:`Snapshot` from a :class:`SnapshotStore`); an actor
  idle past its kind's timeout snapshots itself and stops.
- Each :class:`ActorKind` has a runtime (``_runtime``) that holds the live actors' cells and
  mailboxes, an elastic pool of worker tasks, restart back-off and idle passivation.  Idle
  actors own no task.
- The runtimes run under a :class:`pytake.supervisor.Supervisor`; a crash rebuilds the actor
  from its last committed snapshot, poison messages go to :class:`DeadLetter` storage.

Users import from here, never from the underscore modules.
"""

from ._actor import Actor
from ._codec import converter
from ._deadletter import DeadLetter, DeadLetterStore, HeldPayloads, InMemoryDeadLetters
from ._journal import Journal
from ._kind import ActorKind
from ._ref import ActorRef
from ._router import Router, open_router
from ._snapshot import InMemorySnapshotStore, Snapshot, SnapshotStore
from ._stats import ActorMetricsCollector, KindStats
from ._timers import Timers

__all__ = [
    "Actor",
    "ActorKind",
    "ActorMetricsCollector",
    "ActorRef",
    "DeadLetter",
    "DeadLetterStore",
    "HeldPayloads",
    "InMemoryDeadLetters",
    "InMemorySnapshotStore",
    "Journal",
    "KindStats",
    "Router",
    "Snapshot",
    "SnapshotStore",
    "Timers",
    "converter",
    "open_router",
]

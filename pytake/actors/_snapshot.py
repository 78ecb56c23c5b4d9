"""Snapshot records and the pluggable store they are kept in.

A snapshot is the unstructured (cattrs) state of one actor plus two numbers:
``schema_version`` (the actor class's ``state_version`` when written, so old snapshots can be
upgraded on read) and ``seq`` (how many messages the actor had applied, so a stale copy can be
told from a fresh one).  The runtime never mutates a snapshot's ``data`` after handing it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import attrs


@attrs.frozen(slots=True)
class Snapshot:
    kind: str
    id: str
    schema_version: int
    seq: int
    data: Any
    #: highest journal id the state includes (see ``Router.tell_durable``); 0 if none
    journal: int = 0


class SnapshotStore(Protocol):
    """Where actor snapshots live between activations.

    ``load`` returns ``None`` for an address never saved.  ``save_many`` is all-or-nothing
    from the caller's point of view: it returns only once every snapshot is stored, or
    raises (typically :class:`pytake.errors.StorageUnavailable`).  A store keeps, per address,
    the snapshot with the highest ``seq`` it has seen.

    ``durable`` says whether the store outlives the process; the runtime writes snapshots
    behind (periodically) only to durable stores, and always at passivation and shutdown.
    """

    durable: bool

    async def load(self, kind: str, id: str) -> Snapshot | None: ...

    async def save_many(self, snapshots: Sequence[Snapshot]) -> None: ...


class InMemorySnapshotStore:
    """The embedded store: a dict.  Survives actor restarts and passivation, not the process."""

    durable = False

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Snapshot] = {}
        self.saves = 0

    async def load(self, kind: str, id: str) -> Snapshot | None:
        return self._data.get((kind, id))

    async def save_many(self, snapshots: Sequence[Snapshot]) -> None:
        data = self._data
        for snap in snapshots:
            key = (snap.kind, snap.id)
            old = data.get(key)
            if old is None or old.seq <= snap.seq:
                data[key] = snap
        self.saves += len(snapshots)

    def __len__(self) -> int:
        return len(self._data)

    def items(self) -> Iterable[Snapshot]:
        return self._data.values()

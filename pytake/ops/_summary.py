"""The supervision tree as the live dashboard shows it: supervisors and services with their
restarts and crashes, and per actor kind its population, counters and mailbox hot spots.

Observer-like, but small enough to send every second: actors are not listed one by one
(a node holds many thousands), only the few with the deepest mailboxes.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any, Final

import attrs

from pytake.actors import Router
from pytake.supervisor import TreeNode

#: Actors listed per kind as mailbox hot spots (the deepest mailboxes, deepest first).
HOT_SPOTS: Final = 5


@attrs.frozen
class HotSpot:
    id: str
    depth: int
    state: str
    restarts: int


@attrs.frozen
class KindSummary:
    kind: str
    state: str
    live: int
    queued: int
    handled: int
    crashes: int
    restarts: int
    escalations: int
    dead_letters: int
    hot: list[HotSpot]


@attrs.frozen
class ServiceNode:
    """A supervisor or a service (a child that is not an actor kind), with its children."""

    kind: str
    id: str
    state: str
    restarts: int
    crashes: int
    children: list[ServiceNode] = attrs.Factory(list)


def _services(node: TreeNode, crashes: Mapping[tuple[str, str], float],
              parent: str | None) -> ServiceNode:
    return ServiceNode(
        kind=node.kind,
        id=node.id,
        state=node.state,
        restarts=node.restarts,
        crashes=int(crashes.get((parent, node.id), 0)) if parent is not None else 0,
        children=[_services(child, crashes, node.id) for child in node.children
                  if child.kind != "actor"],
    )


def _kinds(router: Router, states: Mapping[str, str], hot_spots: int) -> list[KindSummary]:
    out = []
    for name, stats in router.kinds():
        cells = router.runtime(name).cells.values()
        deepest = heapq.nlargest(hot_spots, (c for c in cells if c.depth() > 0),
                                 key=lambda c: c.depth())
        out.append(KindSummary(
            kind=name,
            state=states.get(name, "stopped"),
            live=stats.live,
            queued=stats.queued,
            handled=stats.handled,
            crashes=stats.crashes,
            restarts=stats.restarts,
            escalations=stats.escalations,
            dead_letters=stats.dead_letters,
            hot=[HotSpot(id=c.id, depth=c.depth(), state=c.state_word(), restarts=c.restarts)
                 for c in deepest],
        ))
    return out


def summarise(tree: TreeNode, router: Router,
              crashes: Mapping[tuple[str, str], float] | None = None,
              hot_spots: int = HOT_SPOTS) -> dict[str, Any]:
    """``{"tree": <supervisors and services>, "kinds": [<per actor kind>]}``; ``crashes`` is
    ``pytake_supervisor_child_crashes`` by (supervisor, child)."""
    states: dict[str, str] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind == "actor-kind":
            states[node.id] = node.state
        stack.extend(node.children)
    return {
        "tree": attrs.asdict(_services(tree, crashes or {}, None)),
        "kinds": [attrs.asdict(k) for k in _kinds(router, states, hot_spots)],
    }


def child_crashes(samples: Any) -> dict[tuple[str, str], float]:
    """``pytake_supervisor_child_crashes_total`` by (supervisor, child), from metric
    families (the counter's own ``collect()``, or a whole registry's)."""
    out: dict[tuple[str, str], float] = {}
    for family in samples:
        for sample in family.samples:
            if sample.name == "pytake_supervisor_child_crashes_total":
                key = (sample.labels["supervisor"], sample.labels["child"])
                out[key] = out.get(key, 0.0) + sample.value
    return out

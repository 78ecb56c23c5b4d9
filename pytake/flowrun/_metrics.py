"""Flow metrics, computed from ``flow_executions`` (and the ownership changes logged in
``conversation_events``).  Nothing is kept in advance: every call reads the rows again.

The executor writes one row per **step**: a node finished with an outcome (``next``, a
button's id, ``ok`` ...), and the last node of a run writes ``handoff`` or ``end`` (an
``end`` or ``return`` node).  Rows carry the version of the flow the node belongs to, so a
subflow's steps are rows of the subflow.  From these rows, for one flow:

- **Runs.** A conversation's rows (ordered by time, then id) are replayed in order.  A run
  starts with the conversation's first row, with the row after a run ended, and with the
  first row after the conversation changed hands to or from the bot (a ``conversation_events``
  entry moving the owner from or to ``flow``, such as an agent taking over, or the bot
  getting the conversation back).  A run **ends** at a ``handoff`` row (*handed off*), at an
  ``end`` row of an ``end`` node (*resolved* when the node's ``resolved`` is true, else
  *ended unresolved*), or at an ``end`` row of a ``return`` node outside a subflow (*ended
  unresolved*).  The ``return`` of a subflow ends nothing: the caller goes on.  Subflows are
  followed by their versions: rows of another flow inside a run are the subflow's, until rows
  of the caller come again.  A run belongs to the flow of its first row.
- A run that did not end is **in progress** when it is the conversation's last run, nothing
  changed hands after its last row, and the conversation is still open and owned by the bot;
  otherwise it was **dropped**.
- **Runs started**: runs of the flow whose first row is in the window ``[since, until)``.
  Rows after ``until`` still tell how those runs ended.
- **Resolution rate**: resolved runs / runs that are over (started minus in progress); ``None``
  when no run is over.  **Hand-off rate** and **drop-off rate** likewise.
- Per node of the flow (its rows in the window, also when the flow ran as a subflow):
  ``steps`` (rows at the node) and their ``outcomes``; ``average_seconds``, how long the flow
  stayed at the node: from the previous row of the same run (when the flow arrived at the
  node) to the node's row (when it left), averaged over the rows that have a previous row
  (``timed``); it includes the customer's time to answer a question.  ``dropped`` and
  ``in_progress``: runs (of any flow) that stopped at the node, the node the flow was at
  after its last row (the target of that row's outcome).  A run that stopped at the first
  node of a subflow before the subflow wrote a row counts at the ``subflow`` node.

A run that started before ``since`` is seen from its first row in the window.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy.orm import Session

from ..store import OwnerState
from ._repo import (
    bot_owned,
    execution_rows,
    flow_by_name,
    owner_events,
    version_documents,
    version_numbers,
)
from ._versions import FlowNotFound

__all__ = ["Row", "Run", "flow_metrics", "replay"]

RESOLVED = "resolved"
HANDED_OFF = "handed_off"
ENDED = "ended_unresolved"
DROPPED = "dropped"
IN_PROGRESS = "in_progress"


@attrs.frozen
class Row:
    """One ``flow_executions`` row, as the metrics need it."""

    version_id: int
    node: str
    step: str
    at: datetime


class Graph:
    """What the metrics need of a stored flow document: node types, ``end`` nodes'
    ``resolved``, and where edges lead.  Tolerates any JSON (stored drafts may be broken)."""

    def __init__(self, document: Any) -> None:
        document = document if isinstance(document, Mapping) else {}
        nodes = document.get("nodes")
        edges = document.get("edges")
        self.order: list[str] = []
        self.types: dict[str, str] = {}
        self.resolved: dict[str, bool] = {}
        self.edges: dict[tuple[str, str], str] = {}
        for node in nodes if isinstance(nodes, list) else []:
            if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                self.order.append(node["id"])
                self.types[node["id"]] = str(node.get("type", ""))
                self.resolved[node["id"]] = node.get("resolved", True) is not False
        for edge in edges if isinstance(edges, list) else []:
            if isinstance(edge, Mapping):
                source, on, to = edge.get("from"), edge.get("on", "next"), edge.get("to")
                if isinstance(source, str) and isinstance(on, str) and isinstance(to, str):
                    self.edges[(source, on)] = to

    def target(self, node: str | None, outcome: str) -> str | None:
        return None if node is None else self.edges.get((node, outcome))


_NO_GRAPH = Graph({})


@attrs.define
class Run:
    """One run of a flow in a conversation, as replayed from its rows."""

    first: Row
    last: Row
    #: the version whose rows come now, and the callers' (version, subflow node) below it
    current: int
    stack: list[tuple[int, str | None]] = attrs.Factory(list)
    #: `RESOLVED`, `HANDED_OFF`, `ENDED`, `DROPPED` or `IN_PROGRESS`
    outcome: str = DROPPED
    #: (version id, node): where a run that did not end stopped
    stopped_at: tuple[int, str] | None = None

    @property
    def top(self) -> int:
        return self.first.version_id


def _move(run: Run, row: Row, graphs: Mapping[int, Graph]) -> None:
    """Follow the run into a subflow or back to a caller, by the version of ``row``."""
    if row.version_id == run.current:
        return
    if any(version == row.version_id for version, _ in run.stack):
        while run.stack and run.current != row.version_id:
            run.current = run.stack.pop()[0]
        return
    # A subflow: the caller waits at the node its last step led to, a ``subflow`` node.
    at = graphs.get(run.current, _NO_GRAPH).target(run.last.node, run.last.step)
    run.stack.append((run.current, at))
    run.current = row.version_id


def _stop(run: Run, graphs: Mapping[int, Graph]) -> tuple[int, str]:
    """The node a run that did not end was at: the target of its last row's outcome."""
    last = run.last
    if last.step == "end" and run.stack:  # a subflow returned; the caller goes on after it
        version, node = run.stack[-1]
        after = graphs.get(version, _NO_GRAPH).target(node, "next")
        return version, after or node or last.node
    after = graphs.get(last.version_id, _NO_GRAPH).target(last.node, last.step)
    return last.version_id, after or last.node


def replay(rows: Iterable[Row], boundaries: Iterable[datetime], graphs: Mapping[int, Graph],
           *, bot_owns: bool) -> tuple[list[Run], list[tuple[Row, float | None]]]:
    """One conversation's runs, and each row with the seconds the flow stayed at its node
    (None for a run's first row).  ``boundaries``: when it changed hands to or from the bot;
    ``bot_owns``: whether it is open and the bot's now.  See the module docstring."""
    changes = sorted(boundaries)
    runs: list[Run] = []
    timed: list[tuple[Row, float | None]] = []
    run: Run | None = None
    i = 0
    for row in rows:
        crossed = False
        while i < len(changes) and changes[i] <= row.at:
            crossed = crossed or (run is not None and changes[i] > run.last.at)
            i += 1
        if crossed and run is not None:
            runs.append(run)
            run = None
        seconds: float | None = None
        if run is None:
            run = Run(first=row, last=row, current=row.version_id)
        else:
            seconds = max(0.0, (row.at - run.last.at).total_seconds())
            _move(run, row, graphs)
            run.last = row
        timed.append((row, seconds))
        if row.step == "handoff":
            run.outcome = HANDED_OFF
        elif row.step == "end":
            graph = graphs.get(row.version_id, _NO_GRAPH)
            kind = graph.types.get(row.node)
            if kind == "return" and run.stack:
                continue
            run.outcome = RESOLVED if kind == "end" and graph.resolved[row.node] else ENDED
        else:
            continue
        runs.append(run)
        run = None
    if run is not None:
        later = any(change > run.last.at for change in changes[i:])
        run.outcome = IN_PROGRESS if bot_owns and not later else DROPPED
        runs.append(run)
    for each in runs:
        if each.outcome in (DROPPED, IN_PROGRESS):
            each.stopped_at = _stop(each, graphs)
    return runs, timed


# --- reading the database --------------------------------------------------------------------


def _rate(count: int, over: int) -> float | None:
    return round(count / over, 4) if over else None


def flow_metrics(session: Session, name: str, *, since: datetime, until: datetime,
                 version: int | None = None) -> dict[str, Any]:
    """The metrics of flow ``name`` (only its version ``version``, if given) for runs that
    started in ``[since, until)``; see the module docstring.  `FlowNotFound` if there is no
    such flow or version."""
    record = flow_by_name(session, name)
    if record is None:
        raise FlowNotFound(f"no flow {name!r}")
    versions = version_numbers(session, record.id)
    if version is not None:
        versions = {vid: n for vid, n in versions.items() if n == version}
        if not versions:
            raise FlowNotFound(f"flow {name!r} has no version {version}")
    selected = set(versions)

    rows = execution_rows(session, selected, since, until)
    boundaries: dict[int, list[datetime]] = {}
    for conversation_id, at, payload in owner_events(session, selected, since, until):
        payload = payload if isinstance(payload, Mapping) else {}
        before, after = payload.get("from"), payload.get("to")
        if before != after and OwnerState.FLOW.value in (before, after):
            boundaries.setdefault(conversation_id, []).append(at)
    bot_owns = bot_owned(session, selected, since, until)
    version_ids = {int(r[1]) for r in rows} | selected
    graphs = {vid: Graph(graph) for vid, graph in version_documents(session, version_ids).items()}

    outcomes = dict.fromkeys((RESOLVED, HANDED_OFF, ENDED, DROPPED, IN_PROGRESS), 0)
    nodes: dict[str, dict[str, Any]] = {}

    def node(key: str) -> dict[str, Any]:
        return nodes.setdefault(key, {"steps": 0, "outcomes": {}, "seconds": 0.0, "timed": 0,
                                      DROPPED: 0, IN_PROGRESS: 0})

    for conversation_id, group in itertools.groupby(rows, key=lambda r: r[0]):
        replayed = [Row(int(vid), str(key), str(step), at) for _, vid, key, step, at in group]
        runs, timed = replay(replayed, boundaries.get(int(conversation_id), ()), graphs,
                             bot_owns=int(conversation_id) in bot_owns)
        for run in runs:
            if run.top in selected and since <= run.first.at < until:
                outcomes[run.outcome] += 1
            if run.stopped_at is not None and run.stopped_at[0] in selected:
                node(run.stopped_at[1])[run.outcome] += 1
        for row, seconds in timed:
            if row.version_id not in selected or not since <= row.at < until:
                continue
            stats = node(row.node)
            stats["steps"] += 1
            stats["outcomes"][row.step] = stats["outcomes"].get(row.step, 0) + 1
            if seconds is not None:
                stats["seconds"] += seconds
                stats["timed"] += 1

    # Nodes in the order of the newest selected version's document, then any others.
    newest = (graphs.get(max(selected, key=lambda vid: versions[vid]), _NO_GRAPH)
              if selected else _NO_GRAPH)
    types: dict[str, str] = {}
    for vid in sorted(selected, key=lambda vid: versions[vid]):
        types.update(graphs.get(vid, _NO_GRAPH).types)
    order = [n for n in newest.order if n in nodes] + sorted(set(nodes) - set(newest.order))
    started = sum(outcomes.values())
    over = started - outcomes[IN_PROGRESS]
    return {
        "flow": name,
        "version": version,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "runs": {"started": started, **outcomes},
        "resolution_rate": _rate(outcomes[RESOLVED], over),
        "handoff_rate": _rate(outcomes[HANDED_OFF], over),
        "drop_off_rate": _rate(outcomes[DROPPED], over),
        "nodes": [
            {
                "node": key,
                "type": types.get(key),
                "steps": nodes[key]["steps"],
                "outcomes": nodes[key]["outcomes"],
                "average_seconds": (round(nodes[key]["seconds"] / nodes[key]["timed"], 3)
                                    if nodes[key]["timed"] else None),
                "timed": nodes[key]["timed"],
                "dropped": nodes[key][DROPPED],
                "in_progress": nodes[key][IN_PROGRESS],
            }
            for key in order
        ],
    }

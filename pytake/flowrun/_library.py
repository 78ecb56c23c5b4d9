"""Flows as stored: ``flows`` (by name, which is also the flow document's ``id``) and their
``flow_versions``; the published version runs.  Loaded documents are validated once and
cached by (name, version): a published (or archived) version never changes; drafts, which the
REST API edits, are read again each time.  ``load(name)`` (no version) asks the database which
version is published on every call, so a publish or a rollback takes the next conversation.
Steps are written to ``flow_executions`` through the group committer."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlalchemy.orm import Session

from ..flows import Code, Flow, InvalidFlow, Problem, load_flow
from ..store import (
    Database,
    FlowVersion,
    FlowVersionStatus,
    GroupCommitter,
)
from ..store import Flow as FlowRecord
from ._repo import (
    add_flow,
    add_nodes,
    archive_published,
    candidate_of,
    existing_teams,
    find_version,
    flow_by_name,
    latest_version_number,
    record_steps,
    save_version,
    update_candidate,
)

log = logging.getLogger("pytake.flows")


@attrs.frozen
class StoredFlow:
    version_id: int
    flow: Flow


def set_candidate(session: Session, name: str, version: int | None, share: float) -> None:
    """Let ``version`` of flow ``name`` take ``share`` (0..1) of the conversations that start
    it (``None``: stop the split)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    update_candidate(session, name, version, share if version is not None else 0.0)


def in_share(key: str, share: float) -> bool:
    """Whether the conversation ``key`` falls in the first ``share`` of all keys: stable, so
    a customer who starts the flow again gets the same version."""
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2**32
    return bucket < share


def store_draft(session: Session, document: dict[str, Any]) -> int:
    """Store ``document`` as the next version of its flow, as a draft; returns its number."""
    return _store(session, document, publish=False)


#: The node types that name a team, and so need it to exist when the flow goes live.
_TEAM_NODES = ("handoff", "team_open")


def unknown_teams(session: Session, graph: Any) -> list[Problem]:
    """A problem per node naming a team that does not exist: a flow published with one would
    hand customers to nobody (the conversation would stay with the bot)."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    named = [(i, node["team"]) for i, node in enumerate(nodes if isinstance(nodes, list) else [])
             if isinstance(node, dict) and node.get("type") in _TEAM_NODES
             and isinstance(node.get("team"), str) and node["team"].strip()]
    existing = existing_teams(session, {team.strip() for _, team in named})
    return [Problem(f"nodes[{i}].team",
                    f"team {team.strip()!r} does not exist; create it before publishing",
                    Code.UNKNOWN_TEAM)
            for i, team in named if team.strip() not in existing]


def publish(session: Session, document: dict[str, Any]) -> int:
    """Store ``document`` (already validated) as the next version of its flow and publish
    it, archiving the version published before; returns the new version number.

    `InvalidFlow` (nothing stored) when it names a team that does not exist."""
    problems = unknown_teams(session, document)
    if problems:
        raise InvalidFlow(problems)
    return _store(session, document, publish=True)


def _store(session: Session, document: dict[str, Any], *, publish: bool) -> int:
    name = str(document["id"])
    record = flow_by_name(session, name)
    if record is None:
        record = add_flow(session, FlowRecord(
            name=name, description=str(document.get("description") or "")))
    latest = latest_version_number(session, record.id)
    if publish:
        record.candidate_version, record.candidate_share = None, 0.0
        archive_published(session, record.id)
    number = (latest or 0) + 1
    version = FlowVersion(
        flow_id=record.id, version=number, graph={**document, "version": number},
        status=FlowVersionStatus.PUBLISHED if publish else FlowVersionStatus.DRAFT,
        published_at=datetime.now(UTC) if publish else None,
    )
    save_version(session, version)
    add_nodes(session, version.id, document.get("nodes") or ())
    return number


class _RecordSteps:
    name = "flow_executions.insert"

    def apply_many(self, session: Session, params: Sequence[dict[str, Any]]) -> list[None]:
        record_steps(session, params)
        return [None] * len(params)


_RECORD = _RecordSteps()


class FlowLibrary:
    def __init__(self, db: Database, committer: GroupCommitter | None = None,
                 node_types: Callable[[], Any] | None = None) -> None:
        self._db = db
        self._committer = committer
        self._node_types = node_types
        self._cache: dict[tuple[str, int], StoredFlow] = {}
        self._published: dict[str, tuple[float, int | None]] = {}

    async def start_version(self, name: str, key: str) -> int | None:
        """The version a conversation ``key`` starting flow ``name`` runs: the candidate for
        its share of keys, else the published one (``None``)."""
        candidate, share = await self._db.run(candidate_of, name, readonly=True)
        if candidate is not None and share > 0 and in_share(key, share):
            return int(candidate)
        return None

    async def load(self, name: str, version: int | None = None) -> StoredFlow | None:
        if version is not None and (name, version) in self._cache:
            return self._cache[(name, version)]
        found = await self._db.run(find_version, name, version, readonly=True)
        if found is None:
            return None
        version_id, number, graph, status = found
        if (name, number) in self._cache:
            return self._cache[(name, number)]
        try:
            types = self._node_types() if self._node_types is not None else ()
            flow = load_flow({**graph, "version": number}, node_types=types)
        except InvalidFlow as exc:
            log.error("stored flow %s v%d does not validate: %s", name, number, exc)
            return None
        stored = StoredFlow(version_id, flow)
        if status != FlowVersionStatus.DRAFT:
            # Published and archived versions never change; a draft may be edited any time.
            self._cache[(name, number)] = stored
        return stored

    async def record_many(
        self,
        conversation_id: int | None,
        steps: Sequence[tuple[StoredFlow | None, str, str, dict[str, Any]]],
        turn: str | None = None,
    ) -> None:
        """Store a turn's steps (``(flow, node, step, variables)``) in one group commit;
        with the ``turn``'s name, each step once however often the turn runs."""
        if conversation_id is None or self._committer is None:
            return
        now = datetime.now(UTC)
        rows = [{"conversation_id": conversation_id, "flow_version_id": stored.version_id,
                 "node_key": node[:100], "step_type": step[:50], "variables": variables,
                 "at": now, "effect_key": None if turn is None else f"{turn}:{n}"}
                for n, (stored, node, step, variables) in enumerate(steps, 1)
                if stored is not None]
        if rows and not self._committer.submit_detached(_RECORD, rows):
            # Steps feed metrics; a reply to the customer must not wait for them.
            log.warning("flow steps of conversation %s not recorded: the writer is full",
                        conversation_id)

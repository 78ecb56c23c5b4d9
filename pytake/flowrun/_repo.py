"""Flows as stored, read and written: ``flows``, ``flow_versions``, ``flow_nodes`` and the
``flow_executions`` log (with the ``conversation_events`` and ``conversations`` rows the
metrics replay it against).

The functions take a `Session` and run inside `pytake.store.Database.run` (or a group
commit); the transaction is the caller's. They hold no rules of their own: which version is
published, what a split may run, who may change what and how metrics count is decided by
``_library``, ``_versions`` and ``_metrics``, which call these. Functions that add rows flush
them when the caller needs their ids (or a constraint to see them) right away.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..routing import MESSAGE_TYPES
from ..store import (
    Actor,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    FlowExecution,
    FlowNode,
    FlowVersion,
    FlowVersionStatus,
    OwnerState,
    Team,
    insert_once,
    insert_rows,
    record_audit,
)
from ..store import Flow as FlowRecord

__all__ = [
    "add_audit",
    "add_flow",
    "add_nodes",
    "archive_published",
    "bot_owned",
    "candidate_of",
    "execution_rows",
    "find_version",
    "flow_by_name",
    "flow_records",
    "latest_version_number",
    "owner_events",
    "record_steps",
    "save_version",
    "update_candidate",
    "version_documents",
    "version_numbers",
    "version_of",
    "version_titles",
    "versions_of",
    "write_changes",
]

_executions: sa.Table = FlowExecution.__table__  # type: ignore[assignment]


# --- flows -----------------------------------------------------------------------------------


def existing_teams(session: Session, names: Iterable[str]) -> set[str]:
    """Which of ``names`` name a team, by its name or (all digits) its id."""
    wanted = set(names)
    if not wanted:
        return set()
    ids = {int(n) for n in wanted if n.isdigit() and len(n) < 19}
    rows = session.execute(
        sa.select(Team.id, Team.name).where(sa.or_(Team.name.in_(wanted), Team.id.in_(ids)))
    ).all()
    found = {str(r.id) for r in rows} | {r.name for r in rows}
    return wanted & found


def flow_by_name(session: Session, name: str, *, lock: bool = False) -> FlowRecord | None:
    """The ``flows`` row named ``name``; ``lock`` holds it until the transaction ends, so two
    writers of one flow (two publishes) run one after the other."""
    query = sa.select(FlowRecord).where(FlowRecord.name == name)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar()


def flow_records(session: Session) -> list[FlowRecord]:
    """Every ``flows`` row, by name."""
    return list(session.scalars(sa.select(FlowRecord).order_by(FlowRecord.name)))


def add_flow(session: Session, record: FlowRecord) -> FlowRecord:
    """Store a new flow; flushed, since its versions need its id."""
    session.add(record)
    session.flush()
    return record


def candidate_of(session: Session, name: str) -> tuple[int | None, float]:
    """The version on trial for a share of the conversations starting flow ``name`` and that
    share; ``(None, 0.0)`` when there is no split (or no such flow)."""
    row = session.execute(
        sa.select(FlowRecord.candidate_version, FlowRecord.candidate_share)
        .where(FlowRecord.name == name)
    ).first()
    return (None, 0.0) if row is None else (row[0], float(row[1] or 0.0))


def update_candidate(session: Session, name: str, version: int | None, share: float) -> None:
    """Store flow ``name``'s traffic split as given (no check: the caller's)."""
    session.execute(sa.update(FlowRecord).where(FlowRecord.name == name).values(
        candidate_version=version, candidate_share=share))


def add_audit(session: Session, actor: int | None, action: str, name: str,
              details: dict[str, Any], ip: str | None) -> None:
    """An ``audit_logs`` row for a change of flow ``name``, in the change's transaction so
    neither is stored without the other."""
    record_audit(session, action, Actor(actor, ip), target_type="flow", target_id=name,
                 details=details)


# --- versions --------------------------------------------------------------------------------


def find_version(session: Session, name: str,
                 version: int | None) -> tuple[int, int, Any, FlowVersionStatus] | None:
    """``(id, number, document, status)`` of version ``version`` of flow ``name``, or of its
    published version when ``version`` is None."""
    query = (
        sa.select(FlowVersion.id, FlowVersion.version, FlowVersion.graph, FlowVersion.status)
        .join(FlowRecord, FlowRecord.id == FlowVersion.flow_id)
        .where(FlowRecord.name == name)
    )
    if version is None:
        query = query.where(FlowVersion.status == FlowVersionStatus.PUBLISHED)
    else:
        query = query.where(FlowVersion.version == version)
    row = session.execute(query.limit(1)).first()
    return None if row is None else (int(row[0]), int(row[1]), row[2], row[3])


def versions_of(session: Session, flow_id: int) -> list[FlowVersion]:
    """Every version of a flow, oldest first."""
    return list(session.scalars(
        sa.select(FlowVersion).where(FlowVersion.flow_id == flow_id)
        .order_by(FlowVersion.version)
    ))


def version_of(session: Session, flow_id: int, number: int) -> FlowVersion | None:
    """Version ``number`` of a flow, if it has one."""
    return session.execute(
        sa.select(FlowVersion).where(FlowVersion.flow_id == flow_id,
                                     FlowVersion.version == number)
    ).scalar()


def version_titles(session: Session) -> list[tuple[int, int, FlowVersionStatus, str | None]]:
    """``(flow id, number, status, document name)`` of every version of every flow, by flow
    and number; the documents themselves stay in the database (listings do not need them)."""
    v = FlowVersion
    rows = session.execute(
        sa.select(v.flow_id, v.version, v.status, v.graph["name"].as_string())
        .order_by(v.flow_id, v.version)
    ).all()
    return [(int(flow_id), int(number), status, title)
            for flow_id, number, status, title in rows]


def version_numbers(session: Session, flow_id: int) -> dict[int, int]:
    """A flow's versions: id -> number."""
    return {int(vid): int(number) for vid, number in session.execute(
        sa.select(FlowVersion.id, FlowVersion.version).where(FlowVersion.flow_id == flow_id)
    ).all()}


def version_documents(session: Session, version_ids: Iterable[int]) -> dict[int, Any]:
    """The stored documents of the versions ``version_ids``, by version id."""
    return {
        int(vid): graph for vid, graph in session.execute(
            sa.select(FlowVersion.id, FlowVersion.graph)
            .where(FlowVersion.id.in_(list(version_ids)))
        )
    }


def latest_version_number(session: Session, flow_id: int) -> int | None:
    """The highest version number of a flow, ``None`` before its first version."""
    latest = session.execute(
        sa.select(sa.func.max(FlowVersion.version)).where(FlowVersion.flow_id == flow_id)
    ).scalar()
    return None if latest is None else int(latest)


def archive_published(session: Session, flow_id: int) -> None:
    """Archive the flow's published version, if any (one UPDATE, before a new one is added
    as published: a flow has at most one)."""
    session.execute(
        sa.update(FlowVersion)
        .where(FlowVersion.flow_id == flow_id,
               FlowVersion.status == FlowVersionStatus.PUBLISHED)
        .values(status=FlowVersionStatus.ARCHIVED)
    )


def save_version(session: Session, version: FlowVersion) -> None:
    """Store ``version`` (new, or loaded and changed); flushed, so its id is known and the
    unique version number is checked here rather than at commit."""
    session.add(version)
    session.flush()


def add_nodes(session: Session, version_id: int, nodes: Iterable[Any]) -> None:
    """The nodes of a stored version's document as ``flow_nodes`` rows, so they can be queried
    (metrics per node) without the document; entries that are not nodes with an id are
    skipped."""
    session.add_all(
        FlowNode(flow_version_id=version_id, node_key=str(node["id"])[:100],
                 type=str(node.get("type") or "")[:50],
                 config={k: v for k, v in node.items() if k not in ("id", "type")})
        for node in nodes
        if isinstance(node, dict) and node.get("id") is not None
    )
    session.flush()


def write_changes(session: Session) -> None:
    """Write the changes made to loaded rows so far, now: publishing archives the old version
    before it publishes the new one, or the index allowing one published version per flow
    would refuse the UPDATEs in the order the unit of work may pick."""
    session.flush()


# --- executions ------------------------------------------------------------------------------


def record_steps(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``flow_executions`` rows; those with an ``effect_key`` once per conversation, so
    a turn run again after a crash (its message replayed over an older snapshot) records its
    steps once."""
    unkeyed = [row for row in rows if row["effect_key"] is None]
    keyed = [row for row in rows if row["effect_key"] is not None]
    if unkeyed:
        insert_rows(session, _executions, unkeyed, json_columns=frozenset({"variables"}))
    insert_once(session, _executions, keyed, unique=("conversation_id", "effect_key"),
                json_columns=frozenset({"variables"}))


def _conversations_running(
    version_ids: Iterable[int], since: datetime, until: datetime
) -> sa.ScalarSelect[int]:
    """The conversations that wrote a step of one of ``version_ids`` in ``[since, until)``."""
    e = FlowExecution
    return (
        sa.select(e.conversation_id).distinct()
        .where(e.flow_version_id.in_(list(version_ids)), e.at >= since, e.at < until)
        .scalar_subquery()
    )


def execution_rows(
    session: Session, version_ids: Iterable[int], since: datetime, until: datetime
) -> Sequence[tuple[int, int, str, str, datetime]]:
    """``(conversation id, version id, node, step, at)`` of every step from ``since`` on (of
    any flow) of the conversations that ran ``version_ids`` in ``[since, until)``, by
    conversation and then in the order written; later steps tell how runs ended."""
    e = FlowExecution
    return session.execute(
        sa.select(e.conversation_id, e.flow_version_id, e.node_key, e.step_type, e.at)
        .where(e.conversation_id.in_(_conversations_running(version_ids, since, until)),
               e.at >= since)
        .order_by(e.conversation_id, e.at, e.id)
    ).all()


def owner_events(
    session: Session, version_ids: Iterable[int], since: datetime, until: datetime
) -> list[tuple[int, datetime, Any]]:
    """``(conversation id, at, payload)`` of the logged events other than messages from
    ``since`` on, of the same conversations as `execution_rows`: where to look for changes
    of hands."""
    c = ConversationEvent
    return [
        (int(conversation_id), at, payload) for conversation_id, at, payload in session.execute(
            sa.select(c.conversation_id, c.at, c.payload)
            .where(c.conversation_id.in_(_conversations_running(version_ids, since, until)),
                   c.at >= since, c.type.not_in(sorted(MESSAGE_TYPES)))
        )
    ]


def bot_owned(
    session: Session, version_ids: Iterable[int], since: datetime, until: datetime
) -> set[int]:
    """Which of the conversations of `execution_rows` are open and owned by the bot now."""
    return set(session.execute(
        sa.select(Conversation.id).where(
            Conversation.id.in_(_conversations_running(version_ids, since, until)),
            Conversation.status == ConversationStatus.OPEN,
            Conversation.owner_state == OwnerState.FLOW,
        )
    ).scalars())

"""The flow store's versions: drafts, publishing and rolling back (``flows``, ``flow_versions``).

Functions here take a SQLAlchemy session (run them with `pytake.store.Database.run`) and know
nothing of HTTP; the REST API (``pytake/web/_flows_api.py``) and the CLI call them.

- A flow is a ``flows`` row named by its documents' ``id``.  Its versions are numbered from 1.
- Saving (`save_draft`) stores a document as a **draft**: a new version, or in place of the
  flow's latest draft (unless that draft is the candidate of a traffic split, which runs in
  conversations and so never changes).  Drafts may be invalid.  The stored document's
  ``version`` field is always the version's number.
- Publishing (`publish_version`) validates a version (by default the latest draft) and makes
  it the **published** one, in place (its number stays); the version published before is
  **archived**.  A flow has at most one published version (a partial unique index says so
  too).  A published version never changes again.  Publishing (and rolling back) ends a
  traffic split, as `pytake.flowrun._library.publish` does.
- Rolling back (`rollback`) switches statuses back: the published version is archived and the
  newest archived version older than it, one that was published once, is published again
  (with a new ``published_at``).  No version is copied, so version numbers keep naming
  exactly one document in ``flow_executions`` and the metrics.  Rolling back again goes one
  version further back; to go forward, publish the newer version by its number.

Every change writes an ``audit_logs`` row (``flow.save_draft``, ``flow.publish``,
``flow.rollback``) in its transaction.  Writes lock the flow's row first, so two publishes of
one flow run one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pytake.errors import FlowError

from ..flows import ID_PATTERN, InvalidFlow, Problem
from ..store import Flow as FlowRecord
from ..store import FlowVersion, FlowVersionStatus, utcnow
from ._library import unknown_teams
from ._repo import (
    add_audit,
    add_flow,
    flow_by_name,
    flow_records,
    save_version,
    version_of,
    version_titles,
    versions_of,
    write_changes,
)

__all__ = [
    "FlowConflict",
    "FlowNotFound",
    "flow_detail",
    "list_flows",
    "publish_version",
    "rollback",
    "save_draft",
    "version_document",
]

DRAFT = FlowVersionStatus.DRAFT
PUBLISHED = FlowVersionStatus.PUBLISHED
ARCHIVED = FlowVersionStatus.ARCHIVED

#: ``check(document) -> problems``: what publishing requires of a document.
Check = Callable[[dict[str, Any]], list[Problem]]


class FlowNotFound(FlowError, LookupError):
    """No such flow, or no such version of it."""


class FlowConflict(FlowError):
    """The flow is not in a state that allows the change (nothing to publish, to roll back to,
    already published)."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _title(graph: Any) -> str | None:
    name = graph.get("name") if isinstance(graph, dict) else None
    return name if isinstance(name, str) else None


def _record(session: Session, name: str, *, lock: bool = False) -> FlowRecord:
    record = flow_by_name(session, name, lock=lock)
    if record is None:
        raise FlowNotFound(f"no flow {name!r}")
    return record


def _candidate(record: FlowRecord) -> int | None:
    """The version on trial for a share of the conversations (traffic split), if any."""
    version = getattr(record, "candidate_version", None)
    return int(version) if version is not None else None


def _end_split(record: FlowRecord) -> None:
    """Publishing ends a traffic split: everyone starts the published version."""
    if getattr(record, "candidate_version", None) is not None:
        record.candidate_version = None
        record.candidate_share = 0.0


# --- reading ---------------------------------------------------------------------------------


def list_flows(session: Session) -> list[dict[str, Any]]:
    """Every flow, by name: its published and latest draft version and when it changed."""
    versions: dict[int, list[tuple[int, FlowVersionStatus, str | None]]] = {}
    for flow_id, number, status, title in version_titles(session):
        versions.setdefault(flow_id, []).append((number, status, title))
    flows = []
    for record in flow_records(session):
        mine = versions.get(record.id, [])
        published = [n for n, status, _ in mine if status == PUBLISHED]
        drafts = [n for n, status, _ in mine if status == DRAFT]
        flows.append({
            "name": record.name,
            "title": mine[-1][2] if mine else None,
            "description": record.description or "",
            "published_version": published[-1] if published else None,
            "draft_version": drafts[-1] if drafts else None,
            "latest_version": mine[-1][0] if mine else None,
            "candidate_version": _candidate(record),
            "versions": len(mine),
            "created_at": _iso(record.created_at),
            "updated_at": _iso(record.updated_at),
        })
    return flows


def _version_json(version: FlowVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": str(version.status),
        "title": _title(version.graph),
        "created_at": _iso(version.created_at),
        "created_by_user_id": version.created_by_user_id,
        "published_at": _iso(version.published_at),
    }


def flow_detail(session: Session, name: str) -> dict[str, Any]:
    """One flow and the list of its versions, oldest first (no documents)."""
    record = _record(session, name)
    versions = versions_of(session, record.id)
    published = [v.version for v in versions if v.status == PUBLISHED]
    drafts = [v.version for v in versions if v.status == DRAFT]
    return {
        "name": record.name,
        "description": record.description or "",
        "published_version": published[-1] if published else None,
        "draft_version": drafts[-1] if drafts else None,
        "candidate_version": _candidate(record),
        "candidate_share": float(getattr(record, "candidate_share", 0.0) or 0.0),
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "versions": [_version_json(v) for v in versions],
    }


def version_document(session: Session, name: str, version: int) -> dict[str, Any]:
    """One version with its ``document``."""
    record = _record(session, name)
    found = version_of(session, record.id, version)
    if found is None:
        raise FlowNotFound(f"flow {name!r} has no version {version}")
    return {"name": record.name, **_version_json(found),
            "document": {**found.graph, "version": found.version}}


# --- writing ---------------------------------------------------------------------------------


def save_draft(session: Session, document: dict[str, Any], *, replace: bool,
               user_id: int | None = None, ip: str | None = None) -> dict[str, Any]:
    """Store ``document`` as a draft of the flow named by its ``id`` (created if needed).

    ``replace``: in place of the flow's latest draft when it has one (else a new version);
    otherwise always as a new version.  A draft that is the flow's candidate in a traffic
    split runs in conversations, so it is never replaced: a new version is added instead.
    Answers ``{"name", "version", "status": "draft", "created"}``, ``created`` saying
    whether a version was added.  Raises `ValueError` when the document has no usable
    ``id``."""
    name = document.get("id")
    if not isinstance(name, str) or not ID_PATTERN.match(name):
        raise ValueError("the document's id must be 1 to 64 letters, digits, _ or -")
    description = document.get("description")
    record = flow_by_name(session, name, lock=True)
    if record is None:
        record = add_flow(session, FlowRecord(name=name, created_by_user_id=user_id))
    if isinstance(description, str):
        record.description = description
    record.updated_at = utcnow()
    versions = versions_of(session, record.id)
    drafts = [v for v in versions if v.status == DRAFT]
    if replace and drafts and drafts[-1].version != _candidate(record):
        target = drafts[-1]
        target.graph = {**document, "version": target.version}
        target.created_by_user_id = user_id
        created = False
    else:
        number = (versions[-1].version if versions else 0) + 1
        target = FlowVersion(flow_id=record.id, version=number, status=DRAFT,
                             graph={**document, "version": number}, created_by_user_id=user_id)
        created = True
    save_version(session, target)
    add_audit(session, user_id, "flow.save_draft", name,
              {"version": target.version, "created": created}, ip)
    return {"name": name, "version": target.version, "status": str(DRAFT), "created": created}


def _check_live(session: Session, target: FlowVersion, check: Check) -> None:
    """`InvalidFlow` with every problem of ``target`` that would stop it going live: the
    document's, and the teams it names that do not exist."""
    problems = [*check({**target.graph, "version": target.version}),
                *unknown_teams(session, target.graph)]
    if problems:
        raise InvalidFlow(problems)


def _chosen(versions: list[FlowVersion], name: str, version: int | None, *, to: str,
            published: str) -> FlowVersion:
    """Version ``version`` of flow ``name`` (None: its latest draft), which must not be the
    published one; ``to`` and ``published`` word the refusals."""
    if version is None:
        drafts = [v for v in versions if v.status == DRAFT]
        if not drafts:
            raise FlowConflict(f"flow {name!r} has no draft to {to}")
        return drafts[-1]
    found = [v for v in versions if v.version == version]
    if not found:
        raise FlowNotFound(f"flow {name!r} has no version {version}")
    if found[0].status == PUBLISHED:
        raise FlowConflict(f"version {version} of flow {name!r} {published}")
    return found[0]


def _switch(session: Session, record: FlowRecord, versions: list[FlowVersion],
            target: FlowVersion, check: Check) -> int | None:
    """Validate ``target`` and publish it, archiving the published one; its number."""
    _check_live(session, target, check)
    archived = None
    for version in versions:
        if version.status == PUBLISHED:
            version.status = ARCHIVED
            archived = version.version
    write_changes(session)  # one published version per flow: archive before publishing
    target.status = PUBLISHED
    target.published_at = utcnow()
    target.graph = {**target.graph, "version": target.version}
    record.updated_at = utcnow()
    _end_split(record)
    write_changes(session)
    return archived


def publish_version(session: Session, name: str, version: int | None, check: Check, *,
                    user_id: int | None = None, ip: str | None = None) -> dict[str, Any]:
    """Publish ``version`` of flow ``name`` (None: its latest draft) if ``check`` finds no
    problem (else `InvalidFlow` with them all); the published one before is archived.

    ``{"name", "version", "status": "published", "archived": n | None}``."""
    record = _record(session, name, lock=True)
    versions = versions_of(session, record.id)
    target = _chosen(versions, name, version, to="publish", published="is already published")
    archived = _switch(session, record, versions, target, check)
    add_audit(session, user_id, "flow.publish", name,
              {"version": target.version, "archived": archived}, ip)
    return {"name": name, "version": target.version, "status": str(PUBLISHED),
            "archived": archived}


def share_version(session: Session, name: str, version: int | None, share: float,
                  check: Check, *, user_id: int | None = None,
                  ip: str | None = None) -> dict[str, Any]:
    """Let ``version`` of flow ``name`` (None: its latest draft) take ``share`` (between 0
    and 1, both excluded) of the conversations that start the flow, beside the published
    version, if ``check`` finds no problem (else `InvalidFlow`).

    ``{"name", "version", "status": "candidate", "share", "archived": None}``."""
    if not 0.0 < share < 1.0:
        raise FlowConflict(f"share must be between 0 and 1 (both excluded), got {share}")
    record = _record(session, name, lock=True)
    versions = versions_of(session, record.id)
    if not any(v.status == PUBLISHED for v in versions):
        raise FlowConflict(f"flow {name!r} has no published version to share traffic with; "
                           "publish a version first")
    target = _chosen(versions, name, version, to="share traffic with",
                     published="is the published one")
    _check_live(session, target, check)
    record.candidate_version = target.version
    record.candidate_share = share
    record.updated_at = utcnow()
    write_changes(session)
    add_audit(session, user_id, "flow.share", name,
              {"version": target.version, "share": share}, ip)
    return {"name": name, "version": target.version, "status": "candidate", "share": share,
            "archived": None}


def rollback(session: Session, name: str, check: Check, *, user_id: int | None = None,
             ip: str | None = None) -> dict[str, Any]:
    """Publish again the newest archived version older than the published one (one that
    was published once); the published one is archived.  `FlowConflict` when nothing is
    published or nothing older was; `InvalidFlow` when that version no longer validates
    (a module it uses is gone, say).

    ``{"name", "version", "status": "published", "archived": n}``."""
    record = _record(session, name, lock=True)
    versions = versions_of(session, record.id)
    current = [v for v in versions if v.status == PUBLISHED]
    if not current:
        raise FlowConflict(f"flow {name!r} has no published version to roll back")
    older = [v for v in versions if v.status == ARCHIVED and v.published_at is not None
             and v.version < current[0].version]
    if not older:
        raise FlowConflict(f"flow {name!r} has no version published before version "
                           f"{current[0].version}")
    target = older[-1]
    archived = _switch(session, record, versions, target, check)
    add_audit(session, user_id, "flow.rollback", name,
              {"version": target.version, "archived": archived}, ip)
    return {"name": name, "version": target.version, "status": str(PUBLISHED),
            "archived": archived}

"""Canned responses as stored (table ``canned_responses``): `CannedResponseRepository`, one
transaction per call, each change with its audit row.

Listings are ordered by shortcut, then id, and paged by a position ``(shortcut, id)``: the
last row of the previous page.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.orm import Session

from ...store import (
    SYSTEM,
    Actor,
    CannedResponse,
    Database,
    Team,
    TeamMember,
    record_audit,
    utcnow,
)
from .._canned import (
    CannedFilter,
    CannedResponseConflict,
    CannedResponseNotFound,
    InvalidCannedResponse,
)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def _visible(viewer: int) -> sa.ColumnElement[bool]:
    mine = sa.select(TeamMember.team_id).where(TeamMember.user_id == viewer)
    return CannedResponse.team_id.in_(mine)


def _page(
    session: Session, f: CannedFilter, after: tuple[str, int] | None, limit: int
) -> tuple[list[CannedResponse], tuple[str, int] | None]:
    query = sa.select(CannedResponse).order_by(CannedResponse.shortcut, CannedResponse.id)
    if f.viewer is not None:
        query = query.where(_visible(f.viewer))
    if f.team_id is not None:
        query = query.where(CannedResponse.team_id == f.team_id)
    if f.prefix:
        query = query.where(CannedResponse.shortcut.like(_like_prefix(f.prefix.lower()),
                                                         escape="\\"))
    if after is not None:
        query = query.where(sa.tuple_(CannedResponse.shortcut, CannedResponse.id)
                            > sa.tuple_(sa.literal(after[0]), sa.literal(after[1])))
    rows = list(session.scalars(query.limit(limit + 1)))
    page = rows[:limit]
    # One row more than asked for says whether another page follows, without a COUNT.
    following = (page[-1].shortcut, page[-1].id) if len(rows) > limit and page else None
    return page, following


def _one(session: Session, response_id: int, viewer: int | None = None) -> CannedResponse:
    query = sa.select(CannedResponse).where(CannedResponse.id == response_id)
    if viewer is not None:
        query = query.where(_visible(viewer))
    found = session.scalars(query).one_or_none()
    if found is None:
        raise CannedResponseNotFound(f"canned response {response_id} not found")
    return found


def _check(session: Session, fields: dict[str, Any], team_id: int, own_id: int | None) -> None:
    if "team_id" in fields and session.get(Team, team_id) is None:
        raise InvalidCannedResponse(f"team {team_id} not found", field="team_id")
    if "shortcut" in fields or "team_id" in fields:
        shortcut = fields.get("shortcut")
        if shortcut is None and own_id is not None:
            shortcut = session.get_one(CannedResponse, own_id).shortcut
        query = sa.select(CannedResponse.id).where(
            CannedResponse.team_id == team_id, CannedResponse.shortcut == shortcut
        )
        if own_id is not None:
            query = query.where(CannedResponse.id != own_id)
        if session.scalar(query) is not None:
            raise CannedResponseConflict(
                f"team {team_id} already has a canned response /{shortcut}"
            )


def _audit(session: Session, verb: str, actor: Actor, row: CannedResponse,
           details: dict[str, Any]) -> None:
    record_audit(session, f"canned_response.{verb}", actor, target_type="canned_response",
                 target_id=row.id, details={"team_id": row.team_id,
                                            "shortcut": row.shortcut, **details})


def _create(session: Session, fields: dict[str, Any], actor: Actor) -> CannedResponse:
    _check(session, fields, fields["team_id"], None)
    row = CannedResponse(**fields)
    session.add(row)
    session.flush()
    session.refresh(row)
    _audit(session, "create", actor, row, {})
    return row


def _update(session: Session, response_id: int, fields: dict[str, Any],
            actor: Actor) -> CannedResponse:
    row = _one(session, response_id)
    _check(session, fields, fields.get("team_id", row.team_id), response_id)
    changed = sorted(name for name, value in fields.items() if getattr(row, name) != value)
    for name in changed:
        setattr(row, name, fields[name])
    if changed:
        row.updated_at = utcnow()
        session.flush()
        session.refresh(row)
        _audit(session, "update", actor, row, {"changed": changed})
    return row


def _delete(session: Session, response_id: int, actor: Actor) -> None:
    row = _one(session, response_id)
    _audit(session, "delete", actor, row, {})
    session.delete(row)


class CannedResponseRepository:
    """Canned responses in ``db``; every method is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(
        self, f: CannedFilter, after: tuple[str, int] | None, limit: int
    ) -> tuple[list[CannedResponse], tuple[str, int] | None]:
        """Up to ``limit`` responses after the position ``after``, by shortcut; and the
        position the next page starts after (``None``: this was the last page)."""
        return await self._db.run(_page, f, after, limit, readonly=True)

    async def get(self, response_id: int, viewer: int | None = None) -> CannedResponse:
        """One response (`CannedResponseNotFound` if none, or not in ``viewer``'s teams)."""
        return await self._db.run(_one, response_id, viewer, readonly=True)

    async def create(self, fields: dict[str, Any], actor: Actor = SYSTEM) -> CannedResponse:
        return await self._conflicts_as_refusals(_create, fields, actor)

    async def update(self, response_id: int, fields: dict[str, Any],
                     actor: Actor = SYSTEM) -> CannedResponse:
        return await self._conflicts_as_refusals(_update, response_id, fields, actor)

    async def delete(self, response_id: int, actor: Actor = SYSTEM) -> None:
        await self._db.run(_delete, response_id, actor)

    async def _conflicts_as_refusals(self, work: Any, *args: Any) -> CannedResponse:
        try:
            row: CannedResponse = await self._db.run(work, *args)
        except sa_exc.IntegrityError as exc:
            # A concurrent request took the shortcut (or deleted the team) after our check.
            raise CannedResponseConflict(
                "the team has a canned response with that shortcut, or the team is gone"
            ) from exc
        return row

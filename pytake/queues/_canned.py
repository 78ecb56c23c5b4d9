"""Canned responses: each team's prepared replies, what the rules allow and how they are stored.

A canned response belongs to one team and has a ``shortcut`` (what an agent types after ``/``
in the desk; unique in its team, case-insensitive, stored in lower case), a ``title`` to pick
it by and the ``text`` sent. `canned_fields` checks a request's fields (pure);
`CannedResponseRepository` reads and writes them, one transaction per call. Agents read their
own teams' responses (``viewer``); supervisors and admins read every team's and change them.

Listings are ordered by shortcut, then id, and paged by a position ``(shortcut, id)``: the
last row of the previous page.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Final

import attrs
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.orm import Session

from ..store import (
    SYSTEM,
    Actor,
    CannedResponse,
    Database,
    Team,
    TeamMember,
    record_audit,
    utcnow,
)
from ._rules import TeamError

MAX_SHORTCUT: Final = 32
MAX_TITLE: Final = 120
#: WhatsApp's limit on a text message body: a longer response could never be sent.
MAX_TEXT: Final = 4096
# Any script's letters and digits (agents here type "/saudação"), then also _ . -
_SHORTCUT: Final = re.compile(r"^[^\W_][\w.-]*$")
_FIELDS: Final = ("team_id", "shortcut", "title", "text")


class CannedResponseError(TeamError):
    """A change of a team's canned responses was refused; the message says why."""


class CannedResponseNotFound(CannedResponseError, LookupError):
    """No canned response with that id (or none the caller may see)."""


class CannedResponseConflict(CannedResponseError):
    """The team already has a canned response with that shortcut."""


class InvalidCannedResponse(CannedResponseError, ValueError):
    """A field of a canned response is refused; ``field`` names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def _text(body: dict[str, Any], name: str, maximum: int) -> str:
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidCannedResponse(f"{name} must be a non-empty string", field=name)
    value = value.strip()
    if len(value) > maximum:
        raise InvalidCannedResponse(f"{name} must have at most {maximum} characters",
                                    field=name)
    return value


def canned_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The fields of ``body`` as stored; `InvalidCannedResponse` names the first refused one.

    Creating needs every field; an update any of them (at least one)."""
    for name in body:
        if name not in _FIELDS:
            raise InvalidCannedResponse(
                f"unknown field {name!r}; a canned response has {', '.join(_FIELDS)}",
                field=name,
            )
    if creating:
        for name in _FIELDS:
            if name not in body:
                raise InvalidCannedResponse(f"{name} is required", field=name)
    elif not body:
        raise InvalidCannedResponse("give at least one of " + ", ".join(_FIELDS),
                                    field=_FIELDS[0])
    fields: dict[str, Any] = {}
    if "team_id" in body:
        team_id = body["team_id"]
        if type(team_id) is not int or not 1 <= team_id <= 2**63 - 1:
            raise InvalidCannedResponse("team_id must be a positive integer", field="team_id")
        fields["team_id"] = team_id
    if "shortcut" in body:
        # Agents type it after "/": a given "/greeting" means the shortcut "greeting".
        shortcut = body["shortcut"]
        if isinstance(shortcut, str):
            # One spelling per shortcut: "ção" typed precomposed or combined is the same.
            shortcut = unicodedata.normalize("NFC", shortcut.strip().removeprefix("/").lower())
        if not isinstance(shortcut, str) or not _SHORTCUT.match(shortcut) \
                or len(shortcut) > MAX_SHORTCUT:
            raise InvalidCannedResponse(
                f"shortcut must be 1 to {MAX_SHORTCUT} letters, digits or . _ - "
                "(starting with a letter or digit)",
                field="shortcut",
            )
        fields["shortcut"] = shortcut
    if "title" in body:
        fields["title"] = _text(body, "title", MAX_TITLE)
    if "text" in body:
        fields["text"] = _text(body, "text", MAX_TEXT)
    return fields


@attrs.frozen
class CannedFilter:
    """What a listing keeps; ``None`` keeps everything."""

    #: Only the teams this user is a member of (agents); ``None`` for supervisors and admins.
    viewer: int | None = None
    team_id: int | None = None
    #: Shortcuts starting with this (lower case).
    prefix: str | None = None


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

"""Canned responses: each team's prepared replies and what the rules allow (stored by
``_repo.canned``).

A canned response belongs to one team and has a ``shortcut`` (what an agent types after ``/``
in the desk; unique in its team, case-insensitive, stored in lower case), a ``title`` to pick
it by and the ``text`` sent. `canned_fields` checks a request's fields (pure);
`CannedResponseRepository` (in ``_repo``) reads and writes them, one transaction per call.
Agents read their own teams' responses (``viewer``); supervisors and admins read every
team's and change them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Final

import attrs

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

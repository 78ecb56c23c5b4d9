"""Business numbers: the WhatsApp numbers PyTake serves, changed while it runs.

An administrator adds, changes, pauses and removes numbers over ``/api/v1/numbers``; each has
its ``phone_number_id``, WABA id, display name and access token.  The token is encrypted
before it reaches the database (a `Sealer`: `pytake.modules.SecretBox` keyed by
``PYTAKE_SECRET_KEY``, passed in by the engine) and never leaves PyTake again: records only
say whether one is set.

- `number_fields` checks a request's fields (`InvalidNumber` names the field).
- `NumberRepository` is the ``business_numbers`` table (its statements are
  ``_repo.numbers``, the only SQL about numbers).
- `NumberBook` is what the message path reads: every number's token (decrypted once per
  read of the table) and which numbers the inbox accepts.  It re-reads the table every
  `REFRESH_INTERVAL` seconds (so every node follows a change made through another one within
  a few seconds) and at once after a change made through this node (`refresh`), so a message
  never waits on the database to find its token.

The environment's number stays the default: a number without a row (or a row without a
token) is sent with ``whatsapp_access_token``; ``whatsapp_phone_number_ids`` are accepted
unless a row pauses them (removing the row accepts the number again); and with no number
configured anywhere, every number is accepted, as before; once numbers are configured, the
webhooks of others are acknowledged and ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Protocol

import attrs
import trio
from sqlalchemy.orm import Session

from pytake.errors import WhatsAppError
from pytake.messaging._inbox import InboxProcessor
from pytake.messaging._outbox import OutboxSender
from pytake.messaging._repo import numbers as repo
from pytake.store import SYSTEM, Actor, BusinessNumber, Database, record_audit, utcnow

log = logging.getLogger("pytake.whatsapp")

#: Seconds between two reads of the table by a `NumberBook` (changes made on other nodes).
REFRESH_INTERVAL: Final = 2.0
#: Numbers a listing page holds at most.
MAX_PAGE: Final = 100

_ID = re.compile(r"^[0-9]{1,64}$")
_FIELDS: Final = frozenset({"phone_number_id", "waba_id", "display_name", "access_token",
                            "paused"})
_MAX_TOKEN: Final = 4096


class NumberError(WhatsAppError):
    """A change of a business number was refused."""


class NumberNotFound(NumberError, LookupError):
    """No business number with that ``phone_number_id``."""


class NumberConflict(NumberError):
    """The ``phone_number_id`` is configured already."""


class InvalidNumber(NumberError, ValueError):
    """A field of a number is refused; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Sealer(Protocol):
    """Encrypts tokens for the table and reads them back (`pytake.modules.SecretBox`)."""

    def encrypt_text(self, value: str, *, context: str) -> str: ...

    def decrypt_text(self, text: str, *, context: str, what: str = "a secret") -> str: ...


@attrs.frozen
class NumberRecord:
    """A business number as the API shows it: never its token, only whether it has one."""

    id: int
    phone_number_id: str
    waba_id: str
    display_name: str
    has_token: bool
    paused: bool
    created_at: datetime
    updated_at: datetime


def _text(body: Mapping[str, Any], name: str, maximum: int, pattern: re.Pattern[str] | None,
          *, empty: bool) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise InvalidNumber(name, "must be a string")
    value = value.strip()
    if not value and not empty:
        raise InvalidNumber(name, "must not be empty")
    if len(value) > maximum:
        raise InvalidNumber(name, f"must have at most {maximum} characters")
    if value and pattern is not None and not pattern.match(value):
        raise InvalidNumber(name, "must be the digits of a Meta id")
    return value


def number_fields(body: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """The fields of a new number (``partial=False``: ``phone_number_id`` required) or of a
    change (``partial=True``: ``phone_number_id`` may not change), checked.  An
    ``access_token`` of ``null`` in a change removes the number's own token."""
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidNumber(unknown[0], "is not a field of a business number")
    fields: dict[str, Any] = {}
    if partial:
        if "phone_number_id" in body:
            raise InvalidNumber("phone_number_id", "cannot change (remove the number and "
                                "add the other one)")
    elif "phone_number_id" not in body:
        raise InvalidNumber("phone_number_id", "is required")
    else:
        fields["phone_number_id"] = _text(body, "phone_number_id", 64, _ID, empty=False)
    if "waba_id" in body:
        fields["waba_id"] = _text(body, "waba_id", 64, _ID, empty=True)
    if "display_name" in body:
        fields["display_name"] = _text(body, "display_name", 200, None, empty=True)
    if "access_token" in body:
        token = body["access_token"]
        if token is None and partial:
            fields["access_token"] = None
        elif not isinstance(token, str) or not token.strip():
            raise InvalidNumber("access_token", "must be a non-empty string"
                                + (" or null" if partial else ""))
        elif len(token) > _MAX_TOKEN or any(c.isspace() for c in token.strip()):
            raise InvalidNumber("access_token", f"must be one token of at most {_MAX_TOKEN} "
                                "characters, without spaces")
        else:
            fields["access_token"] = token.strip()
    if "paused" in body:
        if not isinstance(body["paused"], bool):
            raise InvalidNumber("paused", "must be true or false")
        fields["paused"] = body["paused"]
    return fields


def access_token_context(phone_number_id: str) -> str:
    """What a number's sealed access token is bound to (copied onto another row, it does not
    decrypt); ``pytake secrets rotate`` re-encrypts it under the same."""
    return f"business_numbers:{phone_number_id}"


def _record(row: BusinessNumber) -> NumberRecord:
    return NumberRecord(
        id=row.id, phone_number_id=row.phone_number_id, waba_id=row.waba_id,
        display_name=row.display_name, has_token=row.access_token is not None,
        paused=row.paused, created_at=row.created_at, updated_at=row.updated_at,
    )


@attrs.frozen
class _Entry:
    """A row as the `NumberBook` reads it (the token still encrypted)."""

    phone_number_id: str
    sealed_token: str | None
    paused: bool


class NumberRepository:
    """The ``business_numbers`` table.  ``sealer`` encrypts and decrypts tokens; without one
    (no ``PYTAKE_SECRET_KEY``) a token cannot be stored (`InvalidNumber`)."""

    def __init__(self, db: Database, sealer: Sealer | None) -> None:
        self.db = db
        self.sealer = sealer

    def _seal(self, phone_number_id: str, token: str | None) -> str | None:
        if token is None:
            return None
        if self.sealer is None:
            raise InvalidNumber("access_token", "cannot be stored: PYTAKE_SECRET_KEY is not "
                                "set (tokens are stored encrypted with it)")
        return self.sealer.encrypt_text(token, context=access_token_context(phone_number_id))

    def unseal(self, phone_number_id: str, sealed: str) -> str:
        """The token ``sealed`` (as stored for ``phone_number_id``) in clear."""
        if self.sealer is None:
            raise InvalidNumber("access_token", "cannot be read: PYTAKE_SECRET_KEY is not set")
        return self.sealer.decrypt_text(sealed, context=access_token_context(phone_number_id),
                                        what=f"the access token of {phone_number_id}")

    async def page(self, after: int = 0, limit: int = MAX_PAGE) -> list[NumberRecord]:
        """Numbers with an id above ``after``, by id, ``limit`` at most."""
        return await self.db.run(_page, after, limit)

    async def get(self, phone_number_id: str) -> NumberRecord:
        return await self.db.run(lambda session: _record(_row(session, phone_number_id)))

    async def add(self, fields: Mapping[str, Any], actor: Actor = SYSTEM) -> NumberRecord:
        """Add a number (`number_fields` with ``partial=False``); `NumberConflict` if it is
        configured already."""
        number = fields["phone_number_id"]
        values = {**fields, "access_token": self._seal(number, fields.get("access_token"))}
        return await self.db.run(_add, values, actor)

    async def update(self, phone_number_id: str, fields: Mapping[str, Any],
                     actor: Actor = SYSTEM) -> NumberRecord:
        """Change a number (`number_fields` with ``partial=True``)."""
        values = dict(fields)
        if "access_token" in values:
            values["access_token"] = self._seal(phone_number_id, values["access_token"])
        return await self.db.run(_update, phone_number_id, values, actor)

    async def remove(self, phone_number_id: str, actor: Actor = SYSTEM) -> None:
        await self.db.run(_remove, phone_number_id, actor)

    async def entries(self) -> list[_Entry]:
        """Every row, for the `NumberBook`."""
        return await self.db.run(_entries)


def _row(session: Session, phone_number_id: str) -> BusinessNumber:
    row = repo.find_number(session, phone_number_id)
    if row is None:
        raise NumberNotFound(f"no business number {phone_number_id}")
    return row


def _page(session: Session, after: int, limit: int) -> list[NumberRecord]:
    return [_record(row) for row in repo.numbers_page(session, after, limit)]


def _audit(session: Session, verb: str, actor: Actor, phone_number_id: str,
           values: Mapping[str, Any]) -> None:
    # The token never reaches the log, not even encrypted: only that it changed.
    details = {name: (value if name != "access_token" else
                      "(set)" if value is not None else None)
               for name, value in values.items() if name != "phone_number_id"}
    record_audit(session, f"number.{verb}", actor, target_type="business_number",
                 target_id=phone_number_id, details=details)


def _add(session: Session, values: dict[str, Any], actor: Actor) -> NumberRecord:
    number = values["phone_number_id"]
    row = repo.insert_number(session, values)
    if row is None:  # also when added at the same time through another node
        raise NumberConflict(f"business number {number} is configured already")
    _audit(session, "add", actor, number, values)
    return _record(row)


def _update(session: Session, phone_number_id: str, values: dict[str, Any],
            actor: Actor) -> NumberRecord:
    row = _row(session, phone_number_id)
    _audit(session, "update", actor, phone_number_id, values)
    # Stamped also when nothing changed: the book re-reads it.
    repo.update_number(session, row, values, utcnow())
    return _record(row)


def _remove(session: Session, phone_number_id: str, actor: Actor) -> None:
    repo.delete_number(session, _row(session, phone_number_id))
    _audit(session, "remove", actor, phone_number_id, {})


def _entries(session: Session) -> list[_Entry]:
    return [_Entry(number, token, paused) for number, token, paused in repo.number_entries(session)]


class NumberBook:
    """Every business number's token and state, in memory, for the message path.

    `token_for` is the ``tokens`` of `pytake.messaging.CloudApiClient`.  After each read it
    tells the ``inbox`` which numbers to accept (`InboxProcessor.accept_numbers`) and the
    ``outbox`` whose tokens changed (`OutboxSender.tokens_changed`: a number paused for an
    expired token sends again once it has a new one).  Run `run` as a service; `refresh`
    re-reads at once.
    """

    def __init__(
        self,
        repository: NumberRepository,
        *,
        default_numbers: Sequence[str] = (),
        inbox: InboxProcessor | None = None,
        outbox: OutboxSender | None = None,
        interval: float = REFRESH_INTERVAL,
    ) -> None:
        self.repository = repository
        self.default_numbers = frozenset(default_numbers)
        self.inbox = inbox
        self.outbox = outbox
        self.interval = interval
        self._tokens: dict[str, str] = {}
        self._sealed: dict[str, str | None] = {}
        self.accepted: frozenset[str] = self.default_numbers
        self.refused: frozenset[str] = frozenset()
        self._lock = trio.Lock()

    def token_for(self, phone_number_id: str) -> str:
        """The number's own token, ``""`` if it has none (the client's default is used)."""
        return self._tokens.get(phone_number_id, "")

    async def refresh(self) -> None:
        """Read the table and apply what changed."""
        async with self._lock:  # two refreshes at once would apply in either order
            entries = await self.repository.entries()
            self._apply(entries)
            changed = [e.phone_number_id for e in entries
                       if self._sealed.get(e.phone_number_id) != e.sealed_token]
            self._sealed = {e.phone_number_id: e.sealed_token for e in entries}
        if changed and self.outbox is not None:
            await self.outbox.tokens_changed(changed)

    def _apply(self, entries: Sequence[_Entry]) -> None:
        tokens: dict[str, str] = {}
        for entry in entries:
            if entry.sealed_token is None:
                continue
            known = self._sealed.get(entry.phone_number_id)
            if known == entry.sealed_token and entry.phone_number_id in self._tokens:
                tokens[entry.phone_number_id] = self._tokens[entry.phone_number_id]
                continue  # decrypted already
            try:
                tokens[entry.phone_number_id] = self.repository.unseal(
                    entry.phone_number_id, entry.sealed_token)
            except Exception as exc:
                # Wrong PYTAKE_SECRET_KEY, an altered row: this number's sends fail as a
                # token error (visible per message) rather than go out with another token.
                log.error("business number %s: %s", entry.phone_number_id, exc)
                tokens[entry.phone_number_id] = "invalid-token"
        self._tokens = tokens
        active = {e.phone_number_id for e in entries if not e.paused}
        refused = {e.phone_number_id for e in entries if e.paused}
        self.accepted = frozenset((self.default_numbers | active) - refused)
        self.refused = frozenset(refused)
        if self.inbox is not None:
            self.inbox.accept_numbers(self.accepted, self.refused)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.refresh()  # before the inbox processes anything
        task_status.started()
        while True:
            await trio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception as exc:  # the database away: keep what we know, try again
                log.warning("reading business numbers failed (%s); keeping the last read", exc)

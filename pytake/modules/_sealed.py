"""Where secrets are stored sealed, and re-sealing them all under the current key.

`SEALED_COLUMNS` is the one list of the columns that hold values sealed with `SecretBox`, and
of what each value is bound to: its ``context``, computed by the same function its owner seals
with. ``pytake secrets rotate`` (`rotate_secrets`) and ``pytake secrets status``
(`count_key_ids`) walk it; ``tests/test_secret_keys.py`` fails when code seals a value, or a
column looks like it holds one, that the list does not cover.

Rotation reads each column in pages by primary key, one transaction per page; a value under
an older configured key is decrypted and sealed again under the current key, and written only
if the row still holds what was read (compare-and-set), so a change made meanwhile by a
running server is never overwritten, only counted. A value already under the current key is
left alone, so running it again is harmless. Nothing else in the row changes, not even its
``updated_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs
from sqlalchemy.orm import Session

from pytake.errors import ModuleConfigError
from pytake.identity import second_factor_context
from pytake.messaging import access_token_context
from pytake.modules._configs import secrets_context
from pytake.modules._repo import replace_sealed, sealed_rows
from pytake.modules._secrets import SecretBox
from pytake.modules.builtin.webhook import secret_context
from pytake.store import (
    SYSTEM,
    Actor,
    Base,
    BusinessNumber,
    Database,
    ModuleConfiguration,
    ModuleRecord,
    SecondFactor,
    WebhookSubscription,
    record_audit,
)

__all__ = [
    "SEALED_COLUMNS",
    "SealedColumn",
    "SealedCount",
    "count_key_ids",
    "rotate_secrets",
]

#: Rows read (and re-sealed) per transaction.
BATCH_SIZE: Final = 500
#: Problems (row and reason) kept per column for the report; the counts have them all.
_MAX_PROBLEMS: Final = 20


@attrs.frozen(eq=False)
class SealedColumn:
    """A column of sealed values: ``column`` of ``model``'s table, its rows' primary key
    ``key``, and ``context``, what a row's value is bound to, from the row read (``pk``, and
    the ``fields`` it needs: attributes of ``model`` or of a table its foreign key names).
    Binary columns hold `SecretBox.encrypt`'s bytes, others its text. ``sealed_by`` is the
    module that seals the values (for the test that finds them all)."""

    model: type[Base]
    column: str
    key: str
    label: str
    context: Callable[[Any], str]
    sealed_by: str
    fields: tuple[Any, ...] = ()

    @property
    def name(self) -> str:
        """``table.column``, as reports and the audit log name it."""
        return f"{self.model.__tablename__}.{self.column}"

    def rows(self, session: Session, after: Any, limit: int) -> list[Any]:
        """The next ``limit`` rows holding a value, after primary key ``after``."""
        return sealed_rows(session, self.model, self.column, self.key, self.fields, after,
                           limit)

    def store(self, session: Session, pk: Any, old: Any, new: Any) -> bool:
        """Replace ``old`` by ``new`` in row ``pk`` if it still holds ``old``."""
        return replace_sealed(session, self.model, self.column, self.key, pk, old, new)


#: Every column holding sealed values.  A new one goes here, with the context its owner
#: seals with; the test of this list fails until it does.
SEALED_COLUMNS: Final[tuple[SealedColumn, ...]] = (
    SealedColumn(
        ModuleConfiguration, "secrets_encrypted", "id",
        "module configuration secrets",
        context=lambda row: secrets_context(row.name, row.tenant_key),
        sealed_by="pytake/modules/_configs.py",
        fields=(ModuleRecord.name, ModuleConfiguration.tenant_key),
    ),
    SealedColumn(
        BusinessNumber, "access_token", "id", "business number access tokens",
        context=lambda row: access_token_context(row.phone_number_id),
        sealed_by="pytake/messaging/_numbers.py",
        fields=(BusinessNumber.phone_number_id,),
    ),
    SealedColumn(
        SecondFactor, "secret", "user_id", "second-factor (TOTP) keys",
        context=lambda row: second_factor_context(row.pk),
        sealed_by="pytake/identity/_totp.py",
    ),
    SealedColumn(
        WebhookSubscription, "secret", "id", "outbound webhook secrets",
        context=lambda row: secret_context(row.pk),
        sealed_by="pytake/modules/builtin/webhook.py",
    ),
)


@attrs.define
class SealedCount:
    """What a rotation found in one column (a dry run counts what it would do)."""

    column: SealedColumn
    #: values re-encrypted under the current key (a dry run: that would be)
    rotated: int = 0
    #: values already under the current key, left alone
    current: int = 0
    #: values under keys that are not configured, by key id
    missing: dict[str, int] = attrs.field(factory=dict)
    #: values that are not sealed values, were altered, or belong to another row
    unreadable: int = 0
    #: values a running server changed while this ran (run again to cover them)
    changed: int = 0
    #: "id 7: reason" of the first problems, never a value
    problems: list[str] = attrs.field(factory=list)

    @property
    def read(self) -> int:
        """Every value looked at."""
        return (self.rotated + self.current + sum(self.missing.values()) + self.unreadable
                + self.changed)

    @property
    def complete(self) -> bool:
        """Whether every value is (or, in a dry run, would be) under the current key."""
        return not (self.missing or self.unreadable or self.changed)

    def details(self) -> dict[str, Any]:
        """The counts as the ``secrets.rotate`` audit row records them."""
        return {"rotated": self.rotated, "already_current": self.current,
                "missing_key": dict(sorted(self.missing.items())),
                "unreadable": self.unreadable, "changed_meanwhile": self.changed}

    def add(self, other: SealedCount) -> None:
        """Add ``other``'s counts (of another page of the same column) to these."""
        self.rotated += other.rotated
        self.current += other.current
        for key_id, number in other.missing.items():
            self.missing[key_id] = self.missing.get(key_id, 0) + number
        self.unreadable += other.unreadable
        self.changed += other.changed
        self.problems.extend(other.problems[: _MAX_PROBLEMS - len(self.problems)])

    def _problem(self, pk: Any, reason: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"{self.column.key} {pk}: {reason}")


def _rotate_page(session: Session, column: SealedColumn, box: SecretBox, after: Any,
                 limit: int, dry_run: bool) -> tuple[Any, int, SealedCount]:
    """Re-seal one page; return the last primary key read, how many rows were read and the
    page's counts (made here: a transaction retried after a conflict counts afresh)."""
    count = SealedCount(column)
    rows = column.rows(session, after, limit)
    for row in rows:
        key_id = SecretBox.key_id_of(row.value)
        if key_id is None:
            count.unreadable += 1
            count._problem(row.pk, "not a sealed value")
        elif key_id == box.key_id:
            count.current += 1
        elif box.keys.get(key_id) is None:
            count.missing[key_id] = count.missing.get(key_id, 0) + 1
            count._problem(row.pk, f"sealed with key {key_id}, which is not configured")
        else:
            try:
                new = box.reseal(row.value, context=column.context(row),
                                 what=f"{column.label} ({column.key} {row.pk})")
            except ModuleConfigError:
                count.unreadable += 1
                count._problem(row.pk, "cannot be decrypted (altered, or copied from "
                                       "another row)")
                continue
            if dry_run or column.store(session, row.pk, row.value, new):
                count.rotated += 1
            else:
                count.changed += 1
                count._problem(row.pk, "changed while rotating")
    return (rows[-1].pk if rows else after), len(rows), count


async def rotate_secrets(
    db: Database,
    box: SecretBox,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[SealedCount], None] | None = None,
    actor: Actor = SYSTEM,
) -> list[SealedCount]:
    """Re-encrypt every stored secret under ``box``'s current key; return the counts per
    column (`SEALED_COLUMNS`' order).

    ``progress`` is called after each page with the column's counts so far. Values under a
    key ``box`` does not have, or that cannot be decrypted, are counted and left as they
    are. Unless ``dry_run`` (which writes nothing), one ``secrets.rotate`` audit row records
    the counts, by ``actor``.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    counts = []
    for column in SEALED_COLUMNS:
        count = SealedCount(column)
        counts.append(count)
        after: Any = None
        while True:
            after, read, page = await db.run(_rotate_page, column, box, after, batch_size,
                                             dry_run, readonly=dry_run)
            if read == 0:
                break
            count.add(page)
            if progress is not None:
                progress(count)
            if read < batch_size:
                break
    if not dry_run:
        await db.run(_audit_rotation, box.key_id, counts, actor)
    return counts


def _audit_rotation(session: Session, key_id: str, counts: list[SealedCount],
                    actor: Actor) -> None:
    record_audit(session, "secrets.rotate", actor, target_type="secret_key", target_id=key_id,
                 details={"key_id": key_id,
                          "columns": {c.column.name: c.details() for c in counts}})


def _key_ids_page(session: Session, column: SealedColumn, after: Any,
                  limit: int) -> tuple[Any, dict[str | None, int], int]:
    rows = column.rows(session, after, limit)
    found: dict[str | None, int] = {}
    for row in rows:
        key_id = SecretBox.key_id_of(row.value)
        found[key_id] = found.get(key_id, 0) + 1
    return (rows[-1].pk if rows else after), found, len(rows)


async def count_key_ids(
    db: Database, *, batch_size: int = BATCH_SIZE
) -> list[tuple[SealedColumn, dict[str | None, int]]]:
    """For each of `SEALED_COLUMNS`, how many values are sealed under each key id (``None``:
    values that are not sealed values). Reads headers only: no key is needed, none shown."""
    result = []
    for column in SEALED_COLUMNS:
        total: dict[str | None, int] = {}
        after: Any = None
        while True:
            after, found, read = await db.run(_key_ids_page, column, after, batch_size,
                                              readonly=True)
            for key_id, number in found.items():
                total[key_id] = total.get(key_id, 0) + number
            if read < batch_size:
                break
        result.append((column, total))
    return result

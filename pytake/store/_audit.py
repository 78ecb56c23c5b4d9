"""One writer of ``audit_logs``, and the hash chain that makes it tamper-evident.

Each change records who made it, from where, on what, in the transaction of the change itself
(a rolled-back change leaves no row); reads of a customer's personal data are recorded the
same way. Every row is chained to the one before it:

- ``chain_seq`` numbers the rows 1, 2, 3, … in the order they were written;
- ``prev_hash`` is the previous row's ``hash`` (64 zeros before the first);
- ``hash`` is the SHA-256 of the row's fields and ``prev_hash`` (`row_hash`).

Editing a row changes its hash; deleting one leaves a gap in ``chain_seq`` and a
``prev_hash`` that no longer matches; deleting the newest rows leaves the head in
``audit_chain`` ahead of the table. `verify_audit_chain` finds each of these.

Writers are serialized by updating the single ``audit_chain`` row before reading the head
(PostgreSQL makes the second writer wait for the first's commit, then read its head; SQLite
lets one writer at a time): the hashes are computed just before the rows are flushed
(`_chain_new_rows`, a session hook), so the lock is held only from then to the commit.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from pytake.store._base import utcnow
from pytake.store._models_accounts import AuditChain, AuditLog

__all__ = [
    "GENESIS",
    "SYSTEM",
    "Actor",
    "AuditFilter",
    "AuditScope",
    "ChainReport",
    "audit_page",
    "audit_scope",
    "chain_rows",
    "record_audit",
    "row_hash",
    "verify_audit_chain",
]

#: Longest text form of an IPv6 address; the column holds that much.
_MAX_IP = 45
#: ``prev_hash`` of the first row.
GENESIS: Final = "0" * 64
_CHAIN_ID: Final = 1
_chain: sa.Table = AuditChain.__table__  # type: ignore[assignment]


@attrs.frozen
class Actor:
    """Who makes a change: a signed-in user (and their role), their client address, browser
    and request; or (``user_id`` ``None``) the system itself (a command on the server, a
    migration; ``role`` ``"cli"`` for the command line)."""

    user_id: int | None = None
    ip: str | None = None
    role: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


#: Changes made by PyTake itself.
SYSTEM = Actor()


@attrs.define
class AuditScope:
    """Who acts in the request (or command) being served, and the actions it recorded so
    far: `record_audit` fills a row's missing role, browser and request id from it, and the
    edge writes a row of its own for a change that recorded none."""

    actor: Actor
    recorded: list[str] = attrs.field(factory=list)


#: The scope of the request being served (copied into the worker threads that write).
audit_scope: contextvars.ContextVar[AuditScope | None] = contextvars.ContextVar(
    "pytake_audit_scope", default=None)


def record_audit(
    session: Session,
    action: str,
    actor: Actor,
    *,
    target_type: str | None,
    target_id: object | None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add the row for ``action`` (``"canned_response.update"``, ...) to ``session``; it is
    chained when the session flushes. ``details`` must never hold personal data: the row
    cannot be changed or erased later."""
    scope = audit_scope.get()
    if scope is not None:
        scope.recorded.append(action)
        if actor.user_id == scope.actor.user_id:
            actor = Actor(actor.user_id, actor.ip or scope.actor.ip,
                          actor.role or scope.actor.role,
                          actor.user_agent or scope.actor.user_agent,
                          actor.request_id or scope.actor.request_id)
    session.add(
        AuditLog(
            actor_user_id=actor.user_id,
            role=actor.role[:20] if actor.role else None,
            action=action[:100],
            target_type=target_type[:64] if target_type else None,
            target_id=None if target_id is None else str(target_id)[:255],
            details=details or {},
            ip=actor.ip[:_MAX_IP] if actor.ip else None,
            user_agent=actor.user_agent[:300] if actor.user_agent else None,
            request_id=actor.request_id[:100] if actor.request_id else None,
            at=(at or utcnow()).astimezone(UTC),
        )
    )


def _text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def row_hash(row: AuditLog | Any) -> str:
    """The SHA-256 (hex) of a row's fields and its ``prev_hash``, in a canonical JSON form."""
    fields = [
        row.chain_seq, row.prev_hash, _text(row.at), row.actor_user_id, row.role, row.action,
        row.target_type, row.target_id, row.details or {}, row.ip, row.user_agent,
        row.request_id,
    ]
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@event.listens_for(Session, "before_flush")
def _chain_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    new = [o for o in session.new if isinstance(o, AuditLog) and o.hash is None]
    for row in new:
        if row.at is None:  # the column's default, needed now: it is hashed
            row.at = utcnow()
    new.sort(key=lambda o: o.at)
    if new:
        chain_rows(session, new)


def chain_rows(session: Session, rows: list[AuditLog]) -> None:
    """Number and hash ``rows`` after the chain's head, taking the chain's lock (the head row)
    until the transaction ends."""
    table = _chain
    bumped = session.execute(
        sa.update(table).where(table.c.id == _CHAIN_ID)
        .values(rows=table.c.rows + len(rows))
        .returning(table.c.rows, table.c.head)
    ).one_or_none()
    if bumped is None:  # a database made before the chain: its first writer starts it
        session.execute(sa.insert(table).values(
            id=_CHAIN_ID, rows=len(rows), head=GENESIS, pruned_seq=0, pruned_hash=GENESIS))
        total, head = len(rows), GENESIS
    else:
        total, head = bumped
    seq = total - len(rows)
    for row in rows:
        seq += 1
        row.chain_seq = seq
        row.prev_hash = head
        row.hash = head = row_hash(row)
    session.execute(sa.update(table).where(table.c.id == _CHAIN_ID).values(head=head))


@attrs.frozen
class AuditFilter:
    """What `audit_page` lists: every field optional (``action`` ending in ``*`` is a
    prefix: ``conversation.*``)."""

    user_id: int | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_page(session: Session, f: AuditFilter, before_seq: int | None,
               limit: int) -> tuple[list[AuditLog], int | None]:
    """Up to ``limit`` rows matching ``f``, newest first, written before ``before_seq``; and
    the ``chain_seq`` to continue from (``None``: no more)."""
    query = sa.select(AuditLog)
    if f.user_id is not None:
        query = query.where(AuditLog.actor_user_id == f.user_id)
    if f.action:
        if f.action.endswith("*"):
            escaped = (f.action[:-1].replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_"))
            query = query.where(AuditLog.action.like(escaped + "%", escape="\\"))
        else:
            query = query.where(AuditLog.action == f.action)
    if f.target_type:
        query = query.where(AuditLog.target_type == f.target_type)
    if f.target_id:
        query = query.where(AuditLog.target_id == f.target_id)
    if f.since is not None:
        query = query.where(AuditLog.at >= f.since)
    if f.until is not None:
        query = query.where(AuditLog.at < f.until)
    if before_seq is not None:
        query = query.where(AuditLog.chain_seq < before_seq)
    rows = list(session.scalars(query.order_by(AuditLog.chain_seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].chain_seq if more and rows else None)


@attrs.frozen
class ChainReport:
    """What `verify_audit_chain` found: ``rows`` checked, and the problems (empty: intact)."""

    rows: int
    first_seq: int
    last_seq: int
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def _rows(session: Session, batch: int) -> Iterator[AuditLog]:
    after = -1
    while True:
        page = session.scalars(
            sa.select(AuditLog).where(AuditLog.chain_seq > after)
            .order_by(AuditLog.chain_seq).limit(batch)
        ).all()
        yield from page
        if len(page) < batch:
            return
        after = page[-1].chain_seq
        session.expunge_all()


def verify_audit_chain(session: Session, *, batch: int = 1000,
                       max_problems: int = 50) -> ChainReport:
    """Walk the chain in ``chain_seq`` order and check every link: each row's hash, its
    ``prev_hash`` against the row before, no gap in ``chain_seq``, and the head in
    ``audit_chain`` against the last row (rows removed by retention's pruning excepted)."""
    chain = session.get(AuditChain, _CHAIN_ID)
    pruned_seq = chain.pruned_seq if chain else 0
    expected_prev = chain.pruned_hash if chain else GENESIS
    expected_seq = pruned_seq + 1
    problems: list[str] = []
    count, first, last = 0, 0, 0

    def problem(text: str) -> None:
        if len(problems) < max_problems:
            problems.append(text)

    for row in _rows(session, batch):
        count += 1
        first = first or row.chain_seq
        last = row.chain_seq
        if row.chain_seq != expected_seq:
            problem(f"rows {expected_seq}..{row.chain_seq - 1} are missing (deleted?)"
                    if row.chain_seq > expected_seq else
                    f"row {row.chain_seq} is out of order")
        if row.prev_hash != expected_prev:
            problem(f"row {row.chain_seq} (id {row.id}) does not follow the row before it")
        if row_hash(row) != row.hash:
            problem(f"row {row.chain_seq} (id {row.id}, {row.action}) was changed after it "
                    "was written")
        expected_prev, expected_seq = row.hash, row.chain_seq + 1
    if chain is not None:
        if chain.rows != last and not (count == 0 and chain.rows == pruned_seq):
            problem(f"the chain's head says {chain.rows} rows were written, the table ends "
                    f"at row {last} (the newest rows were deleted?)")
        elif count and chain.head != expected_prev:
            problem("the chain's head hash does not match the last row")
    return ChainReport(count, first, last, tuple(problems))

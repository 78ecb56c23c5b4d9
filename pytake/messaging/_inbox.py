"""The inbox: webhook bodies stored before the 200, then processed from the database.

``STORE_INBOX`` is the group-committed write the webhook awaits before answering 200, so an
acknowledged notification is never lost.  :class:`InboxProcessor` (a supervised service)
takes ``pending`` rows in ``id`` order and processes each in the group committer's
transaction (``PROCESS_INBOX``): customers and conversations are found or created, messages
are inserted idempotently by WhatsApp id (``ON CONFLICT DO NOTHING``: a wamid is stored once
however it is redelivered or batched), statuses advance their message (never backwards), and
each new message is journaled to its ConversationActor in the same transaction.  The row is
marked ``processed`` in that transaction too, so a crash anywhere means the row is simply
processed again, with no duplicate effect.  A body that cannot be parsed is marked ``dead``
and dead-lettered (a retry could never succeed); one bad element is isolated in a savepoint
and never blocks the rest of its batch.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import trio
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..actors import Router
from ..contracts import DeliveryFailed, MessageStatus, conversation_address
from ..errors import ActorStopped, MailboxFull, StorageUnavailable
from ..storable import storable_text
from ..store import (
    Database,
    GroupCommitter,
    Write,
    driver_connection,
    is_postgresql,
    journal_in,
)
from ..whatsapp import (
    InboundMessage,
    InvalidNotification,
    Notification,
    StatusUpdate,
    advance,
    parse_notification,
)
from . import _inbox_bulk as _bulk
from ._media import MediaRequest
from ._outbox import outbox_id_from_callback, reconcile_sending_in
from ._repo import inbox as repo

log = logging.getLogger("pytake.whatsapp")

#: message types that are not chat messages of their own: they change another message
_MODIFIERS = {"reaction", "edit", "revoke"}
_STATUS_COLUMN = {
    "sent": "sent_at",
    "delivered": "delivered_at",
    "read": "read_at",
    "played": "played_at",
    "failed": "failed_at",
}


class _StoreInbox:
    name = "inbox.store"

    def apply_many(self, session: Session, params: Sequence[tuple[bytes, str]]) -> list[int]:
        return repo.store_bodies(session, params)


STORE_INBOX = _StoreInbox()


@attrs.frozen
class Ingested:
    """An `InboxProcessor.ingest` write's result: the stored row, and what processing it in
    the same transaction did (``None``: left ``pending`` for the processor)."""

    inbox_id: int
    outcome: InboxOutcome | None


#: Bodies a webhook transaction processes at most; a bigger batch (a burst) is only stored,
#: so that the acknowledgements of a burst do not wait for its processing, which the
#: processor then does beside the next batches (in order: those wait for it).
INGEST_MAX_BATCH = 8


class _Ingest:
    """Store webhook bodies and process them in the same transaction.

    Only while the processor is ``caught_up`` (nothing older waits for it): otherwise the
    rows are only stored, and processed after the older ones, so that a conversation's
    messages are still processed in order.  The row is stored whatever happens to its
    processing: a failure other than the database's rolls back to a savepoint and leaves the
    rows ``pending`` for `InboxProcessor` (storage unavailable fails the whole transaction,
    so the webhook answers 503 and nothing is half done)."""

    name = "inbox.ingest"

    def __init__(self, process: _ProcessInbox) -> None:
        self.process = process
        #: Set and cleared by `InboxProcessor` in trio; read here, in the writer's thread,
        #: between two of the writer's transactions (the hooks that clear it run in between).
        self.caught_up = False
        #: An attribute (not the module constant) so that it travels with the kind to a
        #: database writer process.
        self.max_batch = INGEST_MAX_BATCH

    def apply_many(self, session: Session, params: Sequence[tuple[bytes, str]]) -> list[Ingested]:
        ids = STORE_INBOX.apply_many(session, params)
        if not self.caught_up or len(params) > self.max_batch:
            return [Ingested(i, None) for i in ids]
        rows = [(inbox_id, body) for inbox_id, (body, _) in zip(ids, params, strict=True)]
        try:
            outcomes: Sequence[InboxOutcome | None] = self.process.apply_many(session, rows)
        except OperationalError:
            raise
        except Exception:
            log.exception("processing inbox rows %s with their storing failed; "
                          "they stay pending", ids)
            outcomes = [None] * len(ids)
        return [Ingested(i, o) for i, o in zip(ids, outcomes, strict=True)]


@attrs.define
class InboxOutcome:
    """What processing one inbox row did (counted into metrics by the processor)."""

    inbox_id: int
    stored: int = 0
    duplicates: int = 0
    unsupported: int = 0
    dead: bool = False
    statuses_applied: int = 0
    statuses_unknown: int = 0
    problems: int = 0
    #: messages or statuses of the body that failed and were dead-lettered on their own
    dead_elements: int = 0
    ignored: str | None = None
    #: journal rows written, to deliver after commit: (journal id, actor id, message)
    deliveries: list[tuple[int, str, Any]] = attrs.Factory(list)
    template_updates: list[Any] = attrs.Factory(list)
    api_errors: list[int] = attrs.Factory(list)
    #: media to download once the transaction has committed
    media: list[MediaRequest] = attrs.Factory(list)
    #: best-effort notices for conversation actors after commit: (actor id, message)
    notices: list[tuple[str, Any]] = attrs.Factory(list)


class _ElementFailed(Exception):
    """An element failed on the fast path: redo the batch with a savepoint per element."""


class _ProcessInbox:
    name = "inbox.process"

    def __init__(self, accepted_numbers: frozenset[str]) -> None:
        # Both sets are replaced whole (never mutated) when numbers change at run time: the
        # batches running on worker threads, or pickled to a writer process, see one or the
        # other, never a half-changed set.
        self.accepted_numbers = accepted_numbers
        #: Numbers known and refused (paused or removed), even when nothing is accepted.
        self.refused_numbers: frozenset[str] = frozenset()
        self._safe = True

    def accepts(self, number: str) -> bool:
        """Are messages to the business number ``number`` processed?  Those of the
        ``accepted_numbers``; when there are none, every number if none is refused either
        (nothing configured), else none (every configured number is paused or removed)."""
        if number in self.refused_numbers:
            return False
        if self.accepted_numbers:
            return number in self.accepted_numbers
        return not self.refused_numbers

    def apply_many(
        self, session: Session, params: Sequence[tuple[int, bytes]]
    ) -> list[InboxOutcome]:
        # Fast path: one savepoint around the whole batch.  Only if an element fails is the
        # batch redone with a savepoint per element, so that the failure stays local (a
        # savepoint per element costs two round trips each, most of the time for nothing).
        try:
            with repo.savepoint(session):
                if is_postgresql(session):
                    return self._many_postgres(session, params)
                return [self._one(session, inbox_id, body, safe=False)
                        for inbox_id, body in params]
        except OperationalError:
            raise
        except _ElementFailed:
            return [self._one(session, inbox_id, body, safe=True) for inbox_id, body in params]

    def _many_postgres(
        self, session: Session, params: Sequence[tuple[int, bytes]]
    ) -> list[InboxOutcome]:
        """The fast path: claim the batch in one statement, and store plain messages of
        consecutive bodies set-based (see ``_inbox_bulk``); the rest message by message."""
        self._safe = False
        connection = driver_connection(session)
        claimed = repo.claim_many(connection, [inbox_id for inbox_id, _ in params])
        outcomes: list[InboxOutcome] = []
        plain: list[tuple[InboxOutcome, InboundMessage]] = []
        for inbox_id, body in params:
            outcome = InboxOutcome(inbox_id)
            outcomes.append(outcome)
            if inbox_id not in claimed:
                outcome.ignored = "already processed"
                continue
            try:
                notification = parse_notification(body)
            except InvalidNotification as exc:
                outcome.dead = True
                _dead_letter(session, inbox_id, body, str(exc))
                continue
            if self._all_plain(notification):
                plain.extend((outcome, m) for m in notification.messages)
                outcome.problems += len(notification.problems)
                continue
            self._flush_plain(session, connection, plain)
            plain = []
            self._apply(session, notification, outcome)
        self._flush_plain(session, connection, plain)
        return outcomes

    def _all_plain(self, n: Notification) -> bool:
        if n.ignored or n.statuses or n.errors or n.template_updates:
            return False
        return all(
            m.type not in _MODIFIERS
            and m.type not in _bulk.NOT_FROM_USER
            and m.customer_id
            and self.accepts(m.phone_number_id)
            for m in n.messages
        )

    def _flush_plain(
        self, session: Session, connection: Any, plain: list[tuple[InboxOutcome, InboundMessage]]
    ) -> None:
        if not plain:
            return
        try:
            stored = _bulk.process(connection, [m for _, m in plain], conversation_address)
        except OperationalError:
            raise
        except Exception as exc:
            # One message the database refused: redo the batch element by element, so that
            # only that one is set aside (the batch's savepoint undoes what this wrote).
            raise _ElementFailed() from exc
        if stored is None:
            for outcome, m in plain:
                self._isolated(session, outcome, self._message, m)
            return
        for (outcome, m), (message_id, _, customer_id, journal_id, received) in zip(
            plain, stored, strict=True
        ):
            if message_id is None or journal_id is None or received is None:
                outcome.duplicates += 1
                continue
            _count_stored(outcome, m)
            outcome.deliveries.append(
                (journal_id, conversation_address(m.phone_number_id, customer_id), received)
            )
            self._media(m, outcome)

    def _one(self, session: Session, inbox_id: int, body: bytes, *, safe: bool) -> InboxOutcome:
        self._safe = safe
        outcome = InboxOutcome(inbox_id)
        # Claim the row first: if another processor (another node, a concurrent call) got
        # to it, this transaction does nothing with it.
        if not repo.claim(session, inbox_id):
            outcome.ignored = "already processed"
            return outcome
        try:
            notification = parse_notification(body)
        except InvalidNotification as exc:
            outcome.dead = True
            _dead_letter(session, inbox_id, body, str(exc))
            return outcome
        self._apply(session, notification, outcome)
        return outcome

    def _apply(self, session: Session, n: Notification, outcome: InboxOutcome) -> None:
        if n.ignored:
            outcome.ignored = n.ignored
            log.info("webhook ignored: %s", n.ignored)
            return
        outcome.problems += len(n.problems)
        for problem in n.problems:
            log.warning("webhook element skipped at %s: %s", problem.where, problem.error)
        for message in n.messages:
            self._isolated(session, outcome, self._message, message)
        for status in n.statuses:
            self._isolated(session, outcome, self._status, status)
        for errors in n.errors:
            for error in errors.errors:
                outcome.api_errors.append(error.code)
                log.error("Cloud API reported error %s: %s %s", error.code, error.title,
                          error.details)
        outcome.template_updates.extend(n.template_updates)

    def _isolated(
        self, session: Session, outcome: InboxOutcome, fn: Callable[..., None], item: Any
    ) -> None:
        if not self._safe:
            try:
                fn(session, item, outcome)
            except OperationalError:
                raise
            except Exception as exc:
                raise _ElementFailed() from exc
            return
        try:
            with repo.savepoint(session):
                fn(session, item, outcome)
        except OperationalError:
            raise  # the database itself: fail the batch, it will be retried
        except Exception as exc:
            # Only this message or status is set aside, with its reason; the others of its
            # body are stored and delivered as usual.
            outcome.problems += 1
            outcome.dead_elements += 1
            raw = getattr(item, "raw", item)
            log.exception("webhook element of inbox row %d failed; dead-lettered: %r",
                          outcome.inbox_id, raw)
            with repo.savepoint(session):
                _dead_letter_element(session, outcome.inbox_id, type(item).__name__, raw,
                                     f"{type(exc).__name__}: {exc}")

    # -- messages ---------------------------------------------------------------------------

    def _message(self, session: Session, m: InboundMessage, outcome: InboxOutcome) -> None:
        if not self.accepts(m.phone_number_id):
            outcome.ignored = f"phone_number_id {m.phone_number_id} is not configured"
            log.warning("message for unconfigured phone_number_id %s ignored", m.phone_number_id)
            return
        if not m.customer_id:
            outcome.problems += 1
            log.warning("message %s has neither a wa_id nor a user id; skipped", m.wamid)
            return
        customer_id = self._customer(session, m)
        if m.type in _MODIFIERS:
            self._modify(session, m)
            return
        conversation_id = self._conversation(session, customer_id, m.phone_number_id)
        message_id = repo.insert_message(
            session, conversation_id, m.wamid, m.type, m.raw, _bulk.epoch_time(m.timestamp)
        )
        if message_id is None:
            outcome.duplicates += 1
            return
        _count_stored(outcome, m)
        received = _bulk.inbound_received(m, message_id, conversation_id, customer_id)
        if received.opens_window:
            repo.open_window(session, conversation_id, _bulk.epoch_time(m.timestamp))
        self._journal(
            session, outcome, conversation_address(m.phone_number_id, customer_id), received
        )
        self._media(m, outcome)

    def _media(self, m: InboundMessage, outcome: InboxOutcome) -> None:
        content: Any = m.content
        if type(content).__name__ == "Media" and content.media_id:
            outcome.media.append(
                MediaRequest(
                    media_id=content.media_id,
                    media_type=content.media_type,
                    phone_number_id=m.phone_number_id,
                    sha256=content.sha256 or None,
                    mime_type=content.mime_type or None,
                )
            )

    def _customer(self, session: Session, m: InboundMessage) -> int:
        wa_id, bsuid, name = _bulk.customer_keys(m)
        row = repo.find_customer(session, m.phone_number_id, wa_id, bsuid)
        if row is None:
            return repo.insert_customer(session, m.phone_number_id, wa_id, bsuid, name)
        updates: dict[str, Any] = {}
        if wa_id and not row.wa_id:
            updates["wa_id"] = wa_id
        if bsuid and not row.bsuid:
            updates["bsuid"] = bsuid
        if name and name != row.name:
            updates["name"] = name
        content = m.content
        if type(content).__name__ == "System":
            new_wa_id = getattr(content, "new_wa_id", "") or None
            new_user_id = getattr(content, "new_user_id", "") or None
            if new_wa_id:  # user_changed_number: re-key, keep the history
                updates["wa_id"] = new_wa_id
                updates["phone"] = new_wa_id
            if new_user_id:
                updates["bsuid"] = new_user_id
        if updates:
            repo.update_customer(session, row.id, updates)
        return int(row.id)

    def _conversation(self, session: Session, customer_id: int, phone_number_id: str) -> int:
        found = repo.open_conversation(session, customer_id)
        if found is not None:
            return found
        return repo.insert_conversation(session, customer_id, phone_number_id)

    def _modify(self, session: Session, m: InboundMessage) -> None:
        """Reactions, edits and revokes change the message they point at; no new message."""
        content: Any = m.content
        target = getattr(content, "message_id", None) or getattr(
            content, "original_message_id", None
        )
        if not target:
            return
        row = repo.message_payload(session, target)
        if row is None:
            log.info("%s for unknown message %s ignored", m.type, target)
            return
        payload = dict(row.payload or {})
        if m.type == "reaction":
            emoji = getattr(content, "emoji", None)
            if emoji:
                payload["reaction"] = {"emoji": emoji, "wamid": m.wamid, "at": m.timestamp}
            else:
                payload.pop("reaction", None)
        elif m.type == "edit":
            payload.setdefault("edits", []).append({"wamid": m.wamid, "at": m.timestamp,
                                                    "message": m.raw.get("edit", {})})
        elif m.type == "revoke":
            payload = {"revoked": True, "revoked_at": m.timestamp, "wamid": m.wamid}
        repo.set_payload(session, row.id, payload)

    # -- statuses ---------------------------------------------------------------------------

    def _status(self, session: Session, s: StatusUpdate, outcome: InboxOutcome) -> None:
        row = repo.message_state(session, s.wamid)
        if row is None:
            # Sent by us but the answer with its wamid never arrived (a dropped connection,
            # a restart mid-send): the outbox id travels in biz_opaque_callback_data.
            outbox_id = outbox_id_from_callback(s.biz_opaque_callback_data)
            if outbox_id is not None and reconcile_sending_in(session, outbox_id, s.wamid):
                row = repo.message_state(session, s.wamid)
        if row is None:
            outcome.statuses_unknown += 1
            log.info("status %s for unknown message %s ignored", s.status, s.wamid)
            return
        new_state = advance(row.status, s.status)
        values: dict[str, Any] = {}
        if new_state != row.status:
            values["status"] = new_state
        column = _STATUS_COLUMN.get(s.status)
        if column:
            values[column] = _bulk.epoch_time(s.timestamp)
        if s.status == "failed" and s.errors:
            error = s.errors[0]
            values["error_code"] = error.code
            values["error_details"] = {
                "code": error.code, "title": error.title, "message": error.message,
                "details": error.details,
            }
            conversation = repo.conversation_owner(session, row.conversation_id)
            if conversation is not None:
                self._journal(
                    session,
                    outcome,
                    conversation_address(conversation.business_phone_number_id,
                                         conversation.customer_id),
                    DeliveryFailed(message_id=row.id, code=error.code, details=error.details),
                )
        if values:
            repo.update_message(session, row.id, values)
        if new_state != row.status:
            owner = repo.conversation_owner(session, row.conversation_id)
            if owner is not None:
                outcome.notices.append((
                    conversation_address(owner.business_phone_number_id, owner.customer_id),
                    MessageStatus(message_id=row.id, wamid=s.wamid, status=new_state),
                ))
        outcome.statuses_applied += 1

    def _journal(self, session: Session, outcome: InboxOutcome, actor_id: str, msg: Any) -> None:
        journal_id = journal_in(session, "conversation", actor_id, msg)
        outcome.deliveries.append((journal_id, actor_id, msg))


def _printable(data: bytes | str, limit: int = 2000) -> str:
    text = data[:limit].decode("utf-8", "replace") if isinstance(data, bytes) else data[:limit]
    return storable_text(text.replace("\x00", "\\x00"))  # visible, and storable


def _dead_letter_element(
    session: Session, inbox_id: int, kind: str, raw: Any, error: str
) -> None:
    try:
        shown = json.dumps(raw, ensure_ascii=False, default=repr)
    except ValueError:  # a circular structure: cannot happen for parsed JSON, but be safe
        shown = repr(raw)
    repo.dead_letter(session, "whatsapp-element", inbox_id, kind, _printable(shown, 20_000),
                     _printable(error))


def _dead_letter(session: Session, inbox_id: int, body: bytes, error: str) -> None:
    repo.mark_dead(session, inbox_id, _printable(error))
    repo.dead_letter(session, "whatsapp-inbox", inbox_id, "webhook body", _printable(body),
                     _printable(error))


def _count_stored(outcome: InboxOutcome, m: InboundMessage) -> None:
    if type(m.content).__name__ == "Unsupported":
        outcome.unsupported += 1
    else:
        outcome.stored += 1


#: Rows handed over in memory at most; beyond it the processor reads them back from the table.
FRESH_LIMIT = 5_000
#: Bytes of bodies handed over in memory at most (bodies may be up to a few MB each).
FRESH_BYTES_LIMIT = 64 * 1024 * 1024
#: Seconds between reads of the table for rows nobody handed over (other nodes, a restart).
SCAN_INTERVAL = 1.0
#: Rows the backlog counts at most (its memory while processing is stopped); above any
#: `InboxProcessor.backlog_limit` the settings allow.
WAITING_LIMIT = 100_000


class InboxProcessor:
    """Processes stored webhook bodies in order; :meth:`wake` after storing one.

    Rows stored through a committer it `watch`es are handed over in memory as they commit
    (no read of the table per batch); the table is read at start, every `SCAN_INTERVAL`
    seconds, and after a failure, for everything else.  A row processed twice (handed over
    and read back) is claimed once: the second time does nothing.

    With a ``backlog_limit``, `wait_for_room` lets the webhook hold its answer while more
    than that many rows handed over wait for processing, so that a node taking in more than
    it can process slows its intake (WhatsApp delivers concurrently, and waits for answers)
    instead of falling ever further behind."""

    def __init__(
        self,
        db: Database,
        committer: GroupCommitter,
        router: Router,
        *,
        accepted_numbers: Sequence[str] = (),
        batch: int = 100,
        on_outcome: Callable[[InboxOutcome], None] | None = None,
        backlog_limit: int = 0,
    ) -> None:
        self.db = db
        self.committer = committer
        self.router = router
        self.batch = batch
        self.kind = _ProcessInbox(frozenset(accepted_numbers))
        #: The write that stores a webhook body and processes it at once (see `watch`).
        self.ingest = _Ingest(self.kind)
        self._wake = trio.Event()
        self._on_outcome = on_outcome
        self.processed = 0
        self._fresh: deque[tuple[int, bytes]] = deque()
        self._fresh_bytes = 0
        self._scan = True
        self._last_scan = -math.inf
        self.scans = 0  # reads of the table for pending rows
        self.backlog_limit = backlog_limit
        # Rows handed over and not processed yet (also those dropped from `_fresh`, until the
        # scan that reads them back processes them): what `wait_for_room` counts.
        self._waiting: set[int] = set()
        self._room = trio.lowlevel.ParkingLot()
        self.ingested = 0  # rows processed in the transaction that stored them
        committer.on_commit(self.kind.name, self._deliver)

    def wake(self) -> None:
        self._wake.set()

    def accept_numbers(self, accepted: Iterable[str], refused: Iterable[str] = ()) -> None:
        """From now on, process messages to ``accepted`` numbers only, never to ``refused``
        ones (see `_ProcessInbox.accepts`); others are acknowledged and ignored."""
        self.kind.accepted_numbers = frozenset(accepted)
        self.kind.refused_numbers = frozenset(refused)

    def watch(self, committer: GroupCommitter) -> None:
        """Take rows `STORE_INBOX` commits through ``committer`` straight from the commit,
        and the outcomes of `ingest` writes (rows it left pending as if stored)."""
        committer.on_commit(STORE_INBOX.name, self._stored)
        committer.on_commit(self.ingest.name, self._ingested)

    def _ingested(self, writes: Sequence[Write[Any, Any]]) -> None:
        left: list[Write[Any, Any]] = []
        for write in writes:
            ingested: Ingested = write.result
            if ingested.outcome is None:
                left.append(write)
                continue
            self._deliver_outcome(ingested.outcome)
            self._processed(ingested.outcome)
            self.ingested += 1
        if left:
            self._hand_over([(w.result.inbox_id, w.params[0]) for w in left])

    def _stored(self, writes: Sequence[Write[Any, Any]]) -> None:
        self._hand_over([(int(w.result), w.params[0]) for w in writes])

    @property
    def backlog(self) -> int:
        """Rows stored through this node and not processed yet."""
        return len(self._waiting)

    async def wait_for_room(self, max_wait: float) -> bool:
        """Wait, ``max_wait`` seconds at most, while the `backlog` is over ``backlog_limit``;
        return whether it waited."""
        if (not self.backlog_limit or max_wait <= 0
                or len(self._waiting) <= self.backlog_limit):
            return False
        with trio.move_on_after(max_wait):
            while len(self._waiting) > self.backlog_limit:
                await self._room.park()
        return True

    def _hand_over(self, rows: list[tuple[int, bytes]]) -> None:
        self.ingest.caught_up = False
        room = WAITING_LIMIT - len(self._waiting)
        self._waiting.update(inbox_id for inbox_id, _ in rows[:max(room, 0)])
        size = sum(len(body) for _, body in rows)
        if (len(self._fresh) + len(rows) > FRESH_LIMIT
                or self._fresh_bytes + size > FRESH_BYTES_LIMIT):
            self._fresh.clear()
            self._fresh_bytes = 0
            self._scan = True
        else:
            self._fresh.extend(rows)
            self._fresh_bytes += size
        self._wake.set()

    async def _next_rows(self) -> list[tuple[int, bytes]]:
        if trio.current_time() - self._last_scan >= SCAN_INTERVAL:
            self._scan = True
        if self._scan:
            # Everything handed over so far is committed, so the read finds it too.
            self._fresh.clear()
            self._fresh_bytes = 0
            self._last_scan = trio.current_time()
            self.scans += 1
            known = set(self._waiting)  # committed, so the read sees those still pending
            # Rows dropped from a full `_fresh` during the read may be newer than it saw:
            # `_hand_over` sets this again then.
            self._scan = False
            try:
                rows = await self.db.read(repo.pending, self.batch)
            except BaseException:
                self._scan = True
                raise
            self._forget_done(known, rows)
            if len(rows) >= self.batch:
                self._scan = True
            if rows:
                self.ingest.caught_up = False
            return rows
        rows = [self._fresh.popleft() for _ in range(min(self.batch, len(self._fresh)))]
        self._fresh_bytes -= sum(len(body) for _, body in rows)
        return rows

    def _forget_done(self, known: set[int], pending: list[tuple[int, bytes]]) -> None:
        """Drop from the backlog the ``known`` rows a read of the table (``pending``: the
        oldest pending rows) shows are not pending any more: another node processed them, or
        a failure lost their outcomes.  Those older than the first pending row, or all but
        the pending ones when the read saw every pending row."""
        if len(pending) < self.batch:
            done = known - {inbox_id for inbox_id, _ in pending}
        else:
            first = pending[0][0]
            done = {inbox_id for inbox_id in known if inbox_id < first}
        self._waiting -= done
        self._release_held()

    def _release_held(self) -> None:
        if self._room and len(self._waiting) <= self.backlog_limit:
            self._room.unpark_all()

    def _deliver(self, writes: Sequence[Write[Any, Any]]) -> None:
        # In commit order (see GroupCommitter): journal ids reach each mailbox increasing.
        for write in writes:
            self._deliver_outcome(write.result)

    def _deliver_outcome(self, outcome: InboxOutcome) -> None:
        for journal_id, actor_id, message in outcome.deliveries:
            self.router.deliver_journaled("conversation", actor_id, journal_id, message)
        for actor_id, notice in outcome.notices:
            try:
                self.router.tell_nowait("conversation", actor_id, notice)
            except (MailboxFull, ActorStopped):
                # The database holds the status; the live notice is only a courtesy.
                log.debug("status notice for %s dropped (busy)", actor_id)

    def _processed(self, outcome: InboxOutcome) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        self.processed += 1
        self._waiting.discard(outcome.inbox_id)
        self._release_held()

    async def process_pending(self) -> int:
        """Process every pending row now; return how many."""
        total = 0
        while True:
            rows = await self._next_rows()
            if not rows:
                # Nothing older is waiting: webhooks may process what they store.
                self.ingest.caught_up = not self._scan and not self._fresh
                return total
            try:
                outcomes = await self.committer.submit_many(self.kind, rows)
            except StorageUnavailable:
                raise
            except Exception:
                outcomes = await self._one_by_one(rows)
            for outcome in outcomes:
                self._processed(outcome)
            total += len(rows)

    async def _one_by_one(self, rows: list[tuple[int, bytes]]) -> list[InboxOutcome]:
        """A row that cannot be processed (a bug, data the database refuses) must not block
        the inbox: it is set aside as dead, with its error, for operators."""
        outcomes = []
        for inbox_id, body in rows:
            try:
                outcomes.append(await self.committer.submit(self.kind, (inbox_id, body)))
            except StorageUnavailable:
                raise
            except Exception as exc:
                log.exception("inbox row %d could not be processed; dead-lettered", inbox_id)
                await self.db.run(_dead_letter, inbox_id, body, f"{type(exc).__name__}: {exc}")
                outcomes.append(InboxOutcome(inbox_id, dead=True))
        return outcomes

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # (Re)started, perhaps by the supervisor after a crash that lost rows taken from
        # memory: read the table first, so nothing is skipped and order is kept.
        self._scan = True
        task_status.started()
        try:
            delay = 0.1
            while True:
                self._wake = trio.Event()
                try:
                    await self.process_pending()
                    delay = 0.1
                except StorageUnavailable as exc:
                    log.warning("inbox processing paused: %s", exc)
                    self._scan = True
                    self.ingest.caught_up = False
                    await trio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                with trio.move_on_after(SCAN_INTERVAL):  # also poll: rows of another node
                    await self._wake.wait()
        finally:
            # Stopped: a webhook must not process rows past what this processor left.
            self.ingest.caught_up = False

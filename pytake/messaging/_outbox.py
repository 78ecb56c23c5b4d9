"""The transactional outbox: outbound messages are committed first, then sent.

Writing. `ENQUEUE` is a `pytake.store.GroupCommitter` write kind: in one transaction it
inserts the ``messages`` row (direction ``out``, status ``pending``) and the ``outbox`` row
holding the request body, and returns both ids (`Enqueued`). `OutboxSender.enqueue` wraps it
with the checks that must happen before anything is stored: the 24-hour window
(`pytake.whatsapp._window`) and, for templates, approval (`TemplateCatalogue`).

Sending. `OutboxSender.run` is a service. It claims due ``pending`` rows (``sending``,
``attempts + 1``, in a transaction; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several
nodes share the work), paces them through the number's `SendGovernor`, sends them with the
`CloudApiClient`, and stores the result:

- accepted → ``sent`` with the ``wamid`` on the outbox row *and* the message row;
- a final rejection → ``failed`` with ``last_error``; the message row gets ``failed``,
  ``error_code`` and ``error_details`` (``{"outcome": "needs_template" | "unreachable" |
  "wait_24h" | "opted_out" | "token_expired" | "failed", "message", "details",
  "fbtrace_id"}``) so agents see *why* (docs/whatsapp.md, "Cloud API facts PyTake relies
  on");
- a retryable error → back to ``pending`` with a later ``next_attempt_at``.

The happy path costs no claim transaction: while the sender runs, `OutboxSender.enqueue`
asks for the row to be claimed as it is stored (``sending``, attempt 1, unless something older
to the same recipient is still waiting), and an after-commit hook hands it straight to the
sender. Rows stored ``pending`` wake the sender at once, so nothing waits for a poll; it also
polls every ``poll_interval`` seconds (rows of other nodes) and sleeps precisely until the
next due retry. A finished batch of sends is stored in two statements on PostgreSQL.

Per recipient, messages go out in order: a row is claimed only when no older row to
the same recipient is still ``pending`` or ``sending`` (a message being retried holds back the
ones after it, so a multi-part answer never arrives shuffled).

Never twice (at most once after a crash). Every body carries ``biz_opaque_callback_data`` =
``outbox:<id>``, which Meta echoes in status webhooks. A row found in ``sending`` by a sender
that does not own it, for longer than ``stale_after`` seconds (the process died between
claiming it and storing the answer), is **not** sent again: Meta may already have the
message, and a duplicate reply is worse for a customer than a missing one that an agent can
see. It is marked ``failed`` with ``last_error`` "outcome unknown after restart" (outcome
``unknown``), unless a status webhook reconciles it first or later: the status handler calls
`reconcile_sending` with the ``outbox:<id>`` it received and the ``wamid``, which turns such a
row into ``sent``. ``stale_after`` (default 120 s, longer than any send can take) is what
makes this safe with several nodes, and gives the ``sent`` webhook time to reconcile first.

One clock. Every time the sender stores or compares (``next_attempt_at``, the claim's "due
by", ``updated_at`` and the stale cutoff) comes from its ``clock``, by default `trio_utcnow`:
wall time read off trio's clock. The governor's pauses are trio times too, so a retry
``retry_at - trio.current_time()`` seconds away is due exactly when the claim loop, sleeping
on trio's clock, looks again, and under `trio.testing.MockClock` a jump of the clock makes
it due (no time is ever read from the database's ``now()``).

A dropped connection or timeout is ambiguous too (the message may have been accepted), but
it is retried: the backoff leaves time for the status webhook to reconcile the row, and a
reconciled row is never claimed again. Rows are finished only ``WHERE state = 'sending'``, so
a late answer never overwrites a reconciliation.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs
import trio
from sqlalchemy.orm import Session

from pytake.errors import CloudApiError, InvalidMessage
from pytake.messaging._client import CloudApiClient, SendResult
from pytake.messaging._governor import Decision, Outcome, SendGovernor
from pytake.messaging._repo import outbox as repo
from pytake.messaging._templates import TemplateCatalogue
from pytake.store import Database, GroupCommitter, is_postgresql, utcnow
from pytake.whatsapp import check_window

__all__ = [
    "CALLBACK_PREFIX",
    "ENQUEUE",
    "UNKNOWN_AFTER_RESTART",
    "Enqueued",
    "OutboundRequest",
    "OutboxRow",
    "OutboxSender",
    "SendReport",
    "callback_data",
    "outbox_id_from_callback",
    "reconcile_sending",
    "reconcile_sending_in",
    "trio_utcnow",
]

log = logging.getLogger("pytake.whatsapp")

CALLBACK_PREFIX: Final = "outbox:"
UNKNOWN_AFTER_RESTART: Final = "outcome unknown after restart"


# Wall time minus trio time, fixed at the first reading in each trio run: trio's clock is
# monotonic (and a MockClock only moves when told), so times read through it keep the order
# and the distances trio's timers see.
_WALL_OFFSET: Final[trio.lowlevel.RunVar[float]] = trio.lowlevel.RunVar("pytake.outbox.wall")


def trio_utcnow() -> datetime:
    """The current time as an aware UTC datetime, read off trio's clock (call it from trio).

    It starts at the wall time of its first call in the run and then moves with
    `trio.current_time`: with trio's own clock that is wall time (a later step of the
    system clock is not followed), with `trio.testing.MockClock` it is the mock time."""
    try:
        offset = _WALL_OFFSET.get()
    except LookupError:
        offset = time.time() - trio.current_time()
        _WALL_OFFSET.set(offset)
    return datetime.fromtimestamp(trio.current_time() + offset, UTC)


def callback_data(outbox_id: int) -> str:
    """The ``biz_opaque_callback_data`` put in the body of outbox row ``outbox_id``."""
    return f"{CALLBACK_PREFIX}{outbox_id}"


def outbox_id_from_callback(value: str | None) -> int | None:
    """The outbox id in a status webhook's ``biz_opaque_callback_data``, or ``None``."""
    if not value or not value.startswith(CALLBACK_PREFIX):
        return None
    rest = value[len(CALLBACK_PREFIX):]
    return int(rest) if rest.isdigit() else None


def _is_read_receipt(body: dict[str, Any]) -> bool:
    return body.get("status") == "read" and "type" not in body


# --- enqueueing --------------------------------------------------------------------------------


@attrs.frozen
class OutboundRequest:
    """One request to store in the outbox.

    ``conversation_id`` is the conversation the message belongs to (``None`` for requests
    that are not messages: read receipts / typing indicators). ``recipient`` defaults to the
    body's ``to`` (give it for read receipts: the customer's id, which orders them)."""

    phone_number_id: str
    body: dict[str, Any]
    conversation_id: int | None = None
    recipient: str | None = None
    sent_by_user_id: int | None = None
    #: Claim the row in the enqueue transaction (state ``sending``) when nothing to the
    #: same recipient is waiting, so that the running sender takes it straight from the
    #: commit instead of in a claim transaction of its own.
    claim: bool = False
    #: What caused the message: a request whose key is stored already is not stored again
    #: (its `Enqueued` is the stored row's), so replaying the cause sends nothing twice.
    key: str | None = None
    #: When it is stored (its ``next_attempt_at``): the sender's clock, read in trio, since
    #: the write runs on a worker thread; ``None``: the wall clock there.
    at: datetime | None = None

    @property
    def to(self) -> str:
        return self.recipient or str(self.body.get("to") or "")

    @property
    def message_type(self) -> str:
        return "read" if _is_read_receipt(self.body) else str(self.body.get("type") or "")

    @property
    def is_message(self) -> bool:
        """Whether it stores a ``messages`` row: a read receipt (or typing indicator) is no
        message of the conversation, even when its caller names the conversation."""
        return self.conversation_id is not None and not _is_read_receipt(self.body)


@attrs.frozen
class Enqueued:
    outbox_id: int
    message_id: int | None
    #: The row as claimed in the enqueue transaction (see `OutboundRequest.claim`).
    claimed: OutboxRow | None = None
    #: Its key was stored already: this is the earlier request's row, nothing new was stored.
    repeated: bool = False


class _Enqueue:
    name = "whatsapp.outbox.enqueue"

    def apply_many(self, session: Session, params: Sequence[OutboundRequest]) -> list[Enqueued]:
        keys = sorted({r.key for r in params if r.key is not None})
        stored = {key: Enqueued(oid, mid, repeated=True)
                  for key, oid, mid in repo.stored_keys(session, keys)} if keys else {}
        fresh: list[int] = []  # the requests to store: no key, or its first use
        seen = set(stored)
        for i, r in enumerate(params):
            if r.key is None:
                fresh.append(i)
            elif r.key not in seen:
                fresh.append(i)
                seen.add(r.key)
        made = dict(zip(fresh, _insert(session, [params[i] for i in fresh]), strict=True))
        for i, enqueued in made.items():
            key = params[i].key
            if key is not None:
                stored[key] = attrs.evolve(enqueued, claimed=None, repeated=True)
        return [made.get(i) or stored[str(r.key)] for i, r in enumerate(params)]


def _insert(session: Session, params: Sequence[OutboundRequest]) -> list[Enqueued]:
    """Store each request's message row (if it has a conversation) and outbox row, claimed
    where `_claims` allows."""
    if not params:
        return []
    with_message = [r for r in params if r.is_message]
    ids = iter(repo.insert_messages(session, with_message))
    message_ids = [next(ids) if r.is_message else None for r in params]
    wanted = sorted({r.to for r in params if r.claim})
    claims = _claims(params, repo.busy_recipients(session, wanted) if wanted else set())
    wall = utcnow()
    outbox_ids = repo.insert_outbox(session, params, message_ids, claims, wall)
    return [
        Enqueued(
            oid,
            mid,
            OutboxRow(oid, mid, r.phone_number_id, r.to, r.body, 1) if claim else None,
        )
        for oid, mid, r, claim in zip(outbox_ids, message_ids, params, claims, strict=True)
    ]


def _claims(params: Sequence[OutboundRequest], busy: set[tuple[str, str]]) -> list[bool]:
    """Which requests may be claimed as they are stored: those asking for it whose recipient
    has nothing older still waiting or being sent (``busy``, or earlier in the batch), so
    that a recipient's messages still go out in order."""
    claims = []
    for r in params:
        key = (r.phone_number_id, r.to)
        claims.append(r.claim and key not in busy)
        busy.add(key)
    return claims


#: The group-commit write kind that stores a message and its outbox row together.
ENQUEUE: Final = _Enqueue()


# --- claiming and finishing (run on worker threads) -------------------------------------------


@attrs.frozen
class OutboxRow:
    """A claimed outbox row, as the sender and ``on_outcome`` see it."""

    id: int
    message_id: int | None
    phone_number_id: str
    recipient: str
    payload: dict[str, Any]
    attempts: int


@attrs.frozen
class SendReport:
    """What became of an outbox row, for ``on_outcome``: a final outcome (``sent``,
    ``needs_template``, ``unreachable``, ``wait_24h``, ``opted_out``, ``token_expired``,
    ``failed``, ``unknown``), the ``wamid`` when sent, else the error."""

    outcome: Outcome
    wamid: str | None = None
    error_code: int | None = None
    reason: str = ""


def _claim(
    session: Session, now: datetime, limit: int, exclude_numbers: Sequence[str]
) -> tuple[list[OutboxRow], datetime | None, int]:
    """Claim up to ``limit`` due rows; also return when the next future retry is due and
    how many due rows are still ``pending`` (of numbers not paused)."""
    rows: list[OutboxRow] = []
    if limit > 0:
        rows = [OutboxRow(*r) for r in repo.claim_due(session, now, limit, exclude_numbers)]
    # Only future retries: a due row that is held back (an older row to its recipient is
    # waiting, or its number is paused) becomes claimable through those, not by polling.
    # And how many are due now (held back behind an older row, or just stored elsewhere):
    # only those make a finished send look again; future ones have their time, paused
    # numbers their un-pausing.
    next_due, waiting = repo.pending_summary(session, now, exclude_numbers)
    return rows, next_due, waiting


def _recover(session: Session, cutoff: datetime, own: Sequence[int], now: datetime) -> list[int]:
    """Rows a dead sender was sending are not sent again: their outcome is unknown until a
    status webhook reconciles them."""
    return repo.fail_stale(
        session, cutoff, own, now, error=UNKNOWN_AFTER_RESTART,
        details={"outcome": Outcome.UNKNOWN.value, "message": UNKNOWN_AFTER_RESTART},
    )


def reconcile_sending_in(session: Session, outbox_id: int, wamid: str) -> bool:
    """`reconcile_sending` inside the caller's transaction (for a webhook handler)."""
    return repo.mark_reconciled(session, outbox_id, wamid, utcnow(),
                                unknown=UNKNOWN_AFTER_RESTART)


async def reconcile_sending(db: Database, outbox_id: int, wamid: str) -> bool:
    """A status webhook proved that outbox row ``outbox_id`` reached Meta as ``wamid``
    (its ``biz_opaque_callback_data`` was ``outbox:<id>``, see `outbox_id_from_callback`).

    A row still ``sending``, waiting for a retry after an ambiguous failure, or marked
    "outcome unknown after restart" becomes ``sent`` with that wamid (and so is never sent
    again). Returns whether a row changed; rows already finished are left alone."""
    return await db.run(reconcile_sending_in, outbox_id, wamid)


# --- the sender --------------------------------------------------------------------------------

OnOutcome = Callable[[OutboxRow, SendReport], Awaitable[None] | None]
_UNCHECKED: Final[Any] = object()


class OutboxSender:
    """Sends what the outbox holds; run `run` as a service (see the module docstring).

    - ``governor``: a `SendGovernor` factory, called once per business number
      (default: ``SendGovernor(number)`` with its defaults).
    - ``concurrency``: sends in flight at most.
    - ``poll_interval``: seconds between polls when nothing wakes the sender.
    - ``stale_after``: seconds after which a ``sending`` row not owned by this sender is
      taken for the leftover of a dead process and marked unknown.
    - ``max_pacing_wait``: a claimed row waits at most this long for its pacing; if it would
      wait longer it goes back to ``pending`` until then (so claimed rows stay short-lived).
    - ``on_outcome(row, report)``: called (awaited if it returns an awaitable) after each
      final outcome is stored; exceptions are logged.
    - ``templates``: refuse unapproved templates at `enqueue` when given.
    - ``clock``: the time it stores and compares (default `trio_utcnow`, which follows
      trio's clock, so the sender's retries and sweeps run under `trio.testing.MockClock`).
    """

    def __init__(
        self,
        db: Database,
        client: CloudApiClient,
        *,
        committer: GroupCommitter | None = None,
        governor: Callable[[str], SendGovernor] | None = None,
        on_outcome: OnOutcome | None = None,
        templates: TemplateCatalogue | None = None,
        concurrency: int = 32,
        poll_interval: float = 1.0,
        stale_after: float = 120.0,
        max_pacing_wait: float = 1.0,
        clock: Callable[[], datetime] = trio_utcnow,
    ) -> None:
        self.db = db
        self.client = client
        self.committer = committer
        self.on_outcome = on_outcome
        self.templates = templates
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.max_pacing_wait = max_pacing_wait
        self.clock = clock
        self._governor_factory = governor or (lambda number: SendGovernor(number))
        self.governors: dict[str, SendGovernor] = {}
        self._wake = trio.Event()
        self._in_flight: set[int] = set()
        self._last_sweep = -math.inf
        self._nursery: trio.Nursery | None = None
        # Rows claimed at enqueue, waiting for a free slot (``concurrency`` sends at most).
        self._ready: deque[OutboxRow] = deque()
        # Claimed rows this sender will not send (its commit came while no sender ran, or the
        # sender stopped before the request went out): put back to pending when it stops,
        # or at its next start.
        self._unadopted: list[int] = []
        # Rows whose request to the Cloud API has started (from then on, never put back).
        self._requested: set[int] = set()
        # Whether rows may be waiting in the table (not claimed at enqueue, put back for a
        # retry, or left by another node): only then does a finished send look for more.
        self._maybe_pending = True
        # Counters for metrics.
        self.sent = 0
        self.failed = 0
        self.retried = 0
        self.recovered = 0
        self.claims = 0  # claim transactions attempted (rows claimed at enqueue need none)
        if committer is not None:
            committer.on_commit(ENQUEUE.name, self._enqueued)

    def governor(self, phone_number_id: str) -> SendGovernor:
        gov = self.governors.get(phone_number_id)
        if gov is None:
            gov = self.governors[phone_number_id] = self._governor_factory(phone_number_id)
        return gov

    def wake(self) -> None:
        """Look for due rows now."""
        self._wake.set()

    def _enqueued(self, writes: Sequence[Any]) -> None:
        # After an enqueue commit: rows claimed in it are sent as slots free; others need a
        # claim.
        running = self._nursery is not None and not self._nursery.cancel_scope.cancel_called
        for write in writes:
            enqueued: Enqueued = write.result
            row = enqueued.claimed
            if row is not None and running:
                self._ready.append(row)
            else:
                if row is not None:
                    self._unadopted.append(row.id)
                self._maybe_pending = True
                self.wake()
        self._start_ready()

    def _start_ready(self) -> None:
        nursery = self._nursery
        while self._ready and nursery is not None and len(self._in_flight) < self.concurrency:
            row = self._ready.popleft()
            self._in_flight.add(row.id)
            nursery.start_soon(self._send_one, row)

    def _may_claim(self, phone_number_id: str) -> bool:
        if self._nursery is None or len(self._in_flight) + len(self._ready) >= self.concurrency:
            return False
        gov = self.governors.get(phone_number_id)
        return gov is None or not gov.paused_until(trio.current_time())

    async def token_changed(self, token: str) -> None:
        """Use a new access token: lift the token pauses and make the rows they held back
        due now."""
        self.client.token = token
        await self.tokens_changed(list(self.governors))

    async def tokens_changed(self, numbers: Iterable[str]) -> None:
        """The access tokens of ``numbers`` changed (the client's ``tokens`` names them): lift
        their token pauses and make the rows those held back due now."""
        expired = [n for n in numbers if (gov := self.governors.get(n)) and gov.token_expired]
        for number in expired:
            self.governors[number].token_changed()
        if expired:
            await self.db.run(repo.due_now, expired, self.clock())
        self.wake()

    async def enqueue(
        self,
        phone_number_id: str,
        body: dict[str, Any],
        *,
        conversation_id: int | None = None,
        recipient: str | None = None,
        sent_by_user_id: int | None = None,
        last_customer_ts: float | None = _UNCHECKED,
        now: float | None = None,
        key: str | None = None,
    ) -> Enqueued:
        """Store ``body`` (from the builders) for sending; return the new ids once committed.

        With ``last_customer_ts`` (epoch seconds of the customer's last message, ``None`` if
        never), a free-form body outside the 24-hour window raises `WindowClosed`; a template
        the catalogue does not list as approved raises `InvalidMessage`.  With ``key`` (what
        caused the message), a key stored already returns that row and stores nothing."""
        if self.committer is None:
            raise RuntimeError("OutboxSender.enqueue needs a committer")
        request = OutboundRequest(phone_number_id, body, conversation_id, recipient,
                                  sent_by_user_id, claim=self._may_claim(phone_number_id),
                                  key=key, at=self.clock())
        if not request.to or not request.message_type:
            raise InvalidMessage(["body: needs to and type (use the builders)"])
        if last_customer_ts is not _UNCHECKED:
            check_window(request.to, last_customer_ts,
                         utcnow().timestamp() if now is None else now, request.message_type)
        if self.templates is not None and request.message_type == "template":
            template = body.get("template") or {}
            self.templates.require_approved(
                str(template.get("name")), str((template.get("language") or {}).get("code"))
            )
        result: Enqueued = await self.committer.submit(ENQUEUE, request)
        return result

    async def recover(self, cutoff: float | None = None) -> list[int]:
        """Mark stale ``sending`` rows (older than ``cutoff`` seconds, default
        ``stale_after``) as failed with outcome unknown; return their ids."""
        age = self.stale_after if cutoff is None else cutoff
        now = self.clock()
        own = self._in_flight | {row.id for row in self._ready} | set(self._unadopted)
        ids = await self.db.run(_recover, now - timedelta(seconds=age), sorted(own), now)
        if ids:
            self.recovered += len(ids)
            log.warning(
                "outbox rows %s were being sent when a sender stopped; not resending them "
                "(outcome unknown until a status webhook reconciles them)", ids,
            )
        return ids

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # Before the sweep, which would take them for rows a dead sender was sending.
        await self._put_back()
        await self.recover()
        self._last_sweep = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    task_status.started()
                    await self._claim_loop(nursery)
                finally:
                    self._nursery = None
        finally:
            self._unadopted.extend(row.id for row in self._ready)
            self._ready.clear()
            with trio.move_on_after(2.0, shield=True):
                await self._put_back()

    async def _put_back(self) -> None:
        """Rows claimed but never requested go back to ``pending`` (not an attempt)."""
        while self._unadopted:
            now = self.clock()
            try:
                await self.db.run(repo.finish_retry, self._unadopted[0], "", now, now, True)
            except Exception as exc:  # kept for the next start (or the status webhook)
                log.warning("outbox rows %s not put back to pending yet: %s",
                            self._unadopted, exc)
                return
            self._unadopted.pop(0)

    async def _claim_loop(self, nursery: trio.Nursery) -> None:
        while True:
            self._wake = trio.Event()
            now_t = trio.current_time()
            if now_t - self._last_sweep >= max(self.stale_after / 2, self.poll_interval):
                self._last_sweep = now_t
                try:
                    await self.recover()
                except Exception:
                    log.exception("sweeping stale outbox rows failed")
            paused = [n for n, g in self.governors.items() if g.paused_until(now_t)]
            free = self.concurrency - len(self._in_flight)
            try:
                self.claims += 1
                rows, next_due, waiting = await self.db.run(
                    _claim, self.clock(), free, paused
                )
                self._maybe_pending = waiting > 0
            except Exception:
                log.exception("claiming outbox rows failed; will retry")
                rows, next_due = [], None
                self._maybe_pending = True
            for row in rows:
                self._in_flight.add(row.id)
                nursery.start_soon(self._send_one, row)
            # A send finishing wakes this loop while rows are waiting (`_maybe_pending`).
            delay = self.poll_interval
            if next_due is not None:
                delay = min(delay, max(0.0, (next_due - self.clock()).total_seconds()))
            with trio.move_on_after(delay):
                await self._wake.wait()

    async def _send_one(self, row: OutboxRow) -> None:
        try:
            await self._attempt(row)
        except Exception:
            log.exception("sending outbox row %d failed unexpectedly", row.id)
        except trio.Cancelled:
            if row.id not in self._requested:
                self._unadopted.append(row.id)  # stopped before the request: not sent
            raise
        finally:
            self._in_flight.discard(row.id)
            self._requested.discard(row.id)
            self._start_ready()
            if self._maybe_pending:
                self.wake()

    async def _attempt(self, row: OutboxRow) -> None:
        gov = self.governor(row.phone_number_id)
        if not await gov.acquire(row.recipient, max_wait=self.max_pacing_wait):
            wait = gov.ready_at(row.recipient, trio.current_time()) - trio.current_time()
            now = self.clock()
            self._maybe_pending = True
            await self.db.run(
                repo.finish_retry, row.id, "", now + timedelta(seconds=wait), now, True
            )
            return
        body = dict(row.payload)
        read_receipt = _is_read_receipt(body)
        if not read_receipt:
            body["biz_opaque_callback_data"] = callback_data(row.id)
        self._requested.add(row.id)
        try:
            if read_receipt:
                await self.client.post_messages(row.phone_number_id, body)
                result: SendResult | None = None
            else:
                result = await self.client.send(row.phone_number_id, body)
        except CloudApiError as error:
            decision = gov.on_error(row.recipient, error, row.attempts, trio.current_time())
            with trio.CancelScope(shield=True):
                await self._store_error(row, error, decision)
            return
        gov.on_success(row.recipient, trio.current_time())
        wamid = result.wamid if result is not None else ""
        with trio.CancelScope(shield=True):
            finish = (row.id, wamid if result is not None else None, self.clock())
            if self.committer is not None:
                # Group-committed: at a send rate of dozens per second, one transaction per
                # sent message was a large share of the database's work.
                stored = await self.committer.submit(FINISH, finish, linger=FINISH_LINGER)
            else:
                stored = await self.db.run(_finish, *finish)
            if stored:
                self.sent += 1
                await self._report(row, SendReport(Outcome.SENT, wamid=wamid or None))

    async def _store_error(self, row: OutboxRow, error: CloudApiError, decision: Decision) -> None:
        if decision.retry_at is not None:
            wait = max(0.0, decision.retry_at - trio.current_time())
            now = self.clock()
            self._maybe_pending = True
            await self.db.run(
                repo.finish_retry, row.id, str(error), now + timedelta(seconds=wait), now, False
            )
            self.retried += 1
            log.info("outbox row %d: %s; retrying in %.2fs", row.id, error, wait)
            return
        report = SendReport(decision.outcome, error_code=error.code, reason=decision.reason)
        details = {
            "outcome": decision.outcome.value,
            "message": str(error),
            "details": error.details,
            "fbtrace_id": error.fbtrace_id,
            "http_status": error.http_status,
        }
        if await self.db.run(repo.finish_failed, row.id, report.reason, report.error_code,
                             details, self.clock()):
            self.failed += 1
            log.warning("outbox row %d failed for good (%s): %s", row.id,
                        decision.outcome.value, decision.reason)
            await self._report(row, report)

    async def _report(self, row: OutboxRow, report: SendReport) -> None:
        if self.on_outcome is None:
            return
        try:
            result = self.on_outcome(row, report)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_outcome failed for outbox row %d", row.id)


def _finish(session: Session, row_id: int, wamid: str | None, now: datetime) -> bool:
    """A sent message (``wamid``) or a read receipt (``None``) is done."""
    if wamid is None:
        return repo.finish_read(session, row_id, now)
    return repo.finish_sent(session, row_id, wamid, now)


class _Finish:
    name = "outbox.finish"

    def apply_many(
        self, session: Session, params: Sequence[tuple[int, str | None, datetime]]
    ) -> list[bool]:
        if not is_postgresql(session):
            return [_finish(session, *p) for p in params]
        return repo.finish_sent_many(session, params)


#: Seconds a sent row's bookkeeping may wait to share a transaction with the writes of the
#: conversations (nothing waits on it but the send's own slot and its "sent" report).
FINISH_LINGER: Final = 0.05


FINISH = _Finish()


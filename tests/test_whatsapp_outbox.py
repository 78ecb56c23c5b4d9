"""The transactional outbox against the Cloud API stand-in, under each injected fault.

Most tests use PostgreSQL (``pg_url``, shared by the run: each test uses its own business
number and cleans up its unfinished rows); the happy path also runs on SQLite. Every test
checks that no outbox row reached the stand-in twice (by ``biz_opaque_callback_data``).

Every test runs on a `MockClock` (the ``clock`` fixture) that moves at real
speed, since the sender talks to a real database and to the stand-in over sockets, and that a
test jumps forward instead of sleeping: the governor's real backoffs (a second and more) and
pauses pass at once, and "nothing more happened" is checked after the clock has passed the
time something would have happened and the sender has since looked at the table.
"""

from __future__ import annotations

import functools
import random
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session
from trio.testing import MockClock

from pytake.errors import InvalidMessage, WindowClosed
from pytake.messaging import (
    UNKNOWN_AFTER_RESTART,
    CloudApiClient,
    OutboxRow,
    OutboxSender,
    Outcome,
    SendGovernor,
    SendReport,
    TemplateCatalogue,
    outbox_id_from_callback,
    reconcile_sending,
)
from pytake.standins.whatsapp import CloudApiStandIn, run_standin
from pytake.store import (
    Conversation,
    Customer,
    Database,
    GroupCommitter,
    Message,
    OutboxEntry,
    OutboxState,
)
from pytake.whatsapp import mark_read_body, template_message, text_message

TOKEN = "tok"


@pytest.fixture
def clock() -> MockClock:
    """The run's clock (pytest-trio uses a `trio.abc.Clock` fixture): real speed, and
    jumped by the tests (see the module docstring)."""
    return MockClock(rate=1.0)


def api(standin: CloudApiStandIn) -> str:
    """The stand-in's base URL (set once it is serving)."""
    assert standin.base_url is not None
    return standin.base_url


@attrs.define
class Harness:
    db: Database
    committer: GroupCommitter
    standin: CloudApiStandIn
    number: str
    nursery: trio.Nursery
    client: CloudApiClient
    clock: MockClock
    reports: list[tuple[OutboxRow, SendReport]] = attrs.field(factory=list)
    sender: OutboxSender | None = None

    async def conversation(self) -> tuple[int, str]:
        phone = "+34" + str(600_000_000 + secrets.randbelow(99_999_999))
        number = self.number

        def create(session: Session) -> int:
            customer = Customer(business_phone_number_id=number, wa_id=phone[1:], phone=phone)
            session.add(customer)
            session.flush()
            conv = Conversation(customer_id=customer.id, business_phone_number_id=number)
            session.add(conv)
            session.flush()
            return conv.id

        return await self.db.run(create), phone

    async def start_sender(self, **kwargs: Any) -> OutboxSender:
        governor: Callable[[str], SendGovernor] = kwargs.pop(
            "governor",
            # Backoffs of a minute and more, longer than any test waits in real time:
            # `wait_state` jumps the clock past them.
            lambda n: SendGovernor(n, backoff_base=60.0, pair_backoff_unit=60.0,
                                   token_pause=60, rng=random.Random(0)),
        )
        options: dict[str, Any] = {"poll_interval": 0.2, "stale_after": 0.0, **kwargs}

        def on_outcome(row: OutboxRow, report: SendReport) -> None:
            # The per-run database is shared: rows other tests left pending are not ours.
            if row.phone_number_id == self.number:
                self.reports.append((row, report))

        sender = OutboxSender(self.db, self.client, committer=self.committer,
                              governor=governor, on_outcome=on_outcome, **options)
        await self.nursery.start(sender.run)
        self.sender = sender
        return sender

    async def enqueue(self, conversation_id: int, body: dict[str, Any]) -> int:
        assert self.sender is not None
        result = await self.sender.enqueue(self.number, body, conversation_id=conversation_id)
        return result.outbox_id

    async def row(self, outbox_id: int) -> Any:
        def get(session: Session) -> Any:
            return session.execute(
                sa.select(OutboxEntry.__table__).where(OutboxEntry.id == outbox_id)
            ).one()

        return await self.db.run(get)

    async def message(self, message_id: int) -> Any:
        def get(session: Session) -> Any:
            return session.execute(
                sa.select(Message.__table__).where(Message.id == message_id)
            ).one()

        return await self.db.run(get)

    async def wait_state(self, outbox_id: int, *states: str, timeout: float = 10.0) -> Any:
        """The row once it is in one of ``states`` (see `wait_row`)."""
        return await self.wait_row(outbox_id, lambda row: row.state in states, timeout)

    async def wait_row(
        self, outbox_id: int, done: Callable[[Any], bool], timeout: float = 10.0
    ) -> Any:
        """The row once ``done(row)``; while it waits for a retry, the clock jumps to that
        retry. ``timeout`` is real time (the clock's jumps do not count)."""
        deadline = time.monotonic() + timeout
        while True:
            row = await self.row(outbox_id)
            if done(row):
                return row
            assert time.monotonic() < deadline, f"outbox row {outbox_id} is still {row.state}"
            if row.state == "pending" and self.sender is not None:
                wait = (row.next_attempt_at - self.sender.clock()).total_seconds()
                if wait > 0:
                    self.clock.jump(wait + 0.001)
            await trio.sleep(0.02)

    async def settle(self, sender: OutboxSender, seconds: float) -> None:
        """Jump the clock ``seconds`` ahead, then wait until ``sender`` has claimed twice
        since (the second claim started after the first one saw the jumped clock), so that
        whatever was due by then has been tried."""
        self.clock.jump(seconds)
        claims = sender.claims
        with trio.fail_after(10):
            while sender.claims < claims + 2 or sender._in_flight:
                await trio.sleep(0.01)

    def sends_of(self, outbox_id: int) -> int:
        return sum(
            1 for s in self.standin.sent
            if outbox_id_from_callback(s.body.get("biz_opaque_callback_data")) == outbox_id
        )

    def assert_never_twice(self) -> None:
        counts = Counter(s.body.get("biz_opaque_callback_data") for s in self.standin.sent
                         if not s.is_read_receipt)
        assert all(n == 1 for n in counts.values()), counts


def _cleanup(session: Session, number: str) -> None:
    session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.business_phone_number_id == number,
               OutboxEntry.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
        .values(state=OutboxState.FAILED, last_error="test cleanup")
    )


def _settle_leftovers(session: Session) -> None:
    session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
        .values(state=OutboxState.FAILED, last_error="left by an earlier test")
    )


@asynccontextmanager
async def harness(url: str, clock: MockClock) -> AsyncIterator[Harness]:
    number = "pn" + secrets.token_hex(4)
    db = Database(url)
    committer = GroupCommitter(db)
    try:
        async with run_standin(token=TOKEN, phone_number_ids=[number]) as standin, \
                CloudApiClient(api(standin), "v23.0", TOKEN, timeout=2) as client, \
                trio.open_nursery() as nursery:
            await nursery.start(committer.run)
            h = Harness(db, committer, standin, number, nursery, client, clock)
            try:
                yield h
                h.assert_never_twice()
            finally:
                nursery.cancel_scope.cancel()
    finally:
        await db.run(_cleanup, number)
        await db.aclose()


@pytest.fixture(params=["pg", "sqlite"])
def any_url(request: pytest.FixtureRequest) -> str:
    name = "pg_url" if request.param == "pg" else "sqlite_url"
    url: str = request.getfixturevalue(name)
    return url


async def test_happy_path_sends_each_message_once_without_polling(
    any_url: str, clock: MockClock
) -> None:
    async with harness(any_url, clock) as h:
        # A long poll interval: only the enqueue wake-up can make this fast.
        await h.start_sender(poll_interval=30.0)
        ids = []
        convs = [await h.conversation() for _ in range(3)]
        start = trio.current_time()
        for conv_id, phone in convs:
            ids.append(await h.enqueue(conv_id, text_message(phone, f"hello {phone}")))
        rows = [await h.wait_state(i, "sent", timeout=5) for i in ids]
        assert trio.current_time() - start < 5
        for row in rows:
            assert row.whatsapp_message_id.startswith("wamid.")
            assert row.attempts == 1
            msg = await h.message(row.message_id)
            assert msg.whatsapp_message_id == row.whatsapp_message_id
            assert msg.status == "sent" and msg.direction == "out" and msg.type == "text"
            assert h.sends_of(row.id) == 1
        assert [r.outcome for _, r in h.reports] == [Outcome.SENT] * 3


async def test_a_burst_is_claimed_as_stored_and_finished_in_batches(
    any_url: str, clock: MockClock
) -> None:
    async with harness(any_url, clock) as h:
        # Rows other tests left waiting in the shared database would (rightly) make every
        # finished send look for more; this test is about a table with nothing waiting.
        await h.db.run(_settle_leftovers)
        sender = await h.start_sender(poll_interval=30.0)
        with trio.fail_after(5):
            while sender.claims < 1:  # the claim at start
                await trio.sleep(0.01)
        claims = sender.claims
        convs = [await h.conversation() for _ in range(20)]
        ids: list[int] = []

        async def send(conv_id: int, phone: str) -> None:
            ids.append(await h.enqueue(conv_id, text_message(phone, f"burst {phone}")))

        async with trio.open_nursery() as nursery:
            for conv_id, phone in convs:
                nursery.start_soon(send, conv_id, phone)
        rows = [await h.wait_state(i, "sent", timeout=5) for i in ids]
        # Every row went from its enqueue commit straight to the sender.
        assert sender.claims == claims
        wamids = set()
        for row in rows:
            assert row.attempts == 1 and h.sends_of(row.id) == 1
            msg = await h.message(row.message_id)
            assert (msg.status, msg.whatsapp_message_id) == ("sent", row.whatsapp_message_id)
            assert msg.sent_at is not None
            wamids.add(row.whatsapp_message_id)
        assert len(wamids) == 20


async def test_a_key_stored_again_sends_nothing_twice(any_url: str, clock: MockClock) -> None:
    async with harness(any_url, clock) as h:
        sender = await h.start_sender()
        conv, phone = await h.conversation()
        key = f"flow:{conv}:m1:1"
        first = await sender.enqueue(h.number, text_message(phone, "once"),
                                     conversation_id=conv, key=key)
        # The same turn run again (a replay after a crash), alone and batched with new work.
        again = await sender.enqueue(h.number, text_message(phone, "once"),
                                     conversation_id=conv, key=key)
        async with trio.open_nursery() as nursery:
            for body, k in [("once", key), ("two", key + "x"), ("two", key + "x")]:
                nursery.start_soon(functools.partial(
                    sender.enqueue, h.number, text_message(phone, body),
                    conversation_id=conv, key=k,
                ))
        assert (again.outbox_id, again.message_id) == (first.outbox_id, first.message_id)
        await h.wait_state(first.outbox_id, "sent")

        def count(session: Session) -> tuple[int, int]:
            rows = session.execute(
                sa.select(sa.func.count()).select_from(OutboxEntry.__table__)
                .where(OutboxEntry.idempotency_key.in_([key, key + "x"]))
            ).scalar_one()
            messages = session.execute(
                sa.select(sa.func.count()).select_from(Message.__table__)
                .where(Message.conversation_id == conv)
            ).scalar_one()
            return int(rows), int(messages)

        assert await h.db.run(count) == (2, 2)
        # Both rows sent (a sent row is never claimed again), and the sender has looked at
        # the table since: no third request can still come.
        for oid in [r.outbox_id for r in await h.db.run(_ours, h.number)]:
            await h.wait_state(oid, "sent")
        await h.settle(sender, 1.0)
        bodies = [s.body["text"]["body"] for s in h.standin.sent if s.body.get("to") == phone]
        assert sorted(bodies) == ["once", "two"]


async def test_rows_claimed_as_stored_respect_the_concurrency(
    pg_url: str, clock: MockClock
) -> None:
    async with harness(pg_url, clock) as h:
        h.standin.faults.latency_ms = 30
        sender = await h.start_sender(concurrency=2)
        convs = [await h.conversation() for _ in range(12)]
        ids: list[int] = []
        most = 0

        async def watch() -> None:
            nonlocal most
            while True:
                most = max(most, len(sender._in_flight))  # sends in flight right now
                await trio.sleep(0)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            async with trio.open_nursery() as senders:
                for conv_id, phone in convs:
                    senders.start_soon(functools.partial(
                        h.enqueue, conv_id, text_message(phone, "one at a time")))
            ids = [r.outbox_id for r in await h.db.run(_ours, h.number)]
            for oid in ids:
                await h.wait_state(oid, "sent")
            nursery.cancel_scope.cancel()
        assert len(ids) == 12 and most == 2


async def test_rows_claimed_but_not_requested_go_back_when_the_sender_stops(
    pg_url: str, clock: MockClock
) -> None:
    async with harness(pg_url, clock) as h:
        h.standin.faults.latency_ms = 200
        convs = [await h.conversation() for _ in range(5)]
        # Two slots: one request goes out, the next waits for the number's pace (one send
        # per 10 s, max_pacing_wait 30 s), three wait for a slot.
        stopping = OutboxSender(h.db, h.client, committer=h.committer, concurrency=2,
                                poll_interval=30.0, max_pacing_wait=30.0,
                                governor=lambda n: SendGovernor(n, rate=0.1, burst=1))
        async with trio.open_nursery() as nursery:
            await nursery.start(stopping.run)
            async with trio.open_nursery() as senders:
                for conv_id, phone in convs:
                    senders.start_soon(functools.partial(
                        stopping.enqueue, h.number, text_message(phone, "later"),
                        conversation_id=conv_id))
            # One request under way, one row waiting for the pace, three for a slot.
            with trio.fail_after(5):
                while len(stopping._requested) < 1 or len(stopping._in_flight) < 2:
                    await trio.sleep(0.005)
            nursery.cancel_scope.cancel()
        rows = await h.db.run(_ours, h.number)
        states = sorted((r.state, r.attempts) for r in rows)
        # The one whose request had started is not sent again; the others were never tried.
        assert states == [("pending", 0)] * 4 + [("sending", 1)]
        h.standin.faults.latency_ms = 0
        await h.start_sender()
        for row in rows:
            if row.state == "pending":
                assert (await h.wait_state(row.outbox_id, "sent")).attempts == 1


def _ours(session: Session, number: str) -> list[Any]:
    return list(session.execute(
        sa.select(OutboxEntry.id.label("outbox_id"), OutboxEntry.state, OutboxEntry.attempts)
        .where(OutboxEntry.business_phone_number_id == number)
        .order_by(OutboxEntry.id)
    ))


async def test_throughput_burst_is_retried_and_sent_once(pg_url: str, clock: MockClock) -> None:
    async with harness(pg_url, clock) as h:
        h.standin.faults.rate_limit_next = 3
        await h.start_sender()
        conv, phone = await h.conversation()
        oid = await h.enqueue(conv, text_message(phone, "after a 429 burst"))
        row = await h.wait_state(oid, "sent")
        assert row.attempts == 4
        assert h.standin.rejected["rate_limit"] == 3
        assert h.sends_of(oid) == 1


async def test_server_errors_are_retried(pg_url: str, clock: MockClock) -> None:
    async with harness(pg_url, clock) as h:
        h.standin.faults.server_error_next = 2
        await h.start_sender()
        conv, phone = await h.conversation()
        oid = await h.enqueue(conv, text_message(phone, "after 5xx"))
        row = await h.wait_state(oid, "sent")
        assert row.attempts == 3 and h.sends_of(oid) == 1


async def test_dropped_connection_is_retried(pg_url: str, clock: MockClock) -> None:
    async with harness(pg_url, clock) as h:
        h.standin.faults.drop_next = 1
        await h.start_sender()
        conv, phone = await h.conversation()
        oid = await h.enqueue(conv, text_message(phone, "after a drop"))
        row = await h.wait_state(oid, "sent")
        assert row.attempts == 2 and h.sends_of(oid) == 1


async def test_window_closed_fails_with_needs_template_and_no_retry(
    pg_url: str, clock: MockClock
) -> None:
    async with harness(pg_url, clock) as h:
        sender = await h.start_sender()
        conv, phone = await h.conversation()
        h.standin.faults.recipient_errors = {phone: 131047}
        oid = await h.enqueue(conv, text_message(phone, "too late"))
        row = await h.wait_state(oid, "failed")
        assert row.attempts == 1 and "131047" in row.last_error
        msg = await h.message(row.message_id)
        assert msg.status == "failed" and msg.error_code == 131047
        assert msg.error_details["outcome"] == "needs_template"
        assert msg.error_details["fbtrace_id"]
        # Well past any backoff: a retry, if there were one, would have been claimed.
        await h.settle(sender, 600.0)
        assert (await h.row(oid)).attempts == 1
        assert h.standin.rejected["recipient_error"] == 1
        assert [r.outcome for _, r in h.reports] == [Outcome.NEEDS_TEMPLATE]


async def test_expired_token_stops_the_number_until_it_changes(
    pg_url: str, clock: MockClock
) -> None:
    async with harness(pg_url, clock) as h:
        h.client.token = "expired"
        sender = await h.start_sender(concurrency=1)
        a, phone_a = await h.conversation()
        b, phone_b = await h.conversation()
        first = await h.enqueue(a, text_message(phone_a, "one"))
        second = await h.enqueue(b, text_message(phone_b, "two"))
        with trio.fail_after(5):
            while not sender.governor(h.number).token_expired:
                await trio.sleep(0.02)
        await h.wait_state(first, "pending")
        # Half the token pause (60 s) later, nothing more was tried.
        await h.settle(sender, 30.0)
        rows = [await h.row(first), await h.row(second)]
        assert [r.state for r in rows] == ["pending", "pending"]
        assert sum(r.attempts for r in rows) == 1
        assert sender.governor(h.number).alerts == 1
        # When the pause is over the number tries again, is refused again and pauses again.
        clock.jump(31.0)
        with trio.fail_after(5):
            while sender.governor(h.number).alerts < 2:
                await trio.sleep(0.01)
        await h.settle(sender, 30.0)
        rows = [await h.row(first), await h.row(second)]
        # The refused message was due again with the number (its next attempt is the end
        # of the pause), so it went first; the second still waits.
        assert [r.attempts for r in rows] == [2, 0]
        assert sender.governor(h.number).alerts == 2
        assert not h.standin.sent
        await sender.token_changed(TOKEN)
        for oid in (first, second):
            assert (await h.wait_state(oid, "sent")).whatsapp_message_id


async def test_restart_mid_send_is_not_resent_and_can_be_reconciled(
    pg_url: str, clock: MockClock
) -> None:
    async with harness(pg_url, clock) as h:
        # A sender that "died": rows committed, one claimed (sending), one still pending.
        conv, phone = await h.conversation()
        conv2, phone2 = await h.conversation()
        dying = OutboxSender(h.db, h.client, committer=h.committer)
        claimed = (await dying.enqueue(h.number, text_message(phone, "in flight"),
                                       conversation_id=conv)).outbox_id
        waiting = (await dying.enqueue(h.number, text_message(phone2, "queued"),
                                       conversation_id=conv2)).outbox_id

        def claim(session: Session) -> None:
            session.execute(
                sa.update(OutboxEntry).where(OutboxEntry.id == claimed)
                .values(state=OutboxState.SENDING, attempts=1)
            )

        await h.db.run(claim)
        sender = await h.start_sender()
        row = await h.wait_state(claimed, "failed")
        assert row.last_error == UNKNOWN_AFTER_RESTART
        assert (await h.message(row.message_id)).error_details["outcome"] == "unknown"
        assert (await h.wait_state(waiting, "sent")).attempts == 1
        await h.settle(sender, 600.0)
        assert h.sends_of(claimed) == 0 and h.sends_of(waiting) == 1
        # A status webhook later carries biz_opaque_callback_data "outbox:<id>".
        assert await reconcile_sending(h.db, claimed, "wamid.RECONCILED")
        row = await h.row(claimed)
        assert (row.state, row.whatsapp_message_id) == ("sent", "wamid.RECONCILED")
        msg = await h.message(row.message_id)
        assert (msg.status, msg.whatsapp_message_id) == ("sent", "wamid.RECONCILED")
        assert not await reconcile_sending(h.db, waiting, "wamid.OTHER")


async def test_messages_to_one_recipient_keep_their_order(pg_url: str, clock: MockClock) -> None:
    async with harness(pg_url, clock) as h:
        h.standin.faults.server_error_next = 1
        await h.start_sender()
        conv, phone = await h.conversation()
        ids = [await h.enqueue(conv, text_message(phone, f"part {i}")) for i in range(4)]
        for oid in ids:
            await h.wait_state(oid, "sent")
        order = [outbox_id_from_callback(s.body["biz_opaque_callback_data"])
                 for s in h.standin.sent]
        assert order == ids


async def test_read_receipts_and_pair_rate_limit(pg_url: str, clock: MockClock) -> None:
    async with harness(pg_url, clock) as h:
        sender = await h.start_sender()
        conv, phone = await h.conversation()
        h.standin.faults.recipient_errors = {phone: 131056}
        oid = await h.enqueue(conv, text_message(phone, "paced"))
        await h.wait_row(oid, lambda row: row.attempts >= 2)
        h.standin.faults.recipient_errors = {}
        assert (await h.wait_state(oid, "sent")).attempts >= 2
        read = await sender.enqueue(h.number, mark_read_body("wamid.IN1", typing=True),
                                    recipient=phone)
        assert read.message_id is None
        await h.wait_state(read.outbox_id, "sent")
        assert h.standin.sent[-1].is_read_receipt


async def test_enqueue_checks_window_and_template_approval(pg_url: str, clock: MockClock) -> None:
    async with harness(pg_url, clock) as h:
        catalogue = TemplateCatalogue()
        catalogue.load([{"name": "hello_world", "language": "en_US", "status": "APPROVED"}])
        sender = await h.start_sender(templates=catalogue)
        conv, phone = await h.conversation()
        now = 1_767_225_600.0
        with pytest.raises(WindowClosed):
            await sender.enqueue(h.number, text_message(phone, "late"), conversation_id=conv,
                                 last_customer_ts=now - 25 * 3600, now=now)
        with pytest.raises(InvalidMessage, match="not approved"):
            await sender.enqueue(h.number, template_message(phone, "spring_offer", "pt_BR"),
                                 conversation_id=conv, last_customer_ts=None, now=now)
        ok = await sender.enqueue(h.number, template_message(phone, "hello_world", "en_US"),
                                  conversation_id=conv, last_customer_ts=None, now=now)
        assert (await h.wait_state(ok.outbox_id, "sent")).whatsapp_message_id
        assert h.standin.sent[-1].type == "template"

"""Backpressure: a webhook's answer waits while the inbox's processing backlog is too deep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import trio
import trio.testing

from pytake.messaging import InboxOutcome, InboxProcessor
from pytake.messaging import _inbox as inbox_module
from pytake.store import Database, GroupCommitter, upgrade

from .webhook_support import encode, envelope, running_edge, text_message, wa_id, webhook_settings


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture
async def processor(tmp_path: Path) -> AsyncIterator[InboxProcessor]:
    async with Database(f"sqlite:///{tmp_path / 'inbox.db'}") as db:
        yield InboxProcessor(db, GroupCommitter(db), router=None,  # type: ignore[arg-type]
                             backlog_limit=2)


def rows(*ids: int) -> list[tuple[int, bytes]]:
    return [(i, b"{}") for i in ids]


async def test_under_the_limit_nothing_waits(
    processor: InboxProcessor, clock: trio.testing.MockClock
) -> None:
    processor._hand_over(rows(1, 2))
    started = trio.current_time()
    assert await processor.wait_for_room(5.0) is False
    assert trio.current_time() == started
    assert processor.backlog == 2


async def test_over_the_limit_waits_until_processing_makes_room(
    processor: InboxProcessor, clock: trio.testing.MockClock
) -> None:
    processor._hand_over(rows(1, 2, 3, 4))
    answered: list[float] = []

    async def webhook() -> None:
        assert await processor.wait_for_room(5.0) is True
        answered.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(webhook)
        await trio.testing.wait_all_tasks_blocked()
        processor._processed(InboxOutcome(1))  # 3 left: still over
        await trio.testing.wait_all_tasks_blocked()
        assert answered == []
        clock.jump(1.0)
        processor._processed(InboxOutcome(2))  # 2 left: room
    assert answered == [1.0]
    assert processor.backlog == 2


async def test_the_wait_is_bounded(
    processor: InboxProcessor, clock: trio.testing.MockClock
) -> None:
    processor._hand_over(rows(1, 2, 3))
    started = trio.current_time()
    assert await processor.wait_for_room(0.25) is True
    assert trio.current_time() - started == pytest.approx(0.25)
    assert processor.backlog == 3  # nothing was dropped: the rows still wait


async def test_a_wait_of_zero_never_holds(
    processor: InboxProcessor, clock: trio.testing.MockClock
) -> None:
    processor._hand_over(rows(1, 2, 3))
    assert await processor.wait_for_room(0.0) is False


async def test_a_limit_of_zero_never_holds(
    processor: InboxProcessor, clock: trio.testing.MockClock
) -> None:
    processor.backlog_limit = 0
    processor._hand_over(rows(*range(1, 5000)))
    assert await processor.wait_for_room(5.0) is False


async def test_the_backlog_counts_at_most_waiting_limit_rows(
    processor: InboxProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "WAITING_LIMIT", 3)
    processor._hand_over(rows(1, 2, 3, 4, 5))
    assert processor.backlog == 3


async def test_rows_handed_over_during_a_read_that_overflow_are_read_next(
    processor: InboxProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full `_fresh` while the table is being read: the rows it drops may be newer than
    what the read saw, so the next batch reads the table again."""
    monkeypatch.setattr(inbox_module, "FRESH_LIMIT", 0)

    async def read_while_rows_arrive(fn: object, limit: int) -> list[tuple[int, bytes]]:
        processor._hand_over(rows(7))  # committed meanwhile; dropped: `_fresh` is full
        return []

    monkeypatch.setattr(processor.db, "read", read_while_rows_arrive)
    assert await processor._next_rows() == []
    assert processor._scan  # without it row 7 would wait for the next periodic read


@pytest.mark.parametrize("batch", [1, 100])
async def test_rows_another_node_processed_leave_the_backlog_at_the_next_read(
    empty_pg_url: str, batch: int
) -> None:
    """Rows this node stored and handed over, then processed by another node, get no
    outcome here; a read of the table that no longer finds them takes them off the backlog
    (before processing catches up: while a node is behind is when the count matters)."""
    await trio.to_thread.run_sync(upgrade, empty_pg_url)  # a database of its own: exact rows
    async with running_edge(webhook_settings(empty_pg_url)) as edge:
        inbox = edge.engine.inbox
        await edge.engine.root.terminate_child("whatsapp-inbox")
        sender = wa_id()
        for i in range(3):
            response = await edge.post(encode(envelope([text_message(sender, str(i))])))
            assert response.status_code == 200
        first, second, third = sorted(inbox._waiting)
        await edge.engine.db.run(lambda s: s.execute(sa.text(
            "UPDATE inbox SET state = 'processed' WHERE id IN (:a, :b)"
        ), {"a": first, "b": second}))
        inbox.batch = batch
        inbox._scan = True
        taken = await inbox._next_rows()
        assert [inbox_id for inbox_id, _ in taken] == [third]
        assert inbox._waiting == {third}


async def test_the_webhook_answers_once_the_backlog_is_processed(pg_url: str) -> None:
    settings = webhook_settings(pg_url, PYTAKE_WHATSAPP_INBOX_BACKLOG_LIMIT="2",
                                PYTAKE_WHATSAPP_INBOX_BACKLOG_WAIT="10")
    async with running_edge(settings) as edge:
        inbox = edge.engine.inbox
        await edge.engine.root.terminate_child("whatsapp-inbox")  # nothing is processed
        sender = wa_id()
        for i in range(2):
            response = await edge.post(encode(envelope([text_message(sender, str(i))])))
            assert response.status_code == 200
        assert inbox.backlog == 2
        statuses: list[int] = []

        async def third() -> None:
            response = await edge.post(encode(envelope([text_message(sender, "2")])))
            statuses.append(response.status_code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(third)
            with trio.fail_after(5):
                while inbox._room.statistics().tasks_waiting == 0:
                    await trio.sleep(0.01)
            assert statuses == []  # stored (the backlog counts it), not answered
            assert inbox.backlog == 3
            await inbox.process_pending()
        assert statuses == [200]
        assert inbox.backlog == 0
        metrics = (await edge.client.get("/metrics")).text
        assert "pytake_webhook_held_total 1.0" in metrics

"""Backpressure: a webhook's answer waits while the inbox's processing backlog is too deep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing

from pytake.store import Database, GroupCommitter
from pytake.whatsapp._inbox import InboxOutcome, InboxProcessor

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


async def test_a_limit_of_zero_never_holds(tmp_path: Path, clock: trio.testing.MockClock) -> None:
    async with Database(f"sqlite:///{tmp_path / 'inbox.db'}") as db:
        processor = InboxProcessor(db, GroupCommitter(db), router=None)  # type: ignore[arg-type]
        processor._hand_over(rows(*range(1, 5000)))
        assert await processor.wait_for_room(5.0) is False


async def test_rows_processed_elsewhere_stop_counting_once_the_processor_is_caught_up(
    pg_url: str,
) -> None:
    """Ids handed over but no longer pending when the processor finds nothing to do (another
    node took them) leave the backlog, so they cannot hold answers forever."""
    async with running_edge(webhook_settings(pg_url)) as edge:
        inbox = edge.engine.inbox
        inbox._hand_over(rows(10**12, 10**12 + 1))  # ids no row has
        assert inbox.backlog >= 2
        await inbox.process_pending()
        assert inbox.backlog == 0


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

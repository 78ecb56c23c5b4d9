from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from pytake.actors import (
    Actor,
    ActorKind,
    InMemoryDeadLetters,
    InMemorySnapshotStore,
    Snapshot,
    open_router,
)
from pytake.errors import (
    ActorStopped,
    AskTimeout,
    MailboxFull,
    MessageDeadLettered,
    UnknownActorKind,
)
from pytake.supervisor import Backoff, Intensity

from .actor_fixtures import (
    ATTEMPTS,
    INITS,
    Apply,
    AskPeer,
    Block,
    CrashOn,
    ForwardAfter,
    Get,
    LogActor,
    LogState,
)


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture(autouse=True)
def _reset_globals() -> None:
    ATTEMPTS.clear()
    INITS.clear()


def kind(**kw: Any) -> ActorKind:
    kw.setdefault("backoff", Backoff(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.0))
    return ActorKind(LogActor, **kw)


async def test_tell_is_handled_in_order_and_ask_replies() -> None:
    async with open_router([kind()]) as router:
        ref = router.ref("log", "a")
        for n in range(100):
            await ref.tell(Apply(n))
        assert await ref.ask(Get()) == list(range(100))
        assert await ref.ask(Apply(1)) == sum(range(100)) + 1


async def test_unknown_kind_names_known_kinds() -> None:
    async with open_router([kind()]) as router:
        with pytest.raises(UnknownActorKind, match="known kinds: log"):
            router.ref("nope", "a")


async def test_ask_timeout_is_clear_and_leaves_no_task(clock: trio.testing.MockClock) -> None:
    async with open_router([kind()]) as router:
        ref = router.ref("log", "slow")
        gate = trio.Event()
        await ref.tell(Block(gate))
        await trio.sleep(0.01)
        tasks_before = trio.lowlevel.current_statistics().tasks_living
        with pytest.raises(AskTimeout, match=r"log/slow: no reply to Get within 2s"):
            await ref.ask(Get(), timeout=2)
        assert trio.lowlevel.current_statistics().tasks_living == tasks_before
        gate.set()
        # the timed-out message was still accepted and is handled afterwards
        assert await ref.ask(Get()) == []


async def test_ten_thousand_concurrent_first_messages_make_one_activation() -> None:
    class SlowStore(InMemorySnapshotStore):
        loads = 0

        async def load(self, kind: str, id: str) -> Snapshot | None:
            SlowStore.loads += 1
            await trio.sleep(0.01)  # widen the window in which a racing activation could occur
            return await super().load(kind, id)

    async with open_router([kind()], store=SlowStore()) as router:
        ref = router.ref("log", "hot")

        async with trio.open_nursery() as nursery:
            for n in range(10_000):
                nursery.start_soon(ref.tell, Apply(n))
        applied = await ref.ask(Get(), timeout=30)
        assert sorted(applied) == list(range(10_000))
        assert INITS == ["hot"]
        assert SlowStore.loads == 1
        assert router.runtime("log").stats.activations == 1


async def test_idle_actor_passivates_and_reactivates_from_snapshot(
    clock: trio.testing.MockClock,
) -> None:
    store = InMemorySnapshotStore()
    async with open_router([kind(idle_timeout=60)], store=store) as router:
        rt = router.runtime("log")
        ref = router.ref("log", "c1")
        await ref.tell(Apply(5))
        await ref.tell(Apply(7))
        assert await ref.ask(Get()) == [5, 7]
        assert rt.stats.live == 1
        await trio.sleep(59)
        assert rt.stats.live == 1
        await trio.sleep(2)
        assert rt.stats.live == 0
        assert rt.stats.passivations == 1
        snap = await store.load("log", "c1")
        assert snap is not None and snap.data["applied"] == [5, 7] and snap.seq == 3
        assert await ref.ask(Get()) == [5, 7]
        assert rt.stats.activations == 2
        assert INITS == ["c1"]  # restored, not re-initialised


async def test_full_mailbox_pushes_back(clock: trio.testing.MockClock) -> None:
    async with open_router([kind(mailbox_size=3)]) as router:
        ref = router.ref("log", "m")
        gate = trio.Event()
        await ref.tell(Block(gate))
        await trio.sleep(0.01)  # Block is being handled; it keeps its place until it is done
        await ref.tell(Apply(1))
        await ref.tell(Apply(2))
        with pytest.raises(MailboxFull, match="log/m: mailbox full"):
            ref.tell_nowait(Apply(3))
        started = trio.current_time()
        with pytest.raises(MailboxFull):
            await ref.tell(Apply(3), timeout=1.5)
        assert trio.current_time() - started == pytest.approx(1.5)

        async def release() -> None:
            await trio.sleep(10)
            gate.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(release)
            await ref.tell(Apply(3))  # waits without a deadline until there is room
            assert trio.current_time() - started >= 10
        assert await ref.ask(Get()) == [1, 2, 3]


async def test_crash_rolls_back_and_retries_after_backoff(clock: trio.testing.MockClock) -> None:
    async with open_router([kind(poison_threshold=5)]) as router:
        ref = router.ref("log", "x")
        await ref.tell(Apply(1))
        started = trio.current_time()
        assert await ref.ask(CrashOn(2, times=2), timeout=60) == 3
        # two crashes: back-off 0.1 then 0.2 seconds (no jitter configured)
        assert trio.current_time() - started == pytest.approx(0.3)
        await ref.tell(Apply(4))
        assert await ref.ask(Get()) == [1, 2, 4]  # the half-applied attempts left no trace
        rt = router.runtime("log")
        assert rt.stats.crashes == 2 and rt.stats.restarts == 2
        assert rt.cells["x"].restarts == 2


async def test_poison_message_goes_to_dead_letters_and_actor_carries_on(
    clock: trio.testing.MockClock,
) -> None:
    letters = InMemoryDeadLetters()
    async with open_router([kind(poison_threshold=3)], dead_letters=letters) as router:
        ref = router.ref("log", "p")
        await ref.tell(Apply(1))
        with pytest.raises(MessageDeadLettered, match="CrashOn dead-lettered after 3 crashes"):
            await ref.ask(CrashOn(9, times=100), timeout=60)
        await ref.tell(Apply(2))
        assert await ref.ask(Get()) == [1, 2]
        (letter,) = await letters.list()
        assert letter.kind == "log" and letter.id == "p" and letter.attempts == 3
        assert letter.message_type == "CrashOn" and "boom on 9" in letter.error
        assert "RuntimeError: boom on 9" in letter.traceback
        assert router.runtime("log").stats.dead_letters == 1


async def test_kind_escalates_when_intensity_exceeded_and_loses_nothing(
    clock: trio.testing.MockClock,
) -> None:
    spec = kind(poison_threshold=10, intensity=Intensity(max_restarts=2, period=60))
    async with open_router([spec]) as router:
        rt = router.runtime("log")
        refs = [router.ref("log", f"e{i}") for i in range(4)]
        for i, ref in enumerate(refs):
            await ref.tell(Apply(i))
            await ref.tell(CrashOn(100 + i, times=1))
            await ref.tell(Apply(10 + i))
        for i, ref in enumerate(refs):
            assert await ref.ask(Get(), timeout=120) == [i, 100 + i, 10 + i]
        assert rt.escalations >= 1
        assert rt.stats.escalations == rt.escalations


async def test_handler_asking_same_kind_does_not_deadlock(clock: trio.testing.MockClock) -> None:
    async with open_router([kind()]) as router:
        await router.ref("log", "b").tell(Apply(42))
        # many actors each block on an ask to another actor of the same kind
        async with trio.open_nursery() as nursery:
            results: list[Any] = []

            async def one(i: int) -> None:
                results.append(await router.ref("log", f"a{i}").ask(AskPeer("b"), timeout=5))

            for i in range(50):
                nursery.start_soon(one, i)
        assert results == [[42]] * 50


async def test_clean_shutdown_drains_and_snapshots() -> None:
    store = InMemorySnapshotStore()
    async with open_router([kind(idle_timeout=math.inf)], store=store) as router:
        for i in range(20):
            for n in range(50):
                router.ref("log", f"s{i}").tell_nowait(Apply(n))
    assert len(store) == 20
    for snap in store.items():
        assert snap.data["applied"] == list(range(50)) and snap.seq == 50
    with pytest.raises(ActorStopped):
        await router.ref("log", "late").tell(Apply(1))


async def test_a_turn_under_way_completes_while_the_router_drains() -> None:
    """Once shutdown begins outsiders are refused, but an actor's handler that was running
    still tells its peer, and the peer's message is handled before the router stops."""
    store = InMemorySnapshotStore()
    async with open_router([kind(idle_timeout=math.inf)], store=store) as router:
        gate = trio.Event()
        router.ref("log", "a").tell_nowait(ForwardAfter(gate, "b", 7))
        await trio.testing.wait_all_tasks_blocked()
        router.stop_accepting()
        with pytest.raises(ActorStopped):
            await router.ref("log", "outsider").tell(Apply(1))
        gate.set()
        assert await router.drain(trio.current_time() + 5) == 0
    by_id = {snap.id: snap for snap in store.items()}
    assert by_id["b"].data["applied"] == [7]
    assert "outsider" not in by_id


async def test_snapshot_of_older_schema_is_upgraded_on_read() -> None:
    @attrs.define
    class V2State:
        values: list[int] = attrs.Factory(list)

    class Upgraded(Actor[V2State]):
        kind = "upgraded"
        state_type = V2State
        state_version = 2

        @classmethod
        def upgrade_snapshot(cls, data: Any, from_version: int) -> Any:
            assert from_version == 1
            return {"values": [data["single"]]}

        async def receive(self, message: Any) -> Any:
            return self.state.values

    store = InMemorySnapshotStore()
    await store.save_many([Snapshot("upgraded", "u", 1, 4, {"single": 7})])
    async with open_router([ActorKind(Upgraded)], store=store) as router:
        assert await router.ref("upgraded", "u").ask("get") == [7]


async def test_metrics_collector_reports_per_kind() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    async with open_router([kind()]) as router:
        registry = CollectorRegistry()
        registry.register(router.metrics_collector())
        for n in range(3):
            await router.ref("log", "m").tell(Apply(n))
        await router.ref("log", "m").ask(Get())
        text = generate_latest(registry).decode()
    assert 'pytake_actor_messages_handled_total{kind="log"} 4.0' in text
    assert 'pytake_actors_live{kind="log"} 1.0' in text
    assert 'pytake_actor_activations_total{kind="log"} 1.0' in text
    assert 'pytake_actor_handling_seconds_count{kind="log"} 4.0' in text


async def test_supervision_tree_lists_kinds_and_actors() -> None:
    async with open_router([kind()]) as router:
        for i in range(5):
            await router.ref("log", f"t{i}").tell(Apply(i))
        await router.ref("log", "t4").ask(Get())
        router.actor_limit = 3
        tree = router.supervision_tree()
    (kind_node,) = tree.children
    assert kind_node.kind == "actor-kind" and kind_node.id == "log"
    assert [c.id for c in kind_node.children] == ["log/t0", "log/t1", "log/t2"]
    assert kind_node.truncated == 2
    assert all(c.state == "idle" and c.mailbox_depth == 0 for c in kind_node.children)


def test_state_type_is_checked() -> None:
    class NoKind(LogActor):
        kind = ""

    with pytest.raises(ValueError, match="must set a class attribute `kind`"):
        ActorKind(NoKind)
    assert LogState().applied == []

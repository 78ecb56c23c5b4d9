"""The supervisor, run for real on trio's MockClock (autojump: no test waits in real time)."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from random import Random

import pytest
import trio
import trio.testing

from pytake.errors import SupervisorEscalation
from pytake.supervisor import (
    Backoff,
    ChildSpec,
    Intensity,
    Restart,
    Strategy,
    Supervisor,
    TreeNode,
)

# One second between a failure and its restart, always: timings are easy to predict.
STEADY = Backoff(initial=1.0, maximum=1.0, multiplier=1.0, jitter=0.0)
LENIENT = Intensity(max_restarts=100, period=1000.0)


class Boom(Exception):
    pass


class Fatal(BaseException):
    """Stands for KeyboardInterrupt, SystemExit...: never a crash to handle."""


class Probe:
    """A child the test drives. It appends what happens to it to a log shared by the test.

    Entries are ``"start x"``, ``"fail x"`` (raised before ``started()``), ``"stop x"``
    (cancelled), and ``"crash x"``/``"exit x"``/``"fatal x"`` when the test ends it with
    the method of that name.
    """

    def __init__(
        self,
        name: str,
        log: list[str],
        *,
        restart: Restart = Restart.PERMANENT,
        fail_starts: int = 0,
        fail_with: type[BaseException] = Boom,
        start_delay: float = 0.0,
    ) -> None:
        self.name = name
        self.log = log
        self.restart = restart
        self.fail_starts = fail_starts
        self.fail_with = fail_with
        self.start_delay = start_delay
        self.starts = 0
        self.started_at: list[float] = []
        self.running = False
        self._kill = trio.Event()
        self._ending = ""

    def spec(self) -> ChildSpec:
        return ChildSpec(id=self.name, start=self.run, restart=self.restart)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.starts += 1
        self.started_at.append(trio.current_time())
        self.log.append(f"start {self.name}")
        try:
            await trio.sleep(self.start_delay)
        except trio.Cancelled:
            self.log.append(f"stop {self.name}")
            raise
        if self.fail_starts > 0:
            self.fail_starts -= 1
            self.log.append(f"fail {self.name}")
            raise self.fail_with(f"{self.name} failed to start")
        self._kill = trio.Event()
        self.running = True
        task_status.started()
        try:
            await self._kill.wait()
        except trio.Cancelled:
            self.log.append(f"stop {self.name}")
            raise
        finally:
            self.running = False
        self.log.append(f"{self._ending} {self.name}")
        if self._ending == "crash":
            raise Boom(f"{self.name} crashed")
        if self._ending == "fatal":
            raise self.fail_with(f"{self.name} died")

    def crash(self) -> None:
        self._end("crash")

    def exit(self) -> None:
        self._end("exit")

    def fatal(self) -> None:
        self._end("fatal")

    def _end(self, how: str) -> None:
        assert self.running, f"{self.name} is not running"
        self._ending = how
        self._kill.set()


def crash_loop(times: list[float], *, after: float = 0.0) -> Callable[..., Awaitable[None]]:
    """A start function that records its start time, starts, then crashes ``after`` s later."""

    async def start(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        times.append(trio.current_time())
        task_status.started()
        await trio.sleep(after)
        raise Boom("crash loop")

    return start


class Recorder:
    """A SupervisorObserver that remembers every call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.errors: list[BaseException] = []

    def on_restart(self, supervisor: Supervisor, child_id: str) -> None:
        self.events.append(("restart", supervisor.name, child_id))

    def on_escalation(self, supervisor: Supervisor, child_id: str) -> None:
        self.events.append(("escalation", supervisor.name, child_id))

    def on_crash(self, supervisor: Supervisor, child_id: str, exc: BaseException) -> None:
        self.events.append(("crash", supervisor.name, child_id))
        self.errors.append(exc)

    def of(self, kind: str) -> list[tuple[str, str]]:
        return [(sup, child) for event, sup, child in self.events if event == kind]


async def eventually(predicate: Callable[[], bool]) -> None:
    """Poll until ``predicate()`` holds (virtual time; fails after 1000 virtual seconds)."""
    with trio.fail_after(30):
        while not predicate():
            await trio.sleep(0.001)


@asynccontextmanager
async def running(supervisor: Supervisor) -> AsyncIterator[trio.Nursery]:
    """Run ``supervisor`` until the block ends; the block starts once it is started."""
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        yield nursery
        nursery.cancel_scope.cancel()


def states(supervisor: Supervisor) -> dict[str, tuple[str, int]]:
    """Child id -> (state, restarts), from the supervisor's tree."""
    return {node.id: (node.state, node.restarts) for node in supervisor.tree().children}


def probes(log: list[str], *names: str, **kwargs: object) -> list[Probe]:
    return [Probe(name, log, **kwargs) for name in names]  # type: ignore[arg-type]


# -- starting --------------------------------------------------------------------------------


async def test_children_start_in_order_each_after_the_previous_is_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c", start_delay=1.0)
    sup = Supervisor("root", [a.spec(), b.spec(), c.spec()])
    assert sup.tree().state == "stopped"
    async with running(sup):
        # started() came only once the last child was ready.
        assert trio.current_time() == 3.0
        assert [a.started_at, b.started_at, c.started_at] == [[0.0], [1.0], [2.0]]
        assert sup.tree().state == "running"
        assert states(sup) == {"a": ("running", 0), "b": ("running", 0), "c": ("running", 0)}
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    assert sup.tree().state == "stopped"
    assert states(sup) == {"a": ("stopped", 0), "b": ("stopped", 0), "c": ("stopped", 0)}


def test_duplicate_child_ids_are_rejected() -> None:
    log: list[str] = []
    a1, a2 = Probe("a", log), Probe("a", log)
    with pytest.raises(ValueError, match="duplicate"):
        Supervisor("root", [a1.spec(), a2.spec()])


async def test_running_twice_at_once_is_refused(autojump_clock: trio.testing.MockClock) -> None:
    sup = Supervisor("root", [Probe("a", []).spec()])
    async with running(sup):
        with pytest.raises(RuntimeError, match="already running"):
            await sup.run()


# -- strategies -------------------------------------------------------------------------------


async def test_one_for_one_restarts_only_the_child_that_crashed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c")
    observer = Recorder()
    sup = Supervisor(
        "root",
        [a.spec(), b.spec(), c.spec()],
        strategy=Strategy.ONE_FOR_ONE,
        backoff=STEADY,
        intensity=LENIENT,
        observer=observer,
    )
    async with running(sup):
        log.clear()
        crashed_at = trio.current_time()
        b.crash()
        await eventually(lambda: b.starts == 2 and b.running)
        assert log == ["crash b", "start b"]
        assert b.started_at[-1] == crashed_at + 1.0
        assert states(sup) == {"a": ("running", 0), "b": ("running", 1), "c": ("running", 0)}
        assert observer.of("crash") == [("root", "b")]
        assert observer.of("restart") == [("root", "b")]
        assert isinstance(observer.errors[0], Boom)


async def test_one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c")
    observer = Recorder()
    sup = Supervisor(
        "root",
        [a.spec(), b.spec(), c.spec()],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=STEADY,
        intensity=LENIENT,
        observer=observer,
    )
    async with running(sup):
        log.clear()
        b.crash()
        await eventually(lambda: c.starts == 2 and c.running)
        assert log == ["crash b", "stop c", "stop a", "start a", "start b", "start c"]
        assert states(sup) == {"a": ("running", 1), "b": ("running", 1), "c": ("running", 1)}
        # The siblings were cancelled, not crashed: one crash, three restarts.
        assert observer.of("crash") == [("root", "b")]
        assert observer.of("restart") == [("root", "a"), ("root", "b"), ("root", "c")]


async def test_rest_for_one_restarts_the_child_and_those_started_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c, d = probes(log, "a", "b", "c", "d")
    sup = Supervisor(
        "root",
        [a.spec(), b.spec(), c.spec(), d.spec()],
        strategy=Strategy.REST_FOR_ONE,
        backoff=STEADY,
        intensity=LENIENT,
    )
    async with running(sup):
        log.clear()
        b.crash()
        await eventually(lambda: d.starts == 2 and d.running)
        assert log == ["crash b", "stop d", "stop c", "start b", "start c", "start d"]
        assert states(sup) == {
            "a": ("running", 0),
            "b": ("running", 1),
            "c": ("running", 1),
            "d": ("running", 1),
        }


async def test_simultaneous_crashes_under_one_for_all_restart_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c")
    observer = Recorder()
    sup = Supervisor(
        "root",
        [a.spec(), b.spec(), c.spec()],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=STEADY,
        intensity=LENIENT,
        observer=observer,
    )
    async with running(sup):
        log.clear()
        b.crash()
        c.crash()
        await eventually(lambda: c.starts == 2 and c.running)
        await trio.sleep(60)
        # Whichever crash is handled first restarts everyone; the other one is then news
        # about a run that no longer exists, so there is no second round. (trio may wake the
        # two children in either order.)
        assert sorted(log[:2]) == ["crash b", "crash c"]
        assert log[2:] == ["stop a", "start a", "start b", "start c"]
        assert states(sup) == {"a": ("running", 1), "b": ("running", 1), "c": ("running", 1)}
        assert sorted(observer.of("crash")) == [("root", "b"), ("root", "c")]


async def test_child_raising_while_being_stopped_is_logged_not_restarted_twice(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    (b,) = probes(log, "b")
    starts: list[float] = []

    async def messy(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        starts.append(trio.current_time())
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            raise Boom("cleanup failed")

    observer = Recorder()
    sup = Supervisor(
        "root",
        [ChildSpec(id="messy", start=messy), b.spec()],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=STEADY,
        intensity=LENIENT,
        observer=observer,
    )
    async with running(sup):
        b.crash()
        await eventually(lambda: b.starts == 2 and b.running)
        await trio.sleep(60)
        assert len(starts) == 2
        assert states(sup) == {"messy": ("running", 1), "b": ("running", 1)}
        assert observer.of("crash") == [("root", "b"), ("root", "messy")]
    assert "child 'messy' raised while being stopped" in caplog.text


async def test_siblings_stay_down_during_the_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b = probes(log, "a", "b")
    sup = Supervisor("root", [a.spec(), b.spec()], strategy=Strategy.ONE_FOR_ALL, backoff=STEADY)
    async with running(sup):
        b.crash()
        await eventually(lambda: states(sup)["b"][0] == "backoff")
        assert states(sup) == {"a": ("restarting", 0), "b": ("backoff", 0)}
        assert not a.running
        await eventually(lambda: a.running and b.running)


# -- restart types ----------------------------------------------------------------------------


async def test_permanent_child_that_returns_is_restarted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    (a,) = probes(log, "a", restart=Restart.PERMANENT)
    observer = Recorder()
    sup = Supervisor("root", [a.spec()], backoff=STEADY, observer=observer)
    async with running(sup):
        a.exit()
        await eventually(lambda: a.starts == 2 and a.running)
        assert states(sup) == {"a": ("running", 1)}
        assert observer.of("crash") == []
        assert observer.of("restart") == [("root", "a")]


async def test_transient_child_is_restarted_after_a_crash_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    (a,) = probes(log, "a", restart=Restart.TRANSIENT)
    sup = Supervisor("root", [a.spec()], backoff=STEADY)
    async with running(sup):
        a.crash()
        await eventually(lambda: a.starts == 2 and a.running)
        assert states(sup) == {"a": ("running", 1)}
        a.exit()
        await trio.sleep(60)
        assert a.starts == 2
        assert states(sup) == {"a": ("stopped", 1)}
    assert log == ["start a", "crash a", "start a", "exit a"]


@pytest.mark.parametrize("ending", ["crash", "exit"])
async def test_temporary_child_is_never_restarted_and_leaves_the_tree(
    autojump_clock: trio.testing.MockClock, ending: str
) -> None:
    log: list[str] = []
    a, b = probes(log, "a", "b")
    t = Probe("t", log, restart=Restart.TEMPORARY)
    sup = Supervisor("root", [a.spec(), t.spec(), b.spec()], backoff=STEADY)
    async with running(sup):
        getattr(t, ending)()
        await eventually(lambda: "t" not in states(sup))
        await trio.sleep(60)
        assert t.starts == 1
        assert list(states(sup)) == ["a", "b"]


async def test_temporary_sibling_taken_down_by_one_for_all_is_not_restarted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, b = probes(log, "a", "b")
    t = Probe("t", log, restart=Restart.TEMPORARY)
    sup = Supervisor(
        "root", [a.spec(), t.spec(), b.spec()], strategy=Strategy.ONE_FOR_ALL, backoff=STEADY
    )
    async with running(sup):
        log.clear()
        b.crash()
        await eventually(lambda: b.starts == 2 and b.running)
        assert log == ["crash b", "stop t", "stop a", "start a", "start b"]
        assert list(states(sup)) == ["a", "b"]


async def test_transient_child_that_finished_is_restarted_with_its_siblings(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # As in OTP: one-for-all restarts every child it still holds, done or not.
    log: list[str] = []
    a, b = probes(log, "a", "b")
    job = Probe("job", log, restart=Restart.TRANSIENT)
    sup = Supervisor(
        "root", [a.spec(), job.spec(), b.spec()], strategy=Strategy.ONE_FOR_ALL, backoff=STEADY
    )
    async with running(sup):
        job.exit()
        await eventually(lambda: states(sup)["job"][0] == "stopped")
        b.crash()
        await eventually(lambda: b.starts == 2 and b.running)
        assert job.starts == 2
        assert states(sup)["job"] == ("running", 1)


# -- backoff ----------------------------------------------------------------------------------


async def test_backoff_grows_exponentially_and_is_capped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times: list[float] = []
    sup = Supervisor(
        "root",
        [ChildSpec(id="loop", start=crash_loop(times))],
        backoff=Backoff(initial=1.0, maximum=4.0, multiplier=2.0, jitter=0.0),
        intensity=LENIENT,
    )
    with trio.move_on_after(20):
        await sup.run()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert times[0] == 0.0
    assert gaps == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


async def test_backoff_starts_over_once_old_restarts_leave_the_window(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times: list[float] = []
    sup = Supervisor(
        "root",
        # Crashes 10 s after each start: every restart finds the window empty.
        [ChildSpec(id="loop", start=crash_loop(times, after=10.0))],
        backoff=Backoff(initial=1.0, maximum=100.0, multiplier=10.0, jitter=0.0),
        intensity=Intensity(max_restarts=1, period=5.0),
    )
    with trio.move_on_after(40):
        await sup.run()
    assert times == [0.0, 11.0, 22.0, 33.0]


async def test_backoff_jitter_is_bounded_and_reproducible_with_a_seed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backoff = Backoff(initial=1.0, maximum=100.0, multiplier=2.0, jitter=0.5)
    times: list[float] = []
    sup = Supervisor(
        "root",
        [ChildSpec(id="loop", start=crash_loop(times))],
        backoff=backoff,
        intensity=LENIENT,
        random=Random(1234),
    )
    with trio.move_on_after(40):
        await sup.run()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) >= 4
    twin = Random(1234)
    assert gaps == pytest.approx([backoff.delay(n, twin) for n in range(len(gaps))])
    for n, gap in enumerate(gaps):
        assert 0.5 * 2.0**n <= gap <= 1.5 * 2.0**n
    assert gaps != pytest.approx([2.0**n for n in range(len(gaps))])


# -- intensity and escalation --------------------------------------------------------------


async def test_exceeding_the_intensity_stops_everything_and_escalates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, c = probes(log, "a", "c")
    times: list[float] = []
    observer = Recorder()
    sup = Supervisor(
        "workers",
        [a.spec(), ChildSpec(id="loop", start=crash_loop(times)), c.spec()],
        backoff=STEADY,
        intensity=Intensity(max_restarts=2, period=100.0),
        observer=observer,
    )
    with trio.fail_after(100), pytest.raises(SupervisorEscalation) as info:
        await sup.run()
    # Two restarts are allowed; the third exit gives up, right away.
    assert times == [0.0, 1.0, 2.0]
    assert trio.current_time() == 2.0
    assert log == ["start a", "start c", "stop c", "stop a"]
    exc = info.value
    assert exc.supervisor == "workers"
    assert isinstance(exc.__cause__, Boom)
    assert exc.cause is exc.__cause__
    assert any("'loop'" in note for note in exc.__notes__)
    assert observer.of("escalation") == [("workers", "loop")]
    assert sup.tree().state == "failed"
    assert states(sup) == {"a": ("stopped", 0), "loop": ("failed", 2), "c": ("stopped", 0)}


async def test_parent_restarts_a_child_supervisor_that_escalated(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    db, x, y = probes(log, "db", "x", "y")
    inner = Supervisor(
        "inner",
        [x.spec(), y.spec()],
        backoff=STEADY,
        intensity=Intensity(max_restarts=1, period=100.0),
    )
    observer = Recorder()
    root = Supervisor(
        "root",
        [db.spec(), inner.as_child()],
        backoff=STEADY,
        intensity=LENIENT,
        observer=observer,
    )
    async with running(root):
        x.crash()
        await eventually(lambda: x.starts == 2 and x.running)
        log.clear()
        x.crash()  # second restart in the window: inner gives up
        await eventually(lambda: x.starts == 3 and y.starts == 2 and y.running)
        assert log == ["crash x", "stop y", "start x", "start y"]
        assert db.starts == 1
        assert observer.of("crash") == [("root", "inner")]
        assert isinstance(observer.errors[0], SupervisorEscalation)
        assert observer.of("restart") == [("root", "inner")]
        assert states(root) == {"db": ("running", 0), "inner": ("running", 1)}
        # A restarted supervisor starts afresh: its own counts are back to zero.
        assert states(inner) == {"x": ("running", 0), "y": ("running", 0)}


async def test_startup_failures_can_escalate_before_started(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    b = Probe("b", log, fail_starts=1000)
    sup = Supervisor(
        "root",
        [a.spec(), b.spec()],
        backoff=STEADY,
        intensity=Intensity(max_restarts=2, period=100.0),
    )
    async with trio.open_nursery() as nursery:
        with trio.fail_after(100), pytest.raises(SupervisorEscalation):
            await nursery.start(sup.run)
    assert b.starts == 3
    assert log[-1] == "stop a"


# -- crashes during startup -------------------------------------------------------------------


async def test_crash_during_startup_is_retried_before_later_children_start(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, c = probes(log, "a", "c")
    b = Probe("b", log, fail_starts=2)
    observer = Recorder()
    sup = Supervisor(
        "root",
        [a.spec(), b.spec(), c.spec()],
        backoff=Backoff(initial=1.0, maximum=10.0, multiplier=2.0, jitter=0.0),
        intensity=LENIENT,
        observer=observer,
    )
    async with running(sup):
        assert trio.current_time() == 3.0
        assert b.started_at == [0.0, 1.0, 3.0]
        assert c.started_at == [3.0]
        assert log == ["start a", "start b", "fail b", "start b", "fail b", "start b", "start c"]
        assert observer.of("crash") == [("root", "b"), ("root", "b")]
        assert states(sup) == {"a": ("running", 0), "b": ("running", 2), "c": ("running", 0)}


async def test_crash_during_startup_under_one_for_all_restarts_earlier_children(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, c = probes(log, "a", "c")
    b = Probe("b", log, fail_starts=1)
    sup = Supervisor(
        "root",
        [a.spec(), b.spec(), c.spec()],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=STEADY,
        intensity=LENIENT,
    )
    async with running(sup):
        assert log == ["start a", "start b", "fail b", "stop a", "start a", "start b", "start c"]
        # c was never started before: its first start is no restart.
        assert states(sup) == {"a": ("running", 1), "b": ("running", 1), "c": ("running", 0)}


async def test_temporary_child_failing_to_start_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, c = probes(log, "a", "c")
    t = Probe("t", log, restart=Restart.TEMPORARY, fail_starts=1)
    sup = Supervisor("root", [a.spec(), t.spec(), c.spec()], backoff=STEADY)
    async with running(sup):
        assert trio.current_time() == 0.0
        assert list(states(sup)) == ["a", "c"]
        assert log == ["start a", "start t", "fail t", "start c"]


# -- cancellation and non-Exception errors ---------------------------------------------------


async def test_cancelling_stops_children_in_reverse_order_and_is_no_crash(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    a, b, c = probes(log, "a", "b", "c")
    observer = Recorder()
    sup = Supervisor("root", [a.spec(), b.spec(), c.spec()], observer=observer)
    with trio.move_on_after(10) as scope:
        await sup.run()
    assert scope.cancelled_caught
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    assert observer.events == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_cancelling_during_backoff(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []
    a, b = probes(log, "a", "b")
    sup = Supervisor("root", [a.spec(), b.spec()], backoff=Backoff(initial=100.0, maximum=100.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        b.crash()
        await eventually(lambda: states(sup)["b"][0] == "backoff")
        nursery.cancel_scope.cancel()
    assert trio.current_time() < 100.0
    assert log == ["start a", "start b", "crash b", "stop a"]
    assert states(sup) == {"a": ("stopped", 0), "b": ("stopped", 0)}


async def test_cancelling_while_a_child_is_starting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    slow = Probe("slow", log, start_delay=math.inf)
    sup = Supervisor("root", [a.spec(), slow.spec()])
    with trio.move_on_after(5):
        await sup.run()
    assert trio.current_time() == 5.0
    assert log == ["start a", "start slow", "stop slow", "stop a"]


async def test_child_supervisor_stops_its_children_when_the_parent_is_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, x, y, b = probes(log, "a", "x", "y", "b")
    inner = Supervisor("inner", [x.spec(), y.spec()])
    root = Supervisor("root", [a.spec(), inner.as_child(), b.spec()])
    with trio.move_on_after(10):
        await root.run()
    assert log == [
        "start a", "start x", "start y", "start b",
        "stop b", "stop y", "stop x", "stop a",
    ]  # fmt: skip


@pytest.mark.parametrize("error", [Fatal, KeyboardInterrupt])
async def test_base_exception_from_a_running_child_is_not_swallowed(
    autojump_clock: trio.testing.MockClock, error: type[BaseException]
) -> None:
    log: list[str] = []
    a, c = probes(log, "a", "c")
    b = Probe("b", log, fail_with=error)
    sup = Supervisor("root", [a.spec(), b.spec(), c.spec()], backoff=STEADY)
    with trio.fail_after(100), pytest.raises(BaseExceptionGroup) as info:
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            b.fatal()
    assert info.group_contains(error)
    assert b.starts == 1
    assert log[-3:] == ["fatal b", "stop c", "stop a"]


async def test_base_exception_during_startup_is_not_swallowed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a = Probe("a", log)
    b = Probe("b", log, fail_starts=1, fail_with=Fatal)
    sup = Supervisor("root", [a.spec(), b.spec()], backoff=STEADY)
    with trio.fail_after(100), pytest.raises(BaseExceptionGroup) as info:
        await sup.run()
    assert info.group_contains(Fatal)
    assert b.starts == 1
    assert log == ["start a", "start b", "fail b", "stop a"]


# -- logging and observers ---------------------------------------------------------------------


async def test_crashes_are_logged_with_their_traceback(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pytake.supervisor")
    (a,) = probes([], "a")
    sup = Supervisor("root", [a.spec()], backoff=STEADY)
    async with running(sup):
        a.crash()
        await eventually(lambda: a.starts == 2 and a.running)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    record = errors[0]
    assert record.name == "pytake.supervisor"
    assert "'a'" in record.getMessage() and "crashed" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], Boom)
    assert "Traceback" in caplog.text
    assert any("restarting" in r.getMessage() for r in caplog.records)


async def test_a_failing_observer_does_not_stop_supervision(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Recorder):
        def on_crash(self, supervisor: Supervisor, child_id: str, exc: BaseException) -> None:
            raise RuntimeError("metrics are down")

    (a,) = probes([], "a")
    sup = Supervisor("root", [a.spec()], backoff=STEADY, observer=Broken())
    async with running(sup):
        a.crash()
        await eventually(lambda: a.starts == 2 and a.running)
    assert "observer failed" in caplog.text


# -- the tree ------------------------------------------------------------------------------------


async def test_nested_tree_rendering(autojump_clock: trio.testing.MockClock) -> None:
    log: list[str] = []
    db, runtime = probes(log, "db", "runtime")
    actors = TreeNode(
        kind="actor-kind",
        id="conversation",
        state="running",
        mailbox_depth=3,
        children=[TreeNode(kind="actor", id="5511999990000", state="idle", mailbox_depth=0)],
        truncated=41,
    )
    inner = Supervisor(
        "actors",
        [
            ChildSpec(
                id="conversation", start=runtime.run, kind="actor-kind", describe=lambda: actors
            )
        ],
        backoff=STEADY,
    )
    root = Supervisor("root", [db.spec(), inner.as_child()], backoff=STEADY)
    async with running(root):
        assert root.tree() == TreeNode(
            kind="supervisor",
            id="root",
            state="running",
            children=[
                TreeNode(kind="service", id="db", state="running"),
                TreeNode(
                    kind="supervisor",
                    id="actors",
                    state="running",
                    children=[actors],
                ),
            ],
        )
        runtime.crash()
        # While the runtime is down, its node says so, whatever its own describe() says.
        await eventually(lambda: states(inner)["conversation"][0] == "backoff")
        node = root.tree().children[1].children[0]
        assert (node.state, node.restarts, node.truncated) == ("backoff", 0, 41)
        await eventually(lambda: runtime.running)
        node = root.tree().children[1].children[0]
        assert (node.state, node.restarts, node.mailbox_depth) == ("running", 1, 3)
        assert node.children == actors.children
    # Rendering never changed the node the child described.
    assert actors.restarts == 0


async def test_broken_describe_falls_back_to_the_plain_node(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    (a,) = probes([], "a")

    def broken() -> TreeNode:
        raise LookupError("gone")

    sup = Supervisor("root", [ChildSpec(id="a", start=a.run, kind="actor-kind", describe=broken)])
    async with running(sup):
        assert sup.tree().children == [TreeNode(kind="actor-kind", id="a", state="running")]
    assert "describing child 'a' failed" in caplog.text


# -- dynamic children ----------------------------------------------------------------------------


async def test_start_and_terminate_children_at_runtime(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, d = probes(log, "a", "d")
    sup = Supervisor("root", [a.spec()], backoff=STEADY)
    async with running(sup):
        await sup.start_child(d.spec())
        assert d.running
        assert list(states(sup)) == ["a", "d"]
        # An added child is supervised like the others.
        d.crash()
        await eventually(lambda: d.starts == 2 and d.running)
        assert states(sup)["d"] == ("running", 1)

        await sup.terminate_child("a")
        assert not a.running
        assert list(states(sup)) == ["d"]
        await trio.sleep(60)
        assert a.starts == 1

        with pytest.raises(ValueError, match="already has a child 'd'"):
            await sup.start_child(Probe("d", log).spec())
        with pytest.raises(KeyError):
            await sup.terminate_child("a")
    assert log == ["start a", "start d", "crash d", "start d", "stop a", "stop d"]


async def test_dynamic_children_are_forgotten_when_the_supervisor_restarts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, d = probes(log, "a", "d")
    sup = Supervisor("root", [a.spec()])
    async with running(sup):
        await sup.start_child(d.spec())
    async with running(sup):
        assert list(states(sup)) == ["a"]


async def test_dynamic_requests_need_a_running_supervisor() -> None:
    sup = Supervisor("root", [])
    with pytest.raises(RuntimeError, match="not running"):
        await sup.start_child(Probe("a", []).spec())
    with pytest.raises(RuntimeError, match="not running"):
        await sup.terminate_child("a")


async def test_start_child_waits_for_a_restart_in_progress(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    a, d = probes(log, "a", "d")
    sup = Supervisor("root", [a.spec()], backoff=Backoff(initial=5.0, maximum=5.0, jitter=0.0))
    async with running(sup):
        a.crash()
        await eventually(lambda: states(sup)["a"][0] == "backoff")
        await sup.start_child(d.spec())
        assert log[-2:] == ["start a", "start d"]

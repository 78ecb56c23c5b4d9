"""The supervisor: runs children, restarts them by policy, escalates when that fails.

How it is put together (read this before changing anything here):

- One nursery per supervisor; each child incarnation (a ``_Run``) is one task in it, wrapped
  by ``_run_child`` in a ``CancelScope`` of its own.
- Exactly one task, the one running ``Supervisor.run``, changes the list of children and
  their states. Child tasks only report ("I exited") through an unbounded memory channel;
  ``start_child``/``terminate_child`` post requests to the same channel. So exits, restarts
  and dynamic requests are handled one at a time, in arrival order, and a restart sequence
  (stop siblings, back off, start in order) is never interleaved with another.
- A child's exit is news only for its current incarnation: reports from a run that the
  supervisor itself stopped, or that has since been replaced, are ignored.
- Once started, a child's scope is shielded, so that cancelling the supervisor does not hit
  all children at once: the supervisor's task catches the cancellation and stops children
  one by one in reverse start order, as OTP does. Before ``started()`` a child's scope is
  not shielded, so cancelling a supervisor that waits on a slow start never hangs.
- Only ``Exception`` counts as a crash. ``trio.Cancelled``, ``KeyboardInterrupt`` and other
  ``BaseException``s propagate untouched through the nursery.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from random import Random
from typing import Protocol

import attrs
import trio

from ..errors import SupervisorEscalation
from ._backoff import Backoff
from ._intensity import Intensity, RestartWindow
from ._spec import ChildSpec, Restart, Strategy
from ._tree import TreeNode

logger = logging.getLogger("pytake.supervisor")

# Frozen, so every supervisor may share them.
_DEFAULT_INTENSITY = Intensity()
_DEFAULT_BACKOFF = Backoff()


class ChildState(enum.Enum):
    """The state of a child (or of a supervisor itself) as shown in the tree.

    - ``STARTING``: its ``start`` was called (or is about to be) and has not signalled
      ``started()`` yet.
    - ``RUNNING``: it signalled ``started()`` and has not exited.
    - ``BACKOFF``: it exited and waits for its restart delay.
    - ``RESTARTING``: it was stopped because a sibling is being restarted (one-for-all,
      rest-for-one) and waits to be started again.
    - ``STOPPED``: it is not running and will not be restarted (a transient child that
      finished, or every child once the supervisor has stopped).
    - ``FAILED``: its exit made the supervisor exceed its intensity and give up.
    """

    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    RESTARTING = "restarting"
    STOPPED = "stopped"
    FAILED = "failed"


class SupervisorObserver(Protocol):
    """Hooks for metrics; every call is synchronous and made from the supervisor's tasks.

    - ``on_crash``: a child raised (before or after ``started()``).
    - ``on_restart``: a child is about to be started again; called once per restarted child,
      siblings included, after the backoff delay.
    - ``on_escalation``: the supervisor gave up; ``child_id`` is the child whose exit
      exceeded the intensity.

    An observer that raises is logged and otherwise ignored: metrics never stop supervision.
    """

    def on_restart(self, supervisor: Supervisor, child_id: str) -> None: ...

    def on_escalation(self, supervisor: Supervisor, child_id: str) -> None: ...

    def on_crash(self, supervisor: Supervisor, child_id: str, exc: BaseException) -> None: ...


@attrs.define(eq=False)
class _Run:
    """One incarnation of a child, from the call to ``start`` until the task ends."""

    scope: trio.CancelScope = attrs.Factory(trio.CancelScope)
    done: trio.Event = attrs.Factory(trio.Event)
    ready: bool = False
    # Set before the supervisor cancels the run on purpose: its exit is then expected.
    stopping: bool = False
    error: Exception | None = None


@attrs.define(eq=False)
class _Child:
    spec: ChildSpec
    state: ChildState = ChildState.STARTING
    restarts: int = 0
    run: _Run | None = None


@attrs.define(eq=False)
class _Exited:
    child: _Child
    run: _Run


@attrs.define(eq=False)
class _Request:
    done: trio.Event = attrs.Factory(trio.Event)
    error: Exception | None = None


@attrs.define(eq=False, kw_only=True)
class _StartChild(_Request):
    spec: ChildSpec


@attrs.define(eq=False, kw_only=True)
class _TerminateChild(_Request):
    child_id: str


class _Escalate(Exception):
    """Internal: the intensity is exceeded. ``run`` turns it into ``SupervisorEscalation``."""

    def __init__(self, child: _Child, error: Exception | None) -> None:
        super().__init__(child.spec.id)
        self.child = child
        self.error = error


class _ReadySignal:
    """The ``task_status`` a child receives: records readiness, then forwards it to trio."""

    def __init__(self, child: _Child, run: _Run, status: trio.TaskStatus[None]) -> None:
        self._child = child
        self._run = run
        self._status = status

    def started(self, value: object = None) -> None:
        # The value is accepted for compatibility with any trio-style start function, but a
        # supervisor has no use for it.
        if self._run.ready:
            raise RuntimeError("called 'started' twice on the same task status")
        self._run.ready = True
        self._child.state = ChildState.RUNNING
        self._status.started()


class Supervisor:
    """Runs children and keeps them running, OTP style.

    ``run()`` starts the children in order and signals ``started()`` once all of them are,
    then supervises until cancelled. When a child exits, its ``Restart`` type decides whether
    it comes back and the ``strategy`` which siblings are restarted with it: those are stopped
    first in reverse start order, then, after the ``backoff`` delay, started again in order.
    The delay's attempt number is the number of restarts already in the ``intensity`` window.

    More than ``intensity.max_restarts`` restarts within ``intensity.period`` seconds make the
    supervisor give up: it stops all its children (reverse start order) and raises
    ``SupervisorEscalation`` from the last child error (``None`` if that child returned), with
    a note naming the child. A parent supervisor treats this as a crash of its child.

    Cancelling ``run()`` stops the children one at a time in reverse start order, so a child
    may rely on the children started before it while it shuts down. A child raising an
    ``Exception`` is a crash: it is logged with its traceback on the ``pytake.supervisor``
    logger and handled by policy. Other ``BaseException``s (``KeyboardInterrupt``...) are not
    handled: they stop every child and propagate out of ``run()`` in an exception group.

    Each ``run()`` starts from the children given here: children added with ``start_child``
    and removed ones are forgotten when the supervisor itself is restarted. ``random`` (a
    fresh ``Random`` by default) drives the backoff jitter; seed it for reproducible delays.
    The defaults allow 3 restarts in 5 s, waiting 0.1 s doubling up to 10 s, +/- 10 %.
    """

    def __init__(
        self,
        name: str,
        children: Iterable[ChildSpec],
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        intensity: Intensity = _DEFAULT_INTENSITY,
        backoff: Backoff = _DEFAULT_BACKOFF,
        random: Random | None = None,
        observer: SupervisorObserver | None = None,
    ) -> None:
        if not name:
            raise ValueError("a supervisor needs a name")
        specs = tuple(children)
        _check_unique([spec.id for spec in specs], name)
        self._name = name
        self._specs = specs
        self._strategy = strategy
        self._intensity = intensity
        self._backoff = backoff
        self._random = random if random is not None else Random()
        self._observer = observer
        self._state = ChildState.STOPPED
        self._children = [_Child(spec, state=ChildState.STOPPED) for spec in specs]
        self._window = RestartWindow(intensity)
        self._nursery: trio.Nursery | None = None
        self._inbox: trio.MemorySendChannel[_Exited | _Request] | None = None
        self._outstanding: set[_Request] = set()

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<Supervisor {self._name!r} {self._state.value}>"

    # -- public API ---------------------------------------------------------------------

    def as_child(self, id: str | None = None, restart: Restart = Restart.PERMANENT) -> ChildSpec:
        """A spec that runs this supervisor under another one (id defaults to its name)."""
        return ChildSpec(
            id=id if id is not None else self._name,
            start=self.run,
            restart=restart,
            kind="supervisor",
            describe=self.tree,
        )

    def tree(self) -> TreeNode:
        """The live tree: this supervisor and its children, in start order.

        ``restarts`` on a child node counts how many times this supervisor started it again
        (during the current ``run()``). Removed children (temporary ones that exited,
        terminated ones) are not shown.
        """
        return TreeNode(
            kind="supervisor",
            id=self._name,
            state=self._state.value,
            children=[self._render(child) for child in self._children],
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the children, signal ``started()``, and supervise them until cancelled.

        Never returns normally. Raises ``SupervisorEscalation`` when the intensity is
        exceeded (possibly before ``started()``, if children keep failing to start), and
        ``RuntimeError`` if this supervisor is already running.
        """
        if self._inbox is not None:
            raise RuntimeError(f"supervisor {self._name!r} is already running")
        send, receive = trio.open_memory_channel[_Exited | _Request](math.inf)
        self._inbox = send
        self._state = ChildState.STARTING
        self._children = [_Child(spec) for spec in self._specs]
        self._window = RestartWindow(self._intensity)
        escalation: _Escalate | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    await self._start_in_order(self._children)
                    self._state = ChildState.RUNNING
                    task_status.started()
                    await self._serve(receive)
                except _Escalate as exc:
                    # Handled after the nursery: raising it in here would wrap it in a group.
                    escalation = exc
                finally:
                    # Shielded: this is how the children get stopped when we are cancelled.
                    with trio.CancelScope(shield=True):
                        await self._stop_all()
        finally:
            self._nursery = None
            self._inbox = None
            send.close()
            receive.close()
            self._fail_outstanding()
            self._state = ChildState.FAILED if escalation is not None else ChildState.STOPPED
        if escalation is not None:
            self._escalate(escalation)

    async def start_child(self, spec: ChildSpec) -> None:
        """Add a child after the others and start it; return once the start is dealt with.

        That is normally once the child called ``started()``. A failure to start is handled
        like any crash, before this returns: a permanent child is retried under backoff, a
        temporary one is dropped, and one that keeps failing makes the supervisor escalate.
        Raises ``ValueError`` if a child with that id exists, ``RuntimeError`` if the
        supervisor is not running or stops before the child is started. The request is
        carried out even if the caller is cancelled while waiting.

        Requests are carried out by the supervisor's own task, one at a time and after any
        restart in progress; so a child of this supervisor must not await this (nor
        ``terminate_child``) before it has called ``started()``: that would deadlock.
        """
        await self._call(_StartChild(spec=spec))

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child (as on shutdown: it is cancelled) and remove it from the supervisor.

        Raises ``KeyError`` for an unknown id, ``RuntimeError`` if the supervisor is not
        running. Like ``start_child``, it waits for any restart in progress to finish first.
        """
        await self._call(_TerminateChild(child_id=child_id))

    # -- the supervisor's task ------------------------------------------------------------

    async def _serve(self, receive: trio.MemoryReceiveChannel[_Exited | _Request]) -> None:
        async for event in receive:
            if isinstance(event, _Exited):
                child, run = event.child, event.run
                if child.run is run and child in self._children:
                    await self._start_in_order(await self._recover(child, run.error))
            elif isinstance(event, _StartChild):
                await self._do_start_child(event)
            elif isinstance(event, _TerminateChild):
                await self._do_terminate_child(event)

    async def _do_start_child(self, request: _StartChild) -> None:
        if self._find(request.spec.id) is not None:
            request.error = ValueError(
                f"supervisor {self._name!r} already has a child {request.spec.id!r}"
            )
        else:
            child = _Child(request.spec)
            self._children.append(child)
            await self._start_in_order([child])
        self._finish(request)

    async def _do_terminate_child(self, request: _TerminateChild) -> None:
        child = self._find(request.child_id)
        if child is None:
            request.error = KeyError(request.child_id)
        else:
            await self._stop(child)
            self._children.remove(child)
            logger.info("supervisor %r: terminated child %r", self._name, request.child_id)
        self._finish(request)

    async def _start_in_order(self, children: Sequence[_Child]) -> None:
        """Start ``children`` one after the other, recovering from failures to start.

        A failure to start is handled like any exit, and may add children to start (its
        siblings under one-for-all, rest-for-one), so the work list is re-merged in start
        order after each one.
        """
        pending = list(children)
        while pending:
            child = pending.pop(0)
            if child not in self._children:
                continue  # taken down for good by an earlier failure in this sequence
            if await self._start(child):
                continue
            assert child.run is not None
            again = await self._recover(child, child.run.error)
            wanted = {*pending, *again}
            pending = [c for c in self._children if c in wanted]

    async def _start(self, child: _Child) -> bool:
        """Start one incarnation of ``child``; return whether it reached ``started()``."""
        assert self._nursery is not None
        run = _Run()
        child.run = run
        child.state = ChildState.STARTING
        await self._nursery.start(self._run_child, child, run)
        if run.ready:
            # From now on only this supervisor stops the child, in order (see module doc).
            run.scope.shield = True
        return run.ready

    async def _recover(self, child: _Child, error: Exception | None) -> list[_Child]:
        """Apply the restart type and strategy to an exited ``child``.

        Returns the children to start again, in start order (empty if none). Stops the
        affected siblings and sleeps the backoff delay first. Raises ``_Escalate`` when the
        intensity is exceeded.
        """
        spec = child.spec
        if not spec.restart.restarts_after(error):
            if spec.restart is Restart.TEMPORARY:
                self._children.remove(child)
            else:
                child.state = ChildState.STOPPED
            logger.info(
                "supervisor %r: %s child %r is not restarted",
                self._name,
                spec.restart.value,
                spec.id,
            )
            return []
        now = trio.current_time()
        attempt = self._window.count(now)
        if self._window.record(now):
            child.state = ChildState.FAILED
            raise _Escalate(child, error)
        affected = self._strategy.affected(self._children, self._children.index(child))
        for sibling in reversed(affected):
            if sibling is child or sibling.run is None:
                # A sibling never started in this run (the failure came during the initial
                # start sequence) has nothing to stop and will simply be started.
                continue
            await self._stop(sibling)
            if sibling.spec.restart is Restart.TEMPORARY:
                self._children.remove(sibling)
            else:
                sibling.state = ChildState.RESTARTING
        affected = [c for c in affected if c in self._children]
        child.state = ChildState.BACKOFF
        delay = self._backoff.delay(attempt, self._random)
        logger.warning(
            "supervisor %r: restarting %s in %.3gs (%s, attempt %d)",
            self._name,
            ", ".join(repr(c.spec.id) for c in affected),
            delay,
            "crashed" if error is not None else "exited",
            attempt,
        )
        await trio.sleep(delay)
        for restarted in affected:
            self._restarted(restarted)
        return affected

    def _restarted(self, child: _Child) -> None:
        if child.run is None:
            return  # its first start, not a restart
        child.restarts += 1
        self._observe(lambda o: o.on_restart(self, child.spec.id))

    async def _stop(self, child: _Child) -> None:
        """Cancel the child's current run, if any, and wait until its task has ended."""
        run = child.run
        if run is None or run.done.is_set():
            return
        run.stopping = True
        run.scope.cancel()
        await run.done.wait()

    async def _stop_all(self) -> None:
        for child in reversed(self._children):
            await self._stop(child)
            if child.state is not ChildState.FAILED:
                child.state = ChildState.STOPPED

    def _escalate(self, escalation: _Escalate) -> None:
        child_id = escalation.child.spec.id
        intensity = self._intensity
        logger.error(
            "supervisor %r: more than %d restarts in %gs (last exit: child %r); giving up",
            self._name,
            intensity.max_restarts,
            intensity.period,
            child_id,
        )
        self._observe(lambda o: o.on_escalation(self, child_id))
        exc = SupervisorEscalation(
            self._name, intensity.max_restarts, intensity.period, cause=escalation.error
        )
        exc.add_note(f"last exit: child {child_id!r} of supervisor {self._name!r}")
        raise exc from escalation.error

    # -- the children's tasks -------------------------------------------------------------

    async def _run_child(
        self, child: _Child, run: _Run, *, task_status: trio.TaskStatus[None]
    ) -> None:
        try:
            try:
                with run.scope:
                    await child.spec.start(task_status=_ReadySignal(child, run, task_status))
            except Exception as exc:
                run.error = exc
                self._crashed(child, run, exc)
            if not run.ready:
                # nursery.start() requires started(); the supervisor reads the outcome in
                # `run` instead of an exception, so errors and normal returns look the same.
                task_status.started()
            elif not run.stopping:
                assert self._inbox is not None
                self._inbox.send_nowait(_Exited(child, run))
        finally:
            run.done.set()

    def _crashed(self, child: _Child, run: _Run, exc: Exception) -> None:
        if not run.ready:
            what = "failed to start"
        elif run.stopping:
            what = "raised while being stopped"
        else:
            what = "crashed"
        logger.error("supervisor %r: child %r %s", self._name, child.spec.id, what, exc_info=exc)
        self._observe(lambda o: o.on_crash(self, child.spec.id, exc))

    # -- helpers --------------------------------------------------------------------------

    async def _call(self, request: _Request) -> None:
        if self._inbox is None:
            raise RuntimeError(f"supervisor {self._name!r} is not running")
        self._outstanding.add(request)
        self._inbox.send_nowait(request)
        await request.done.wait()
        if request.error is not None:
            raise request.error

    def _finish(self, request: _Request) -> None:
        self._outstanding.discard(request)
        request.done.set()

    def _fail_outstanding(self) -> None:
        for request in list(self._outstanding):
            request.error = RuntimeError(
                f"supervisor {self._name!r} stopped before carrying out the request"
            )
            self._finish(request)

    def _find(self, child_id: str) -> _Child | None:
        return next((c for c in self._children if c.spec.id == child_id), None)

    def _observe(self, call: Callable[[SupervisorObserver], None]) -> None:
        if self._observer is None:
            return
        try:
            call(self._observer)
        except Exception:
            logger.exception("supervisor %r: observer failed", self._name)

    def _render(self, child: _Child) -> TreeNode:
        spec = child.spec
        node = TreeNode(kind=spec.kind, id=spec.id, state=child.state.value)
        if spec.describe is not None:
            try:
                described = spec.describe()
            except Exception:
                # The tree is for operators; one broken renderer must not hide the rest.
                logger.exception("supervisor %r: describing child %r failed", self._name, spec.id)
            else:
                node = attrs.evolve(described, kind=spec.kind, id=spec.id)
                if child.state is not ChildState.RUNNING:
                    node.state = child.state.value
        node.restarts = child.restarts
        return node


def _check_unique(ids: Sequence[str], supervisor: str) -> None:
    seen: set[str] = set()
    for child_id in ids:
        if child_id in seen:
            raise ValueError(f"supervisor {supervisor!r}: duplicate child id {child_id!r}")
        seen.add(child_id)

"""Group-commit transactions in a process of their own.

A customer message costs several group-committed transactions, and most of their CPU is
Python (SQLAlchemy's session, psycopg's statement handling) that holds the server's GIL:
about a third of a busy server's time, during which the event loop (webhooks, actors, agent
sockets) waits for the interpreter.  `WriterProcess` runs those transactions in one child
process instead, on another core: the server only pickles a batch, writes it to a pipe, and
reads the pickled results back.

The child has one *channel* per group committer: a pair of pipes and a thread with its own
database connection, so the writers' transactions still run side by side, as they did in
worker threads.  On a channel, the server writes length-prefixed pickled batches of
``(write kind, parameters)`` pairs; the child runs each in one transaction (`apply_writes`)
and answers ``(True, results)`` or ``(False, exception)``, one batch at a time.  The child
reads its settings (database URL, log level, channels) on stdin, then waits for stdin to
close: the server closes it to stop the child, and it closes by itself when the server dies.
It ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group, and so does the
SIGTERM of systemd's default ``KillMode`` or a container stop; the server decides when to
stop, so that a transaction under way is finished and answered).  Closing stdin stops it.

Write kinds and their parameters cross the pipe by pickle, so they must be picklable by
reference to modules the child can import (module-level classes; no locks, trio objects,
database handles, or classes of a script's ``__main__``).  A kind whose parameters carry
something only its after-commit hook needs defines ``writer_params(params)``, which returns
what ``apply_many`` needs.  A child that dies fails the batches under way with
`StorageUnavailable` (as a lost database connection would), and the next batch starts a new
child.  Only PostgreSQL is supported: a SQLite database has one writer at a time anyway, and
the embedded default stays one process.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, Final, TypeVar, cast

import trio
from sqlalchemy.engine import URL

from pytake.errors import StorageUnavailable

__all__ = ["WriterProcess"]

log = logging.getLogger("pytake.store")

_HEADER: Final = struct.Struct("!I")


def _framed(payload: bytes) -> bytes:
    """``payload`` as a frame on a pipe: its length, then itself."""
    return _HEADER.pack(len(payload)) + payload

#: Seconds the child is given to exit after its stdin is closed, before it is killed.
EXIT_GRACE_S: Final = 5.0
#: The child's thread switch interval (seconds; Python's default is 0.005).
SWITCH_INTERVAL_S: Final = 0.0005
#: Bytes asked of a reply pipe per read.
_READ_SIZE: Final = 1 << 20

T = TypeVar("T")
Executor = Callable[[Sequence[tuple[Any, Any]]], Any]


class _Pipes:
    """The server's ends of one channel of one child."""

    def __init__(self, requests: trio.lowlevel.FdStream, replies: trio.lowlevel.FdStream) -> None:
        self.requests = requests
        self.replies = replies
        self.buffer = bytearray()

    async def call(self, payload: bytes) -> bytes:
        await self.requests.send_all(_framed(payload))
        buffer = self.buffer
        while True:
            if len(buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(buffer)
                end = _HEADER.size + size
                if len(buffer) >= end:
                    frame = bytes(buffer[_HEADER.size:end])
                    del buffer[:end]
                    return frame
            chunk = await self.replies.receive_some(_READ_SIZE)
            if not chunk:
                raise EOFError("it closed the channel")
            buffer += chunk

    async def aclose(self) -> None:
        await self.requests.aclose()
        await self.replies.aclose()


class _Child:
    def __init__(self, process: trio.Process, pipes: dict[str, _Pipes]) -> None:
        self.process = process
        self.pipes = pipes
        self.broken = False

    @property
    def alive(self) -> bool:
        return not self.broken and self.process.poll() is None


class WriterProcess:
    """One child process running group-commit batches for the ``channels`` named.

    ``executor(name)`` is the batch executor of one channel, for a `GroupCommitter`: called
    with ``(kind, params)`` pairs, it returns one result per pair.  A channel runs one batch
    at a time; channels run side by side.  The child starts on first use and again after it
    fails; `aclose` stops it."""

    def __init__(
        self, url: URL, *, channels: Sequence[str], readers: int = 0, log_level: str = "info"
    ) -> None:
        if not channels or len(set(channels)) != len(channels):
            raise ValueError("channels must be distinct names, at least one")
        self._readers = tuple(f"reader-{i}" for i in range(readers))
        if set(self._readers) & set(channels):
            raise ValueError("reader-N channel names are taken by the readers")
        self._next_reader = 0
        self.channels = tuple(channels) + self._readers
        self._settings = {
            "url": url.render_as_string(hide_password=False),
            "log_level": log_level,
        }
        self._child: _Child | None = None
        self._starting = trio.Lock()
        self._locks = {name: trio.Lock() for name in self.channels}
        self._closed = False
        #: Children started so far (1 + restarts), for tests and metrics.
        self.started = 0

    @property
    def pid(self) -> int | None:
        """The running child's process id, if there is one."""
        child = self._child
        return child.process.pid if child is not None and child.alive else None

    async def start(self) -> None:
        """Start the child now, and wait until it answers on every channel (it takes a second
        or so to import its modules: better before the server says it is ready than in the
        first acknowledgements)."""
        async with trio.open_nursery() as nursery:
            for name in self.channels:
                nursery.start_soon(self.apply, name, [])

    def executor(self, name: str) -> Executor:
        if name not in self._locks:
            raise KeyError(f"no channel {name!r} (channels: {', '.join(self.channels)})")
        return functools.partial(self.apply, name)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in a transaction on a free reader channel (or the next one,
        if all are busy); ``fn`` must be a module-level function (it is pickled by name)."""
        if not self._readers:
            raise RuntimeError("this writer process has no reader channels")
        name = next((n for n in self._readers if not self._locks[n].locked()), None)
        if name is None:
            name = self._readers[self._next_reader % len(self._readers)]
            self._next_reader += 1
        (result,) = await self.apply(name, [(_Call(fn), args)])
        return cast(T, result)

    async def apply(self, channel: str, items: Sequence[tuple[Any, Any]]) -> list[Any]:
        """Run one batch on ``channel``; one result per ``(kind, params)`` pair."""
        payload = pickle.dumps(
            [(kind, _writer_params(kind, params)) for kind, params in items],
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        async with self._locks[channel]:
            child = await self._running_child()
            done = False
            try:
                reply = await child.pipes[channel].call(payload)
                done = True
            except (trio.BrokenResourceError, trio.ClosedResourceError, EOFError) as exc:
                code = child.process.poll()
                why = f"it exited with status {code}" if code is not None else str(exc)
                raise StorageUnavailable(
                    f"the database writer process stopped ({why})"
                ) from exc
            finally:
                if not done:
                    # Broken, or cancelled half way through: this channel is out of step.
                    child.broken = True
        ok, value = pickle.loads(reply)
        if ok:
            results: list[Any] = value
            return results
        raise value

    async def _running_child(self) -> _Child:
        child = self._child
        if child is not None and child.alive:
            return child
        async with self._starting:
            if self._closed:
                raise StorageUnavailable("the database writer process is stopped")
            child = self._child
            if child is not None and child.alive:
                return child
            if child is not None:
                log.warning("the database writer process %d stopped (status %s); starting "
                            "another", child.process.pid, child.process.poll())
                self._child = None
                with trio.CancelScope(shield=True):
                    await _stop(child)
            try:
                self._child = await self._start()
            except OSError as exc:
                raise StorageUnavailable(
                    f"cannot start the database writer process: {exc}"
                ) from exc
            return self._child

    async def _start(self) -> _Child:
        ours: dict[str, tuple[int, int]] = {}  # (requests to write, replies to read)
        fds: dict[str, tuple[int, int]] = {}  # the child's: (requests to read, replies to write)
        opened: list[int] = []  # every end so far, so that a failure half way closes them all
        try:
            for name in self.channels:
                request_read, request_write = os.pipe()
                opened += (request_read, request_write)
                reply_read, reply_write = os.pipe()
                opened += (reply_read, reply_write)
                ours[name] = (request_write, reply_read)
                fds[name] = (request_read, reply_write)
            process = await trio.lowlevel.open_process(
                [sys.executable, "-c",
                 "import sys; from pytake.store._writer_process import main; sys.exit(main())"],
                stdin=subprocess.PIPE,
                pass_fds=[fd for pair in fds.values() for fd in pair],
            )
        except BaseException:
            for fd in opened:
                os.close(fd)
            raise
        for pair in fds.values():  # the child has its copies
            os.close(pair[0])
            os.close(pair[1])
        pipes = {
            name: _Pipes(trio.lowlevel.FdStream(w), trio.lowlevel.FdStream(r))
            for name, (w, r) in ours.items()
        }
        self.started += 1
        child = _Child(process, pipes)
        settings = {**self._settings, "channels": fds}
        assert process.stdin is not None
        try:
            await process.stdin.send_all(_framed(pickle.dumps(settings)))
        except BaseException as exc:
            with trio.CancelScope(shield=True):
                await _stop(child)
            if isinstance(exc, trio.BrokenResourceError):  # it died at once
                raise OSError(f"the child exited before its settings were sent: {exc}") from exc
            raise
        return child

    async def aclose(self) -> None:
        """Stop the child: close its channels and stdin, wait for it to exit (killing it after
        `EXIT_GRACE_S`).  Batches asked for later fail with `StorageUnavailable`."""
        async with self._starting:
            self._closed = True
            child, self._child = self._child, None
            if child is not None:
                with trio.CancelScope(shield=True):
                    await _stop(child)


class _Call:
    """A read as a write kind: ``fn(session, *params)`` for each parameter tuple."""

    name = "call"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def apply_many(self, session: Any, params: Sequence[tuple[Any, ...]]) -> list[Any]:
        return [self.fn(session, *p) for p in params]


def _writer_params(kind: Any, params: Any) -> Any:
    strip = getattr(kind, "writer_params", None)
    return params if strip is None else strip(params)


async def _stop(child: _Child) -> None:
    for pipes in child.pipes.values():
        await pipes.aclose()
    process = child.process
    if process.stdin is not None:
        await process.stdin.aclose()
    with trio.move_on_after(EXIT_GRACE_S):
        await process.wait()
    if process.returncode is None:
        log.warning("the database writer process %d did not exit; killing it", process.pid)
        process.kill()
        await process.wait()


# --- the child ---------------------------------------------------------------------------


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return payload


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_framed(payload))
    stream.flush()


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle round trip, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    return exc


#: Held while a batch is unpickled.  Unpickling imports the modules that define the write
#: kinds and read functions, the first time, in whichever channel's thread meets them: two
#: threads importing one package from two ends (one its ``__init__``, which imports its
#: submodules; the other a submodule directly) each hold a module lock the other needs, and
#: Python breaks that with ``_DeadlockError``.  One importer at a time cannot deadlock.
_UNPICKLING = threading.Lock()


def serve_channel(db: Any, requests: IO[bytes], replies: IO[bytes]) -> None:
    """Run one channel's batches, one transaction each, until ``requests`` ends."""
    from pytake.store._group_commit import apply_writes

    while (frame := _read_frame(requests)) is not None:
        reply: tuple[bool, Any]
        try:
            with _UNPICKLING:
                items = pickle.loads(frame)
            reply = (True, db.run_sync(apply_writes, items))
        except Exception as exc:
            reply = (False, _picklable(exc))
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            payload = pickle.dumps((False, _picklable(exc)))
        try:
            _write_frame(replies, payload)
        except BrokenPipeError:
            return


def main() -> int:
    """The child: settings on stdin, a thread per channel, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from pytake.store._database import Database

    control = sys.stdin.buffer
    first = _read_frame(control)
    if first is None:
        return 0
    settings = pickle.loads(first)
    logging.basicConfig(
        level=settings["log_level"].upper(),
        format="%(asctime)s %(levelname)s %(name)s [database writer] %(message)s",
        stream=sys.stderr,
    )
    channels: dict[str, tuple[int, int]] = settings["channels"]
    # A channel's thread takes the interpreter lock back after each round trip to the
    # database; by default it may wait 5 ms for another channel's thread to let go of it,
    # several times per transaction.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    db = Database(settings["url"], max_threads=len(channels))
    # What start-up built (SQLAlchemy's models and dialect, the imports) lives as long as the
    # process: a full collection scanning it paused every channel for about 85 ms.
    gc.collect()
    gc.freeze()
    threads = []
    for name, (request_fd, reply_fd) in channels.items():
        requests = os.fdopen(request_fd, "rb", buffering=1 << 16)
        replies = os.fdopen(reply_fd, "wb", buffering=1 << 16)
        thread = threading.Thread(
            target=serve_channel, args=(db, requests, replies), name=name, daemon=True
        )
        thread.start()
        threads.append(thread)
    try:
        control.read()  # until the server closes it (or dies)
        for thread in threads:
            # The server closes the channels before stdin: a transaction under way ends.
            thread.join(EXIT_GRACE_S)
    finally:
        db.dispose()
    return 0

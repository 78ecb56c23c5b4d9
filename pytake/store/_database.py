"""`Database`: SQLAlchemy's sync engine, driven from trio through worker threads.

Neither psycopg's async connections nor SQLAlchemy's asyncio extension run under trio, so
database work is plain synchronous SQLAlchemy run in a worker thread
(``trio.to_thread.run_sync``), at most ``max_threads`` at a time (a `trio.CapacityLimiter`).
The trio loop never blocks on the database.

The two backends:

- **PostgreSQL** (``postgresql+psycopg://user:pass@host:5432/db``; ``postgresql://`` and
  ``postgres://`` are accepted and mean the same): a connection pool as big as
  ``max_threads``, a 5 s connect timeout.  A pooled connection is checked before use
  without a round trip (`_drop_if_closed_by_server`): one the server has closed (a restart,
  ``pg_terminate_backend``, an idle timeout) is replaced before anything is sent on it.
- **SQLite** (``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``), the embedded
  default: WAL journal (readers never wait for the writer), ``synchronous=NORMAL``, a 5 s
  busy timeout, foreign keys enforced. Write transactions start with ``BEGIN IMMEDIATE``, so
  two writers queue for the lock instead of one failing half way with "database is locked";
  read-only transactions (``readonly=True``) start with a plain ``BEGIN`` and run alongside.

Connectivity problems come out as `pytake.errors.StorageUnavailable` (retryable, with the
driver's error as ``__cause__``); every other error (a constraint violation, a bug in the SQL)
propagates as the SQLAlchemy exception it is.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar, TypeVarTuple

import psycopg
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import trio
from psycopg.types.json import set_json_dumps
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from pytake.errors import ConfigError, StorageUnavailable
from pytake.sockets import has_input
from pytake.storable import dumps as storable_dumps

log = logging.getLogger("pytake.store")

__all__ = [
    "Database",
    "create_engine",
    "describe_url",
    "normalize_url",
    "sqlite_path",
    "storage_unavailable",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

#: Milliseconds a SQLite connection waits for a lock before giving up.
SQLITE_BUSY_TIMEOUT_MS: Final = 5000
#: Seconds a PostgreSQL connection attempt may take.
PG_CONNECT_TIMEOUT: Final = 5
#: Seconds a thread waits for a pooled connection before the pool is deemed exhausted.
POOL_TIMEOUT: Final = 30.0

# The execution option that marks an engine's transactions as read-only (see the SQLite
# "begin" hook below); PostgreSQL uses its own ``postgresql_readonly``.
_READONLY: Final = "pytake_readonly"

# SQLite primary result codes that mean "not now" rather than "wrong SQL": busy, locked,
# out of memory, I/O error, disk full, can't open the file, lock protocol error.
_SQLITE_UNAVAILABLE: Final = frozenset({5, 6, 7, 10, 13, 14, 15})


# --- URLs ------------------------------------------------------------------------------------


def normalize_url(url: str | URL) -> str:
    """Return ``url`` with PostgreSQL URLs pointed at the psycopg 3 driver.

    ``postgresql://`` and ``postgres://`` (as hosting platforms hand them out) become
    ``postgresql+psycopg://``; every other URL is returned unchanged. Raises `ConfigError`
    if ``url`` is not a database URL.
    """
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    for prefix in ("postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    if text.startswith("postgres+psycopg://"):
        return "postgresql+psycopg://" + text[len("postgres+psycopg://") :]
    _parse(text)
    return text


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except sa_exc.ArgumentError:
        raise ConfigError(
            "database_url: not a database URL (expected sqlite:///FILE or "
            "postgresql://USER@HOST:PORT/DB)"
        ) from None


def describe_url(url: str | URL) -> str:
    """A short description of the database ``url`` points at, safe to log or show: the backend,
    host, port and database name, never the user name or password."""
    parsed = url if isinstance(url, URL) else _parse(normalize_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return f"SQLite database {parsed.database or ':memory:'}"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    name = "PostgreSQL" if backend == "postgresql" else backend
    return f"{name} database {parsed.database or ''} at {host}{port}"


# --- errors ----------------------------------------------------------------------------------


def _sqlite_unavailable(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_UNAVAILABLE
    # Python builds without error codes: go by the few messages that mean "not now".
    text = str(exc).lower()
    return any(m in text for m in ("locked", "unable to open", "disk i/o", "database or disk"))


def _reason(exc: BaseException, url: URL) -> str:
    cause: BaseException = exc
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        cause = exc.orig
    if isinstance(exc, sa_exc.TimeoutError):
        return "all pooled connections are busy (pool timeout)"
    text = " ".join(str(cause).split()) or type(cause).__name__
    # Drivers don't put passwords in their messages, but make sure of it.
    if url.password:
        text = text.replace(str(url.password), "***")
    text = re.sub(r"password=\S+", "password=***", text)
    return text[:500]


def storage_unavailable(exc: BaseException, url: str | URL) -> StorageUnavailable | None:
    """The `StorageUnavailable` to raise for ``exc``, or ``None`` if ``exc`` is not a
    connectivity problem and should propagate as it is.

    Connectivity problems are: SQLAlchemy's ``OperationalError``, ``InterfaceError``,
    ``DisconnectionError`` and pool ``TimeoutError``, and the raw psycopg ``OperationalError`` /
    ``InterfaceError``. On SQLite, where ``OperationalError`` also covers mistakes such as "no
    such table", only busy, locked, I/O and can't-open errors count.
    """
    parsed = url if isinstance(url, URL) else make_url(url)
    driver_error: BaseException = exc
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        driver_error = exc.orig
    if isinstance(driver_error, sqlite3.Error):
        if not isinstance(driver_error, sqlite3.OperationalError) or not _sqlite_unavailable(
            driver_error
        ):
            return None
    elif not isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError
        | psycopg.OperationalError
        | psycopg.InterfaceError,
    ):
        return None
    return StorageUnavailable(f"{describe_url(parsed)} is unavailable: {_reason(exc, parsed)}")


# --- engines ---------------------------------------------------------------------------------


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take transaction control away from Python's sqlite3 module (it would BEGIN lazily, and
    # not before DDL); the "begin" hook below emits our own BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a
    # transaction never fails when it later upgrades from reading to writing.
    readonly = connection.get_execution_options().get(_READONLY, False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


# The bulk paths hand psycopg ``Jsonb`` values directly (no SQLAlchemy type in between):
# they get the same serializer as the engines' JSON columns.
set_json_dumps(storable_dumps)


def create_engine(url: str | URL, *, max_threads: int = 8, **kwargs: Any) -> Engine:
    """A SQLAlchemy sync engine for ``url`` configured as `Database` uses it.

    ``url`` is normalized (`normalize_url`); ``max_threads`` sizes the PostgreSQL pool;
    ``kwargs`` go to `sqlalchemy.create_engine` (``poolclass=NullPool`` for one-off work such
    as migrations). Raises `ConfigError` for in-memory SQLite, which worker threads cannot
    share, and for backends other than PostgreSQL and SQLite.
    """
    parsed = _parse(normalize_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed):
            raise ConfigError(
                "database_url: in-memory SQLite is not supported (each worker thread would "
                "see its own empty database); use a file, e.g. sqlite:///pytake.db"
            )
        engine = sa.create_engine(parsed, json_serializer=storable_dumps, **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ConfigError(
                f"database_url: driver {parsed.get_driver_name()!r} is not supported; "
                "use postgresql+psycopg:// (or plain postgresql://)"
            )
        options: dict[str, Any] = {
            "pool_size": max_threads,
            "max_overflow": 0,
            "pool_timeout": POOL_TIMEOUT,
            "pool_recycle": 1800,
            "connect_args": {"connect_timeout": PG_CONNECT_TIMEOUT, "application_name": "pytake"},
            "json_serializer": storable_dumps,
        }
        if kwargs.get("poolclass") is not None:
            for key in ("pool_size", "max_overflow", "pool_timeout", "pool_recycle"):
                del options[key]
        options.update(kwargs)
        engine = sa.create_engine(parsed, **options)
        if not options.get("pool_pre_ping"):
            event.listen(engine, "checkout", _drop_if_closed_by_server)
        return engine
    raise ConfigError(
        f"database_url: backend {backend!r} is not supported; use postgresql:// or sqlite:///"
    )


#: Times a transaction PostgreSQL aborted as a deadlock victim or serialization failure is run.
CONFLICT_RETRIES = 5
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def _sqlstate(exc: BaseException) -> str | None:
    driver_error = getattr(exc, "orig", exc)
    state = getattr(driver_error, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_transaction_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a deadlock (40P01) or serialization failure (40001): the transaction
    was rolled back whole, and running it again is expected to succeed."""
    return _sqlstate(exc) in _CONFLICT_STATES


def _drop_if_closed_by_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse (so that the pool replaces it) a pooled connection the server has given up.

    A server that ends a session (shutdown, restart, ``pg_terminate_backend``) sends an error
    and closes the socket, so an idle connection with anything to read is dead; an idle one
    is never otherwise sent anything, as PyTake does not ``LISTEN`` on pooled connections.
    This costs a ``poll`` system call where ``pool_pre_ping`` cost a round trip to the server
    (and, with psycopg, a transaction) per checkout, a tenth of a millisecond of CPU at each
    of the several transactions a message takes.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise sa_exc.DisconnectionError("the connection was closed")
    try:
        fileno = dbapi_connection.pgconn.socket
    except psycopg.OperationalError:
        raise sa_exc.DisconnectionError("the connection has no socket") from None
    if has_input(fileno):
        raise sa_exc.DisconnectionError("the server closed the connection")


# --- the database ----------------------------------------------------------------------------


class Database:
    """The database of record, for trio code.

    ``Database(url)`` creates the engine (nothing connects until first use); `run` does work in
    a transaction on a worker thread; `ping` checks readiness; `aclose` (or `dispose`)
    closes the pooled connections. Also an async context manager::

        async with Database("sqlite:///pytake.db") as db:
            user = await db.run(lambda s: s.get(User, 1))

    ``max_threads`` bounds both the concurrent transactions and (on PostgreSQL) the pooled
    connections. Size it to what the database can serve, not to the number of actors: callers
    beyond it wait their turn (in trio, cancellably) for a thread. Group commit (many messages
    per transaction) gets more from one thread than many small transactions from eight.
    """

    def __init__(self, url: str | URL, *, max_threads: int = 8) -> None:
        if max_threads < 1:
            raise ValueError(f"max_threads must be at least 1, got {max_threads}")
        self._url: URL = _parse(normalize_url(url))
        self.engine: Engine = create_engine(self._url, max_threads=max_threads)
        #: Bounds the worker threads doing database work at once.
        self.limiter = trio.CapacityLimiter(max_threads)
        readonly_options: dict[str, Any] = {_READONLY: True}
        if self.backend == "postgresql":
            readonly_options["postgresql_readonly"] = True
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(
            self.engine.execution_options(**readonly_options), expire_on_commit=False
        )
        self._closed = False
        #: Runs `read` elsewhere than on this process's worker threads (the engine sets it to
        #: `WriterProcess.read` when there is a database writer process).
        self.reader: Callable[..., Awaitable[Any]] | None = None

    @property
    def url(self) -> URL:
        """The (normalized) URL; render it with ``hide_password=True`` before showing it."""
        return self._url

    @property
    def backend(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return self._url.get_backend_name()

    @property
    def on_postgresql(self) -> bool:
        """Whether this is PostgreSQL (otherwise SQLite): see `pytake.store.is_postgresql`."""
        return self.backend == "postgresql"

    def __repr__(self) -> str:
        return f"Database({self._url.render_as_string(hide_password=True)!r})"

    async def run(
        self,
        fn: Callable[[Session, *Ts], T],
        *args: *Ts,
        readonly: bool = False,
    ) -> T:
        """Run ``fn(session, *args)`` in a transaction on a worker thread; return its result.

        The transaction commits when ``fn`` returns and rolls back when it raises; ``fn``'s
        exception then propagates unchanged, unless it is a connectivity problem, which comes
        out as `StorageUnavailable` (from the driver's error). ``fn`` runs in another thread:
        it must not touch trio objects, and should only do database work.

        ORM objects stay usable after the transaction (they are not expired), but are detached:
        load what you need inside ``fn``. With ``readonly=True`` the transaction may not write
        (PostgreSQL enforces it; on SQLite it lets readers run beside the writer).

        Once its thread has started, the transaction runs to its end even if the calling task
        is cancelled: cancellation takes effect when `run` returns, never half way through a
        commit. Waiting for a free thread is cancellable.
        """
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        call = functools.partial(self.run_sync, fn, *args, readonly=readonly)
        return await trio.to_thread.run_sync(call, limiter=self.limiter)

    async def read(self, fn: Callable[[Session, *Ts], T], *args: *Ts) -> T:
        """`run` with ``readonly=True``, for reads on hot paths: in the database writer
        process when there is one (see `reader`), so ``fn`` must be a module-level function
        whose arguments and result pickle; else on a worker thread."""
        if self.reader is not None:
            result: T = await self.reader(fn, *args)
            return result
        return await self.run(fn, *args, readonly=True)

    def run_sync(self, fn: Callable[[Session, *Ts], T], *args: *Ts, readonly: bool = False) -> T:
        """`run` for synchronous code that is not on the trio thread (a worker thread, or the
        database writer process): blocks until the transaction is over."""
        sessions = self._readonly_sessions if readonly else self._sessions
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                with sessions.begin() as session:
                    return fn(session, *args)
            except Exception as exc:
                if attempt < CONFLICT_RETRIES and is_transaction_conflict(exc):
                    # PostgreSQL chose this transaction to break a deadlock (or a
                    # serialization conflict): nothing of it was kept, so running it again
                    # is safe; the other transaction has its locks and finishes first.
                    log.info("transaction conflict (%s); retrying, attempt %d",
                             _sqlstate(exc), attempt + 1)
                    time.sleep(random.uniform(0.001, 0.005) * attempt)
                    continue
                unavailable = storage_unavailable(exc, self._url)
                if unavailable is None:
                    raise
                raise unavailable from exc
        raise AssertionError("unreachable")  # the last attempt returns or raises

    async def ping(self) -> None:
        """Check that the database answers (``SELECT 1``); raise `StorageUnavailable` if not."""
        await self.run(_select_one, readonly=True)

    def dispose(self) -> None:
        """Close the pooled connections and refuse further work. Blocks briefly (it closes
        sockets); from trio code prefer `aclose`. Calling it again does nothing."""
        self._closed = True
        self.engine.dispose()

    async def aclose(self) -> None:
        """`dispose` on a worker thread. New `run` calls fail; connections still used by
        transactions in progress are closed when those finish."""
        if self._closed:
            return
        self._closed = True
        await trio.to_thread.run_sync(self.engine.dispose)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _select_one(session: Session) -> None:
    session.execute(sa.text("SELECT 1"))


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL, or ``None`` for other backends."""
    parsed = url if isinstance(url, URL) else _parse(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)

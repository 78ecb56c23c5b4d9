"""Schema migrations: Alembic, configured in code, shipped inside the package.

The migration scripts live in ``pytake/store/migrations/versions``; no ``alembic.ini`` is
needed. `upgrade` brings a database to the newest revision (or a given one) and is idempotent;
`current` tells where a database is; `head` is the newest revision this code knows.

Each `upgrade` runs in **one transaction** on both backends (both have transactional DDL), so a
failed upgrade leaves the database as it was. On PostgreSQL it first takes a transaction-level
advisory lock, so nodes starting together migrate one after the other; on SQLite ``BEGIN
IMMEDIATE`` does the same. SQLite migrations use Alembic's batch mode (copy and move tables,
since SQLite's ``ALTER TABLE`` is limited) with foreign keys off while tables are rebuilt, and
check them (``PRAGMA foreign_key_check``) before committing.

These functions block: from trio, call them with ``trio.to_thread.run_sync``.

To write a new migration (developers)::

    from alembic import command
    from pytake.store import alembic_config
    command.revision(alembic_config("sqlite:///dev.db"), "add x to y", autogenerate=True)

then review the generated file by hand (name every constraint, keep it runnable on both
backends) and add a test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from pytake.errors import SchemaError
from pytake.store._database import (
    _parse,
    create_engine,
    describe_url,
    normalize_url,
    sqlite_path,
    storage_unavailable,
)

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaError",
    "alembic_config",
    "current",
    "downgrade",
    "head",
    "revisions",
    "upgrade",
]

#: Where the migration environment and scripts live.
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# pg_advisory_xact_lock key that serializes migrations ("PyTakeMg" as a big-endian int64).
_PG_LOCK_KEY: Final = int.from_bytes(b"PyTakeMg", "big") & 0x7FFF_FFFF_FFFF_FFFF

#: Receives one line per migration step about to run.
Progress = Callable[[str], None]




def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic `Config` for PyTake's migrations (for ``alembic.command`` functions).

    With ``url``, Alembic connects by itself (``sqlalchemy.url``); `upgrade` and `downgrade`
    instead hand it a connection (``config.attributes["connection"]``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        text = normalize_url(url)
        # ConfigParser interpolation: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", text.replace("%", "%%"))
    return config


def head() -> str:
    """The newest revision shipped with this version of PyTake."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "pytake/store/migrations/versions is empty"
    return revision


def revisions() -> list[str]:
    """Every revision shipped with this version of PyTake, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


@contextlib.contextmanager
def _storage_errors(url: URL) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        unavailable = storage_unavailable(exc, url)
        if unavailable is None:
            raise
        raise unavailable from exc


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def current(url: str | URL) -> str | None:
    """The revision the database at ``url`` is at; ``None`` if it was never migrated.

    Never creates anything: a SQLite file that does not exist is reported as ``None``.
    Raises `StorageUnavailable` if the database cannot be reached.
    """
    parsed = _parse(normalize_url(url))
    path = sqlite_path(parsed)
    if path is not None and not path.exists():
        return None
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        with _storage_errors(parsed), engine.connect() as connection:
            return _revision_of(connection)
    finally:
        engine.dispose()


def _check_known(script: ScriptDirectory, revision: str | None, url: URL) -> None:
    if revision is None:
        return
    try:
        script.get_revision(revision)
    except (RevisionError, CommandError):
        raise SchemaError(
            f"{describe_url(url)} is at schema revision {revision!r}, which this version of "
            "PyTake does not know (was it migrated by a newer PyTake?)"
        ) from None


def _pending(script: ScriptDirectory, start: str | None, target: str) -> list[str]:
    steps = list(script.iterate_revisions(target, start or "base"))
    steps.reverse()  # iterate_revisions walks down from target
    return [f"{rev.revision}: {rev.doc}" for rev in steps]


def _migrate(
    url: str | URL,
    run: Callable[[Config], None],
    describe: Callable[[ScriptDirectory, str | None], list[str]],
    progress: Progress | None,
) -> str | None:
    parsed = _parse(normalize_url(url))
    sqlite = parsed.get_backend_name() == "sqlite"
    engine = create_engine(parsed, poolclass=NullPool)
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    try:
        with _storage_errors(parsed), engine.connect() as connection:
            if sqlite:
                # Batch migrations rebuild tables (create, copy, drop, rename); with foreign
                # keys on, dropping the old table would cascade to the rows referring to it.
                # The pragma is a no-op inside a transaction, hence before BEGIN.
                connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA foreign_keys = OFF"
                )
            with connection.begin():
                if not sqlite:
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                    )
                # Read only after taking the lock: another node may have just migrated.
                start = _revision_of(connection)
                _check_known(script, start, parsed)
                try:
                    steps = describe(script, start)
                    for line in steps:
                        if progress is not None:
                            progress(line)
                    config.attributes["connection"] = connection
                    run(config)
                except (RevisionError, CommandError) as exc:
                    raise SchemaError(f"cannot migrate {describe_url(parsed)}: {exc}") from None
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(
                            f"migration left rows with dangling foreign keys: {broken[:5]!r}"
                        )
                return _revision_of(connection)
    finally:
        engine.dispose()


def upgrade(url: str | URL, revision: str = "head", *, progress: Progress | None = None) -> str:
    """Migrate the database at ``url`` up to ``revision`` (default: the newest); return the
    revision it is at afterwards. Doing it again is a no-op.

    ``progress`` is called with ``"<revision>: <description>"`` for each step about to run.
    Raises `StorageUnavailable` if the database cannot be reached, and `SchemaError` if the
    database is at a revision this code doesn't know (a newer PyTake migrated it) or
    ``revision`` does not exist.
    """

    def describe(script: ScriptDirectory, start: str | None) -> list[str]:
        target = script.get_current_head() if revision == "head" else revision
        return [] if target is None or start == target else _pending(script, start, target)

    def run(config: Config) -> None:
        command.upgrade(config, revision)

    result = _migrate(url, run, describe, progress)
    assert result is not None
    return result


def downgrade(url: str | URL, revision: str, *, progress: Progress | None = None) -> str | None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"``: drop everything).

    Return the revision it is at afterwards (``None`` at base). Destroys the data held by what
    it drops; meant for development and tests, and for rolling back a release before its data
    is written.
    """

    def describe(script: ScriptDirectory, start: str | None) -> list[str]:
        if start is None:
            return []
        steps = [] if start == revision else _pending(script, revision, start)
        if revision == "base":
            steps = _pending(script, None, start)
        return [f"reverting {line}" for line in reversed(steps)]

    def run(config: Config) -> None:
        command.downgrade(config, revision)

    return _migrate(url, run, describe, progress)

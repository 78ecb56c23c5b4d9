"""Alembic environment of PyTake, driven by ``pytake.store._migrations``.

Normally the caller hands over a connection already inside a transaction
(``config.attributes["connection"]``), so every step of an upgrade commits or rolls back
together. With only ``sqlalchemy.url`` set (plain ``alembic.command`` use, e.g. autogenerate),
it connects by itself; in offline mode (``--sql``) it prints the SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from pytake.store import Base
from pytake.store._database import create_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: rebuild tables instead ("batch" mode).
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("pytake migrations: no connection and no sqlalchemy.url given")
    engine = create_engine(url, poolclass=NullPool)
    try:
        # One transaction, committed at the end, on both backends.
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

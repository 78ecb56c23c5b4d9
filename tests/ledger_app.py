"""A small actor application for the durability tests, also run as a subprocess:

    python -m tests.ledger_app serve DATABASE_URL   # reads numbers on stdin, prints "ack N"
    python -m tests.ledger_app dump DATABASE_URL    # prints every ledger's entries as JSON
"""

from __future__ import annotations

import json
import sys
from typing import Any

import attrs
import trio

from pytake.actors import Actor
from pytake.config import Settings, load_settings
from pytake.engine import Engine, actor_kind

LEDGERS = 5


@attrs.define
class LedgerState:
    entries: list[int] = attrs.Factory(list)


@attrs.frozen
class Record:
    n: int


@attrs.frozen
class Explode:
    """Appends, then crashes the first ``times`` attempts (attempts counted outside)."""

    n: int
    times: int


@attrs.frozen
class Entries:
    pass


EXPLOSIONS: dict[int, int] = {}


class Ledger(Actor[LedgerState]):
    kind = "ledger"
    state_type = LedgerState

    async def receive(self, message: Any) -> Any:
        if isinstance(message, Record):
            self.state.entries.append(message.n)
        elif isinstance(message, Explode):
            self.state.entries.append(message.n)
            EXPLOSIONS[message.n] = EXPLOSIONS.get(message.n, 0) + 1
            if EXPLOSIONS[message.n] <= message.times:
                raise RuntimeError(f"explode {message.n}")
        elif isinstance(message, Entries):
            return list(self.state.entries)
        return None


def make_engine(settings: Settings, **kind_options: Any) -> Engine:
    return Engine(
        settings,
        kinds=[actor_kind(settings, Ledger, **kind_options)],
        journaled=[Record, Explode],
    )


def settings_for(database_url: str, **env: str) -> Settings:
    environ = {"PYTAKE_DATABASE_URL": database_url, **env}
    return load_settings(environ=environ)


async def _serve(url: str) -> None:
    engine = make_engine(settings_for(url))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        print("ready", flush=True)
        stdin = trio.lowlevel.FdStream(0)
        buffer = b""
        limiter = trio.CapacityLimiter(200)

        async def one(n: int) -> None:
            async with limiter:
                await engine.router.tell_durable("ledger", f"l{n % LEDGERS}", Record(n))
            print(f"ack {n}", flush=True)

        async with trio.open_nursery() as work:
            while chunk := await stdin.receive_some():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    work.start_soon(one, int(line))
        await engine.aclose()


async def _dump(url: str) -> None:
    engine = make_engine(settings_for(url))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        out = {}
        for i in range(LEDGERS):
            out[f"l{i}"] = await engine.router.ref("ledger", f"l{i}").ask(Entries(), timeout=30)
        print(json.dumps(out), flush=True)
        await engine.aclose()


if __name__ == "__main__":
    command, url = sys.argv[1], sys.argv[2]
    trio.run(_serve if command == "serve" else _dump, url)

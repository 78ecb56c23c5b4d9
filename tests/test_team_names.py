"""Team names → ids for flows and the default team: read once per name and reused for a few
seconds, so a hand-off does not read the database; a team created later is found."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import trio.testing

from pytake.queues import TeamNames, TeamResolver
from pytake.store import Database, Team


def _add(session: Any, name: str) -> int:
    team = Team(name=name)
    session.add(team)
    session.flush()
    return int(team.id)


def _rename(session: Any, old: str, new: str) -> None:
    session.execute(sa.update(Team).where(Team.name == old).values(name=new))


async def test_names_are_reused_for_a_while_then_read_again(
    sqlite_url: str, mock_clock: trio.testing.MockClock
) -> None:
    async with Database(sqlite_url) as db:
        support = await db.run(_add, "support")
        names = TeamNames(db, ttl=5.0)
        assert await names.id_of("support") == str(support)
        assert await names.id_of(f" {support} ") == str(support)  # an id works too
        assert await names.id_of("sales") is None
        assert await names.id_of("") is None

        sales = await db.run(_add, "sales")
        await db.run(_rename, "support", "help")
        # Within the ttl: what was read (no database work for a flow's hand-off).
        assert await names.id_of("sales") is None
        assert await names.id_of("support") == str(support)
        mock_clock.jump(5.1)
        assert await names.id_of("sales") == str(sales)
        assert await names.id_of("support") is None

        default = TeamResolver(names, "sales")
        assert await default() == str(sales)
        assert await TeamResolver(names, "")() is None

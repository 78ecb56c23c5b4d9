"""The routing configuration a ConversationActor reads (its `ConversationServices.routing`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs

from ..routing import DEFAULT_REOPEN_WINDOW


async def _no_team() -> str | None:
    return None


@attrs.frozen
class RoutingConfig:
    #: the team (id as text) a conversation the bot cannot solve goes to; resolved lazily
    #: because teams are created at run time (``None``: the bot keeps it)
    default_team: Callable[[], Awaitable[str | None]] = _no_team
    reopen_window: float = DEFAULT_REOPEN_WINDOW
    #: customer messages closer than this (seconds) reach the bot as one turn (0: off)
    burst_gap: float = 0.0
    #: a turn is handled at most this long after its first message, however fast they type
    burst_max_hold: float | None = None
    #: the flow (its name) that answers a conversation the bot owns ("" : none)
    default_flow: str = ""
    #: business phone number id → its own default flow (overrides ``default_flow``)
    number_flows: dict[str, str] = attrs.Factory(dict)
    #: a customer message equal to a keyword (case and accents ignored) starts its flow
    keywords: dict[str, str] = attrs.Factory(dict)

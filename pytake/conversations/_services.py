"""What a ConversationActor works with, given to its kind by the composition root."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs

from ..actors import Timers
from ..contracts import Outbox, Teams
from ._log import ConversationLog
from ._replies import AutomaticReplies
from ._routing import RoutingConfig

if TYPE_CHECKING:
    from ..flowrun import FlowLibrary, ModuleCalls

log = logging.getLogger("pytake.conversations")


@attrs.define
class ConversationServices:
    #: the conversation's row and event log
    log: ConversationLog
    #: deadlines (the customer's burst of messages, a flow's waits) and the clock
    timers: Timers
    #: team names → ids, and whether a team is open (hand-offs, flows' conditions)
    teams: Teams
    routing: RoutingConfig = attrs.Factory(RoutingConfig)
    #: where the bot's and agents' messages go (``None``: nothing is sent)
    outbox: Outbox | None = None
    #: the edge's own answers (welcome, unsupported message); ``None``: none
    replies: AutomaticReplies | None = None
    #: published flows (``None``: no bot flows; the default team takes conversations)
    flows: FlowLibrary | None = None
    #: module calls for flows' module nodes (``None``: every module call is an ``error``)
    modules: ModuleCalls | None = None
    #: what `warn_once` has said
    warned: set[str] = attrs.Factory(set)

    def warn_once(self, what: str, message: str, *args: object) -> None:
        """Log a warning about a configuration problem once per process, not per
        conversation (every conversation would say it again)."""
        if what not in self.warned:
            self.warned.add(what)
            log.warning(message, *args)

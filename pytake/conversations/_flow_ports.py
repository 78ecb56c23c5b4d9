"""The ports a running flow acts through, for one ConversationActor: messages go to the
outbox, modules to the module runner, timers to the timer service, steps to
``flow_executions``."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from ..errors import InvalidMessage, WindowClosed
from ..flowrun import ModuleResult
from ..flows import Flow
from ..httpclient import pooled_client
from ..whatsapp import window_open
from ._content import build_body

if TYPE_CHECKING:
    from ..flowrun import FlowLibrary, StoredFlow
    from ._actor import ConversationActor
    from ._services import ConversationServices

log = logging.getLogger("pytake.flows")


@attrs.frozen
class FlowTimer:
    """Timer: a waiting flow node's time is up (``token`` names the wait)."""

    token: int


class ActorFlowPorts:
    def __init__(self, actor: ConversationActor, library: FlowLibrary) -> None:
        self.actor = actor
        self.library = library
        self.loaded: dict[tuple[str, int | None], StoredFlow] = {}
        self.steps: list[tuple[StoredFlow | None, str, str, dict[str, Any]]] = []
        #: What started this turn (``m<message id>``, ``m<message id>.t<token>``): its n-th
        #: message is stored under ``flow:<conversation>:<turn>:<n>``, so the same turn run
        #: again (its message replayed after a crash, over an older snapshot) sends nothing
        #: twice.
        self.turn: str | None = None
        self._sent = 0

    @property
    def _services(self) -> ConversationServices:
        return self.actor.services

    async def send(self, body: dict[str, Any]) -> None:
        state = self.actor.state
        outbox = self._services.outbox
        if outbox is None or not state.reply_to or not state.phone_number_id:
            return
        self._sent += 1
        key = None
        if self.turn is not None and state.conversation_id is not None:
            key = f"flow:{state.conversation_id}:{self.turn}:{self._sent}"
        try:
            await outbox.enqueue(
                state.phone_number_id,
                build_body(state.reply_to, body),
                conversation_id=state.conversation_id,
                last_customer_ts=state.last_customer_message_at,
                key=key,
            )
        except (InvalidMessage, WindowClosed) as exc:
            log.warning("conversation %s: flow message not sent: %s", self.actor.id, exc)

    async def call_module(self, module: str, action: str, inputs: dict[str, Any],
                          timeout: float | None) -> ModuleResult:
        modules = self._services.modules
        if modules is None:
            return ModuleResult("error", error="no module runner is configured")
        state = self.actor.state
        context = {"conversation_id": state.conversation_id, "conversation": self.actor.id,
                   "customer": {"id": state.customer_id, "wa_id": state.reply_to},
                   "variables": dict(state.flow.variables if state.flow else {}),
                   "tenant": state.phone_number_id}
        result: ModuleResult = await modules(module, action, inputs, timeout, context)
        return result

    async def http(self, method: str, url: str, headers: dict[str, str], body: Any,
                   timeout: float) -> tuple[bool, Any]:
        client: httpx.AsyncClient | None = getattr(self._services.modules, "http", None)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if client is None:  # no module runner: a client for this call only
                    client = await stack.enter_async_context(pooled_client(trust_env=False))
                response = await client.request(method, url, headers=headers, timeout=timeout,
                                                json=body if body is not None else None)
        except httpx.HTTPError as exc:
            return False, str(exc)
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        return response.is_success, answer

    def window_open(self) -> bool:
        return window_open(self.actor.state.last_customer_message_at, self.actor._now())

    async def team_open(self, team: str) -> bool:
        teams = self._services.teams
        team_id = await teams.id_of(team)
        return team_id is not None and await teams.is_open(team_id, datetime.now(UTC))

    def wake_at(self, seconds: float, token: int) -> None:
        self._services.timers.schedule(self.actor.kind, self.actor.id, "flow",
                                          self.actor._now() + seconds, FlowTimer(token))

    async def load(self, flow: str, version: int | None) -> Flow | None:
        stored = await self.library.load(flow, version)
        if stored is None:
            return None
        self.loaded[(flow, version)] = self.loaded[(flow, stored.flow.version)] = stored
        return stored.flow

    async def record(self, flow: str, version: int | None, node: str, step: str,
                     variables: dict[str, Any]) -> None:
        """Kept until the turn is over (`flush`): one commit per customer message, not one
        per node before the reply can go out."""
        stored = self.loaded.get((flow, version)) or await self.library.load(flow, version)
        self.steps.append((stored, node, step, dict(variables)))

    async def flush(self) -> None:
        steps, self.steps = self.steps, []
        await self.library.record_many(self.actor.state.conversation_id, steps, self.turn)

"""What the executor needs from the world, as one protocol: the ConversationActor provides
the real one, ``pytake flows simulate`` and the tests a recording one."""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from ..flows import Flow


@attrs.frozen
class ModuleResult:
    outcome: str
    outputs: dict[str, Any] = attrs.field(factory=dict)
    #: messages the module wants sent (``{"type": "text", ...}`` content, like agents send)
    messages: tuple[dict[str, Any], ...] = ()
    error: str = ""


class FlowPorts(Protocol):
    async def send(self, body: dict[str, Any]) -> None:
        """Send a WhatsApp message; ``body`` is a Cloud API body without ``to``."""

    async def call_module(
        self, module: str, action: str, inputs: dict[str, Any], timeout: float | None
    ) -> ModuleResult: ...

    async def http(self, method: str, url: str, headers: dict[str, str], body: Any,
                   timeout: float) -> tuple[bool, Any]:
        """``(ok, answer)``: ok for a 2xx; the answer's JSON (or text)."""

    def window_open(self) -> bool: ...

    async def team_open(self, team: str) -> bool: ...

    def wake_at(self, seconds: float, token: int) -> None:
        """Resume the flow (``FlowTimer(token)``) in ``seconds``."""

    async def load(self, flow: str, version: int | None) -> Flow | None: ...

    async def record(self, run_flow: str, version: int | None, node: str, step: str,
                     variables: dict[str, Any]) -> None:
        """A step for ``flow_executions`` and the flow metrics."""

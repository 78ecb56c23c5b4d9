"""The flow executor on the two example flows, through a recording set of ports: menus,
re-prompts, validators, a subflow, module outcomes, timers, and a run that survives being
snapshotted and restored in the middle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from pytake.actors import converter
from pytake.flowrun import (
    CustomerInput,
    Ended,
    FlowExecutor,
    FlowHandoff,
    FlowRun,
    ModuleResult,
    TimerFired,
    Waiting,
)
from pytake.flows import Flow, load_flow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "flows"
VALID_CPF = "529.982.247-25"


def _flow(name: str) -> Flow:
    return load_flow(json.loads((EXAMPLES / f"{name}.json").read_text()))


@attrs.define
class Ports:
    flows: dict[str, Flow] = attrs.field(factory=lambda: {"triage": _flow("triage"),
                                                          "boleto": _flow("boleto")})
    modules: dict[str, ModuleResult] = attrs.field(factory=dict)
    sent: list[dict[str, Any]] = attrs.field(factory=list)
    calls: list[tuple[str, str, dict[str, Any]]] = attrs.field(factory=list)
    timers: list[tuple[float, int]] = attrs.field(factory=list)
    steps: list[tuple[str, str, str]] = attrs.field(factory=list)
    open_teams: set[str] = attrs.field(factory=lambda: {"suporte"})

    async def send(self, body: dict[str, Any]) -> None:
        self.sent.append(body)

    async def call_module(self, module: str, action: str, inputs: dict[str, Any],
                          timeout: float | None) -> ModuleResult:
        self.calls.append((module, action, inputs))
        return self.modules.get(f"{module}.{action}", ModuleResult("error", error="no stub"))

    async def http(self, method: str, url: str, headers: dict[str, str], body: Any,
                   timeout: float) -> tuple[bool, Any]:
        return False, None

    def window_open(self) -> bool:
        return True

    async def team_open(self, team: str) -> bool:
        return team in self.open_teams

    def wake_at(self, seconds: float, token: int) -> None:
        self.timers.append((seconds, token))

    async def load(self, flow: str, version: int | None) -> Flow | None:
        return self.flows.get(flow)

    async def record(self, flow: str, version: int | None, node: str, step: str,
                     variables: dict[str, Any]) -> None:
        self.steps.append((flow, node, step))

    def texts(self) -> list[str]:
        return [str(b.get("text") or b.get("body")) for b in self.sent]


async def test_support_path_asks_then_hands_off_with_the_answer_in_the_note() -> None:
    ports = Ports()
    executor = FlowExecutor(ports, customer={"name": "Ana"})
    run, result = await executor.start(ports.flows["triage"])
    assert result == Waiting("answer")
    assert [b["type"] for b in ports.sent] == ["text", "list"]
    assert await executor.resume(run, CustomerInput("2")) == Waiting("answer")  # 2nd row
    result = await executor.resume(run, CustomerInput("minha internet caiu"))
    assert isinstance(result, FlowHandoff) and result.team == "suporte"
    assert "minha internet caiu" in result.note
    assert ("triage", "menu", "support") in ports.steps


async def test_wrong_answers_are_prompted_again_then_take_the_invalid_edge() -> None:
    ports = Ports()
    executor = FlowExecutor(ports)
    run, _ = await executor.start(ports.flows["triage"])
    for _ in range(2):
        assert await executor.resume(run, CustomerInput("banana")) == Waiting("answer")
    assert ports.sent[-1]["body"].startswith("Não entendi")  # the retry text
    result = await executor.resume(run, CustomerInput("banana"))
    assert isinstance(result, FlowHandoff) and result.team == "atendimento"


async def test_second_copy_runs_the_boleto_subflow_with_a_checked_cpf() -> None:
    ports = Ports(modules={"boleto.second_copy": ModuleResult(
        "ok", outputs={"digitable_line": "23790.12345 60000.000003 00000.000008 1 96610000012345"},
        messages=({"type": "text", "text": "Linha digitável: 23790..."},))})
    executor = FlowExecutor(ports)
    run, _ = await executor.start(ports.flows["triage"])
    await executor.resume(run, CustomerInput("1"))  # billing
    assert await executor.resume(run, CustomerInput(reply_id="second_copy")) == Waiting("answer")
    assert run.flow == "boleto" and [f.flow for f in run.stack] == ["triage"]
    assert await executor.resume(run, CustomerInput("123.456.789-00")) == Waiting("answer")
    result = await executor.resume(run, CustomerInput(VALID_CPF))
    assert result == Ended(True)
    ((module, action, inputs),) = ports.calls
    assert (module, action) == ("boleto", "second_copy")
    assert "52998224725" in json.dumps(inputs)
    assert run.variables["slip"]["digitable_line"].startswith("23790")
    assert "Linha digitável: 23790..." in ports.texts()


async def test_a_failing_module_takes_the_error_edge() -> None:
    ports = Ports()  # no stub: the module call answers error
    executor = FlowExecutor(ports)
    run, _ = await executor.start(ports.flows["boleto"])
    result = await executor.resume(run, CustomerInput(VALID_CPF))
    assert isinstance(result, FlowHandoff) and result.team == "financeiro"
    assert run.variables["last_error"] == "no stub"


async def test_timers_fire_only_for_the_current_wait() -> None:
    ports = Ports()
    executor = FlowExecutor(ports)
    run, _ = await executor.start(ports.flows["triage"])
    (seconds, first_token), = ports.timers
    assert seconds == 1800
    await executor.resume(run, CustomerInput("banana"))  # a re-prompt: a new wait, new token
    assert await executor.resume(run, TimerFired(first_token)) == Waiting("answer")
    result = await executor.resume(run, TimerFired(run.token))
    assert result == Ended(False)  # goodbye, then closed without resolving


async def test_a_run_snapshotted_mid_flow_resumes_where_it_was() -> None:
    ports = Ports()
    executor = FlowExecutor(ports)
    run, _ = await executor.start(ports.flows["triage"])
    await executor.resume(run, CustomerInput("2"))
    stored = json.loads(json.dumps(converter.unstructure(run)))
    restored = converter.structure(stored, FlowRun)
    result = await FlowExecutor(Ports()).resume(restored, CustomerInput("não liga"))
    assert isinstance(result, FlowHandoff) and result.team == "suporte"

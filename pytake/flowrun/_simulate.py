"""Simulating a flow: run it with the real `FlowExecutor` through ports that only record.

Nothing leaves the process: no WhatsApp message is sent, nothing is written to the database,
no HTTP request is made, and module calls are answered by stubs (or, when the caller passes
``module_calls``, by the real modules for the actions without a stub).  Subflows are loaded
through ``load``, which for the REST API and the CLI reads the flow store.

The conversation is played as in the engine: the first message starts the flow (its text is
not an answer, as a customer's first message in a conversation), each following message is
the customer's next one.  A message is a text (``"2"``), an object ``{"text": ..., "reply_id":
...}`` (``reply_id`` is a tapped button or list row) or ``{"timer": true}``, which fires the
timer the flow waits on (a ``wait``, a ``silence_timeout``, an answer's ``timeout_seconds``).
Messages after the flow ended are not played; the transcript lists them as ``unread``.

`simulate` answers a `Transcript`: one `Turn` per message played, with the steps the flow took
(node and outcome, as ``flow_executions`` would record them), the messages the bot would
send (content objects, as agents send them), the module and HTTP calls, the variables after
the turn and the flow's state; then the final result.  `Transcript.to_json` is what
``POST /api/v1/flows/simulate`` answers.  Pure of HTTP: ``pytake flows simulate`` uses it too.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from pytake.errors import FlowError

from ..flows import Flow
from ._executor import (
    CustomerInput,
    Ended,
    Event,
    FlowExecutor,
    FlowHandoff,
    Result,
    TimerFired,
    Waiting,
)
from ._ports import ModuleResult
from ._state import FlowRun

__all__ = [
    "MAX_MESSAGES",
    "BadSimulation",
    "CallModule",
    "HttpCall",
    "Load",
    "ModuleCall",
    "Step",
    "Transcript",
    "Turn",
    "parse_messages",
    "parse_stubs",
    "simulate",
]

#: Most customer messages one simulation plays.
MAX_MESSAGES: Final = 200
#: The stub key that answers ``http_request`` nodes.
HTTP_STUB: Final = "http"

#: ``await load(flow, version)``: a flow (``version`` None: the published one), or None.
Load = Callable[[str, int | None], Awaitable[Flow | None]]
#: ``await calls(module, action, inputs, timeout, context)``, as `pytake.flowrun.ModuleCalls`.
CallModule = Callable[[str, str, dict[str, Any], float | None, dict[str, Any]],
                       Awaitable[ModuleResult]]


class BadSimulation(FlowError, ValueError):
    """The messages or stubs of a simulation are malformed (the message says where)."""


# --- the transcript --------------------------------------------------------------------------


@attrs.frozen
class Step:
    """A step the flow took: ``node`` of ``flow`` ended with ``outcome`` (``handoff`` and
    ``end`` for the last step), as a ``flow_executions`` row."""

    flow: str
    version: int | None
    node: str
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class ModuleCall:
    module: str
    action: str
    inputs: dict[str, Any]
    outcome: str
    outputs: dict[str, Any]
    error: str
    #: ``stub``, ``live`` (the real module) or ``missing`` (no stub: the ``error`` outcome)
    source: str

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class HttpCall:
    method: str
    url: str
    body: Any
    ok: bool
    answer: Any
    #: ``stub`` or ``missing`` (no stub: the ``error`` outcome); requests are never made
    source: str

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Turn:
    """One customer message played and everything the flow did with it."""

    #: the message as played: ``{"text", "reply_id"}`` or ``{"timer": true}``
    message: dict[str, Any]
    steps: tuple[Step, ...]
    #: what the bot would send, in order (content objects: ``{"type": "text", "text": ...}``)
    sent: tuple[dict[str, Any], ...]
    module_calls: tuple[ModuleCall, ...]
    http_calls: tuple[HttpCall, ...]
    #: the flow's variables after the turn
    variables: dict[str, Any]
    #: the flow's state after the turn (see `result_json`)
    result: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "message": dict(self.message),
            "steps": [s.to_json() for s in self.steps],
            "sent": [dict(m) for m in self.sent],
            "module_calls": [c.to_json() for c in self.module_calls],
            "http_calls": [c.to_json() for c in self.http_calls],
            "variables": self.variables,
            "result": dict(self.result),
        }


@attrs.frozen
class Transcript:
    flow: str
    version: int | None
    turns: tuple[Turn, ...]
    #: the state after the last turn: waiting, handoff or ended (see `result_json`)
    result: dict[str, Any]
    #: messages that came after the flow had ended, not played
    unread: tuple[dict[str, Any], ...] = ()

    @property
    def steps(self) -> list[Step]:
        return [step for turn in self.turns for step in turn.steps]

    @property
    def sent(self) -> list[dict[str, Any]]:
        return [message for turn in self.turns for message in turn.sent]

    @property
    def module_calls(self) -> list[ModuleCall]:
        return [call for turn in self.turns for call in turn.module_calls]

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "version": self.version,
            "turns": [t.to_json() for t in self.turns],
            "result": dict(self.result),
            "unread": [dict(m) for m in self.unread],
        }


def result_json(result: Result, run: FlowRun, timer: float | None) -> dict[str, Any]:
    """``{"status": "waiting", "for", "flow", "node", "timer_seconds"}``, ``{"status":
    "handoff", "team", "note", "priority", "skills"}`` or ``{"status": "ended", "resolved",
    "reason"}``."""
    if isinstance(result, FlowHandoff):
        return {"status": "handoff", "team": result.team, "note": result.note,
                "priority": result.priority, "skills": list(result.skills)}
    if isinstance(result, Ended):
        return {"status": "ended", "resolved": result.resolved, "reason": result.reason}
    return {"status": "waiting", "for": result.what, "flow": run.flow, "node": run.node,
            "timer_seconds": timer}


# --- parsing what the caller gives -----------------------------------------------------------


def parse_messages(messages: Any) -> list[dict[str, Any]]:
    """The customer's messages as ``{"text", "reply_id"}`` or ``{"timer": True}`` objects;
    raises `BadSimulation` naming the first malformed one."""
    if not isinstance(messages, list | tuple):
        raise BadSimulation("messages must be a list of texts or objects")
    if len(messages) > MAX_MESSAGES:
        raise BadSimulation(f"messages may hold at most {MAX_MESSAGES} messages")
    parsed: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if isinstance(message, str):
            parsed.append({"text": message, "reply_id": None})
            continue
        if not isinstance(message, Mapping):
            raise BadSimulation(f"{where} must be a text or an object")
        if message.get("timer") is True and set(message) == {"timer"}:
            if i == 0:
                raise BadSimulation(f"{where}: the first message starts the flow, it cannot "
                                    "be a timer")
            parsed.append({"timer": True})
            continue
        unknown = set(message) - {"text", "reply_id"}
        text, reply_id = message.get("text", ""), message.get("reply_id")
        if unknown or not isinstance(text, str) or not (reply_id is None
                                                         or isinstance(reply_id, str)):
            raise BadSimulation(f"{where} must be {{\"text\": TEXT, \"reply_id\": ID}} or "
                                "{\"timer\": true}")
        parsed.append({"text": text, "reply_id": reply_id})
    return parsed


def _module_result(value: Any, where: str) -> ModuleResult:
    if isinstance(value, ModuleResult):
        return value
    if not isinstance(value, Mapping):
        raise BadSimulation(f"{where} must be an object {{\"outcome\", \"outputs\", "
                            "\"messages\", \"error\"}")
    unknown = set(value) - {"outcome", "outputs", "messages", "error"}
    if unknown:
        raise BadSimulation(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    outcome = value.get("outcome")
    outputs = value.get("outputs", {})
    messages = value.get("messages", [])
    error = value.get("error", "")
    if not isinstance(outcome, str) or not outcome:
        raise BadSimulation(f"{where}.outcome must be a non-empty text")
    if not isinstance(outputs, Mapping):
        raise BadSimulation(f"{where}.outputs must be an object")
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
        raise BadSimulation(f"{where}.messages must be a list of message objects")
    if not isinstance(error, str):
        raise BadSimulation(f"{where}.error must be a text")
    return ModuleResult(outcome, dict(outputs), tuple(dict(m) for m in messages), error)


def _http_answer(value: Any, where: str) -> tuple[bool, Any]:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool):
        return value[0], value[1]
    if not isinstance(value, Mapping) or not isinstance(value.get("ok"), bool) or (
            set(value) - {"ok", "answer"}):
        raise BadSimulation(f"{where} must be an object {{\"ok\": BOOL, \"answer\": JSON}}")
    return bool(value["ok"]), value.get("answer")


def parse_stubs(stubs: Any) -> dict[str, list[Any]]:
    """Stubs by ``module.action`` (each a `ModuleResult` or ``{"outcome", "outputs",
    "messages", "error"}``) and ``http`` (``{"ok", "answer"}``), each one answer or a list of
    answers for successive calls (the last one repeats).  Raises `BadSimulation`."""
    if stubs is None:
        return {}
    if not isinstance(stubs, Mapping):
        raise BadSimulation("stubs must be an object keyed by module.action")
    table: dict[str, list[Any]] = {}
    for key, value in stubs.items():
        where = f"stubs[{key!r}]"
        if not isinstance(key, str) or (key != HTTP_STUB and key.count(".") != 1):
            raise BadSimulation(f"{where}: a stub key is module.action or {HTTP_STUB!r}")
        answers = list(value) if isinstance(value, list) else [value]
        if not answers:
            raise BadSimulation(f"{where} is an empty list")
        parse = _http_answer if key == HTTP_STUB else _module_result
        table[key] = [parse(answer, f"{where}[{i}]" if isinstance(value, list) else where)
                      for i, answer in enumerate(answers)]
    return table


# --- the recording ports ---------------------------------------------------------------------


class _Ports:
    """`FlowPorts` that record what the flow does and touch nothing."""

    def __init__(self, top: Flow, load: Load, stubs: dict[str, list[Any]],
                 module_calls: CallModule | None, customer: dict[str, Any],
                 window_open: bool, closed_teams: frozenset[str], tenant: str) -> None:
        self._load = load
        self._flows: dict[tuple[str, int | None], Flow] = {(top.id, top.version): top}
        self._stubs = stubs
        self._used: dict[str, int] = {}
        self._module_calls = module_calls
        self._customer = customer
        self._window_open = window_open
        self._closed_teams = closed_teams
        self._tenant = tenant
        self.variables: dict[str, Any] = dict(top.variables)
        #: the token and delay of the timer the flow waits on, if any
        self.timer: tuple[int, float] | None = None
        self.new_turn()

    def new_turn(self) -> None:
        self.steps: list[Step] = []
        self.sent: list[dict[str, Any]] = []
        self.calls: list[ModuleCall] = []
        self.http_calls: list[HttpCall] = []

    def _stub(self, key: str) -> Any:
        answers = self._stubs.get(key)
        if not answers:
            return None
        used = self._used.get(key, 0)
        self._used[key] = used + 1
        return answers[min(used, len(answers) - 1)]

    async def send(self, body: dict[str, Any]) -> None:
        self.sent.append(copy.deepcopy(dict(body)))

    async def call_module(self, module: str, action: str, inputs: dict[str, Any],
                          timeout: float | None) -> ModuleResult:
        key = f"{module}.{action}"
        stub = self._stub(key)
        result: ModuleResult
        if stub is not None:
            result, source = stub, "stub"
        elif self._module_calls is not None:
            context = {"conversation_id": None, "conversation": "simulation",
                       "customer": dict(self._customer), "variables": dict(self.variables),
                       "tenant": self._tenant}
            result = await self._module_calls(module, action, inputs, timeout, context)
            source = "live"
        else:
            result = ModuleResult("error", error=f"no stub for {key} in this simulation")
            source = "missing"
        self.calls.append(ModuleCall(module, action, copy.deepcopy(inputs), result.outcome,
                                     copy.deepcopy(dict(result.outputs)), result.error, source))
        return result

    async def http(self, method: str, url: str, headers: dict[str, str], body: Any,
                   timeout: float) -> tuple[bool, Any]:
        stub = self._stub(HTTP_STUB)
        if stub is None:
            ok, answer, source = False, "no http stub in this simulation", "missing"
        else:
            (ok, answer), source = stub, "stub"
        self.http_calls.append(HttpCall(method, url, copy.deepcopy(body), ok,
                                        copy.deepcopy(answer), source))
        return ok, copy.deepcopy(answer)

    def window_open(self) -> bool:
        return self._window_open

    async def team_open(self, team: str) -> bool:
        return team not in self._closed_teams

    def wake_at(self, seconds: float, token: int) -> None:
        self.timer = (token, seconds)

    async def load(self, flow: str, version: int | None) -> Flow | None:
        found = self._flows.get((flow, version))
        if found is None:
            found = await self._load(flow, version)
            if found is not None:
                self._flows.setdefault((flow, version), found)
                self._flows.setdefault((flow, found.version), found)
        return found

    async def record(self, flow: str, version: int | None, node: str, step: str,
                     variables: dict[str, Any]) -> None:
        self.steps.append(Step(flow, version, node, step))
        self.variables = dict(variables)


# --- the simulation --------------------------------------------------------------------------


async def simulate(
    flow: Flow,
    messages: Sequence[str | Mapping[str, Any]],
    *,
    load: Load,
    stubs: Mapping[str, Any] | None = None,
    module_calls: CallModule | None = None,
    customer: Mapping[str, Any] | None = None,
    window_open: bool = True,
    closed_teams: Sequence[str] = (),
    tenant: str = "default",
) -> Transcript:
    """Play ``messages`` to ``flow`` and record what it does (see the module docstring).

    ``load`` finds subflows; ``stubs`` answer module actions and HTTP requests (see
    `parse_stubs`); ``module_calls`` answers the module actions without a stub (no stub and
    no ``module_calls``: the ``error`` outcome, as a failing module).  ``customer`` is the
    ``customer`` namespace of templates and conditions (``{"name", "attributes": {...}}``);
    ``window_open`` answers ``window_check`` nodes and ``closed_teams`` the ``team_open``
    nodes (every other team is open).  Raises `BadSimulation` for malformed messages or stubs.
    """
    played = parse_messages(list(messages))
    ports = _Ports(flow, load, parse_stubs(stubs), module_calls, dict(customer or {}),
                   window_open, frozenset(closed_teams), tenant)
    executor = FlowExecutor(ports, customer=dict(customer or {}), conversation={})
    turns: list[Turn] = []
    run: FlowRun | None = None
    result: Result = Waiting("answer")
    unread: list[dict[str, Any]] = []
    for i, message in enumerate(played or [{"text": "", "reply_id": None}]):
        if run is not None and not isinstance(result, Waiting):
            unread = played[i:]
            break
        ports.new_turn()
        if run is None:
            run, result = await executor.start(flow)
        else:
            event: Event
            if message.get("timer"):
                # No timer pending: a token no wait has, which the executor ignores.
                event = TimerFired(ports.timer[0] if ports.timer is not None else -1)
            else:
                event = CustomerInput(message["text"], message["reply_id"])
            result = await executor.resume(run, event)
        # A timer is pending while the flow waits with the token it was set for.
        if not isinstance(result, Waiting) or (ports.timer or (None,))[0] != run.token:
            ports.timer = None
        timer = ports.timer[1] if ports.timer is not None else None
        turns.append(Turn(
            message=dict(message),
            steps=tuple(ports.steps),
            sent=tuple(ports.sent),
            module_calls=tuple(ports.calls),
            http_calls=tuple(ports.http_calls),
            variables=copy.deepcopy(run.variables),
            result=result_json(result, run, timer),
        ))
    final = turns[-1].result if turns else {}
    return Transcript(flow.id, flow.version, tuple(turns), final, tuple(unread))

"""The flow executor: runs a validated `pytake.flows.Flow` for one conversation.

It is driven by three events — the flow starts, the customer writes, a timer fires — and
runs nodes until one waits (an answer, a delay, the customer's silence) or the flow ends
(``end``, ``handoff``, a ``return`` outside a subflow).  Everything it does to the world goes
through `FlowPorts`; everything it must remember is in `FlowRun`, which the
ConversationActor snapshots.  Nothing a customer types can raise out of here: answers are
checked by validators that never raise, texts are rendered by templates that never raise,
and a module that fails or hangs becomes the node's ``error`` outcome.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import attrs

from .. import flows
from ..flows import (
    BODY,
    CLOSED,
    ERROR,
    FALSE,
    INVALID,
    NEXT,
    OPEN,
    REPLY,
    TIMEOUT,
    TRUE,
    Accepted,
    Flow,
    check_answer,
    evaluate,
    render,
    render_value,
)
from ._ports import FlowPorts
from ._state import FlowRun, Frame

log = logging.getLogger("pytake.flows")

#: Nodes one event may run before the executor stops the flow (validation already refuses
#: cycles that never wait; this is the belt to those braces).
MAX_STEPS_PER_EVENT = 200
#: Subflows inside subflows, at most.
MAX_DEPTH = 8


@attrs.frozen
class FlowHandoff:
    team: str
    note: str
    priority: int = 0
    skills: tuple[str, ...] = ()


@attrs.frozen
class Ended:
    resolved: bool
    reason: str = ""


@attrs.frozen
class Waiting:
    """The flow waits (for ``what``: ``answer``, ``timer`` or ``silence``)."""

    what: str


Result = FlowHandoff | Ended | Waiting


@attrs.frozen
class Start:
    pass


@attrs.frozen
class CustomerInput:
    text: str = ""
    #: the id of a tapped button or list row
    reply_id: str | None = None


@attrs.frozen
class TimerFired:
    token: int


Event = Start | CustomerInput | TimerFired

_WAIT = object()


class FlowExecutor:
    def __init__(self, ports: FlowPorts, customer: dict[str, Any] | None = None,
                 conversation: dict[str, Any] | None = None) -> None:
        self.ports = ports
        self.customer = customer or {}
        self.conversation = conversation or {}

    def context(self, run: FlowRun) -> dict[str, Any]:
        return {"vars": run.variables, "customer": self.customer,
                "conversation": self.conversation}

    async def start(self, flow: Flow) -> tuple[FlowRun, Result]:
        run = FlowRun(flow=flow.id, version=flow.version, node=flow.start,
                      variables=dict(flow.variables))
        return run, await self._run_from(run, flow, flow.start)

    async def resume(self, run: FlowRun, event: Event) -> Result:
        """Feed ``event`` to a flow that waits; run on from there."""
        flow = await self.ports.load(run.flow, run.version)
        if flow is None or not flow.has_node(run.node):
            log.error("flow %s v%s is gone; the bot stops", run.flow, run.version)
            return Ended(False, "flow not found")
        node = flow.node(run.node)
        outcome = await self._answer(run, node, event)
        if outcome is _WAIT:
            return Waiting(run.waiting or "answer")
        assert isinstance(outcome, str)
        await self.ports.record(run.flow, run.version, node.id, outcome, run.variables)
        return await self._follow(run, flow, node.id, outcome)

    # --- walking -----------------------------------------------------------------------------

    async def _follow(self, run: FlowRun, flow: Flow, node_id: str, outcome: str) -> Result:
        target = flow.target(node_id, outcome)
        if target is None:
            log.warning("flow %s: node %s has no edge for %r; the flow ends", flow.id,
                        node_id, outcome)
            return Ended(False, f"no edge for {outcome}")
        return await self._run_from(run, flow, target)

    async def _run_from(self, run: FlowRun, flow: Flow, node_id: str) -> Result:
        run.waiting = None
        run.retries = 0
        for _ in range(MAX_STEPS_PER_EVENT):
            run.node = node_id
            run.steps += 1
            node = flow.node(node_id)
            started = time.perf_counter()
            result = await self._enter(run, flow, node)
            if isinstance(result, (FlowHandoff, Ended)):
                await self.ports.record(run.flow, run.version, node.id,
                                        "handoff" if isinstance(result, FlowHandoff) else "end",
                                        run.variables)
                if isinstance(result, Ended) and isinstance(node, flows.ReturnNode) and run.stack:
                    caller, target = await self._return(run)
                    if caller is None:
                        return Ended(False, "caller flow is gone")
                    flow, node_id = caller, target
                    continue
                return result
            if result is _WAIT:
                return Waiting(run.waiting or "answer")
            if isinstance(result, tuple):  # entered a subflow
                flow, node_id = result
                continue
            assert isinstance(result, str)
            log.debug("flow %s node %s → %s in %.1f ms", flow.id, node.id, result,
                      (time.perf_counter() - started) * 1000)
            await self.ports.record(run.flow, run.version, node.id, result, run.variables)
            following = flow.target(node.id, result)
            if following is None:
                return Ended(False, f"no edge for {result} at {node.id}")
            node_id = following
        log.error("flow %s ran %d nodes for one event; stopped", flow.id, MAX_STEPS_PER_EVENT)
        return Ended(False, "too many steps")

    async def _return(self, run: FlowRun) -> tuple[Flow | None, str]:
        frame = run.stack.pop()
        caller = await self.ports.load(frame.flow, frame.version)
        if caller is None:
            return None, ""
        run.flow, run.version = frame.flow, frame.version
        target = caller.target(frame.node, NEXT)
        return caller, target or frame.node

    # --- entering a node ---------------------------------------------------------------------

    async def _enter(self, run: FlowRun, flow: Flow, node: Any) -> Any:
        ctx = self.context(run)
        if isinstance(node, flows.SendTextNode):
            await self.ports.send({"type": "text", "text": render(node.text, ctx)})
            return NEXT
        if isinstance(node, flows.SendMediaNode):
            content = {"type": node.media_type}
            for key in ("media_id", "link", "caption", "filename"):
                value = getattr(node, key)
                if value:
                    content["id" if key == "media_id" else key] = render(value, ctx)
            await self.ports.send(content)
            return NEXT
        if isinstance(node, flows.SendTemplateNode):
            await self.ports.send({"type": "template", "name": node.name,
                                   "language": node.language,
                                   "components": render_value(list(node.components), ctx)})
            return NEXT
        if isinstance(node, (flows.SendButtonsNode, flows.SendListNode, flows.AskNode)):
            await self._prompt(run, node, retry=False)
            return self._wait(run, "answer", node.timeout_seconds)
        if isinstance(node, flows.ConditionNode):
            return TRUE if evaluate(node.when, ctx) else FALSE
        if isinstance(node, flows.SetVariableNode):
            run.variables[node.variable] = render_value(node.value, ctx)
            return NEXT
        if isinstance(node, (flows.CallModuleNode, flows.ExtensionNode)):
            return await self._module(run, node, ctx)
        if isinstance(node, flows.HttpRequestNode):
            ok, answer = await self.ports.http(
                node.method, render(node.url, ctx), render_value(dict(node.headers), ctx),
                render_value(node.body, ctx), node.timeout_seconds)
            if node.output:
                run.variables[node.output] = answer
            return NEXT if ok else ERROR
        if isinstance(node, flows.HandoffNode):
            return FlowHandoff(node.team, node.note_for(ctx), node.priority, tuple(node.skills))
        if isinstance(node, flows.WaitNode):
            return self._wait(run, "timer", node.seconds)
        if isinstance(node, flows.SilenceTimeoutNode):
            return self._wait(run, "silence", node.seconds)
        if isinstance(node, flows.WindowCheckNode):
            return OPEN if self.ports.window_open() else CLOSED
        if isinstance(node, flows.TeamOpenNode):
            return OPEN if await self.ports.team_open(node.team) else CLOSED
        if isinstance(node, flows.LoopNode):
            count = run.loops.get(node.id, 0)
            step = node.step(count, ctx)
            if step.outcome == BODY:
                run.loops[node.id] = count + 1
                if node.for_each is not None:
                    run.variables[node.item] = step.item
            else:
                run.loops.pop(node.id, None)
            return step.outcome
        if isinstance(node, flows.SubflowNode):
            sub = await self.ports.load(node.flow, node.version)
            if sub is None or len(run.stack) >= MAX_DEPTH:
                return ERROR
            run.stack.append(Frame(run.flow, run.version, node.id))
            run.flow, run.version = sub.id, sub.version
            for name, value in sub.variables.items():
                run.variables.setdefault(name, value)
            return sub, sub.start
        if isinstance(node, flows.ReturnNode):
            return Ended(False, "return")
        if isinstance(node, flows.EndNode):
            return Ended(node.resolved)
        log.error("flow %s: node type %s cannot run here", flow.id, node.type)
        return ERROR

    def _wait(self, run: FlowRun, what: str, seconds: float | None) -> object:
        run.waiting = what
        run.token += 1
        if seconds is not None:
            self.ports.wake_at(float(seconds), run.token)
        return _WAIT

    async def _prompt(self, run: FlowRun, node: Any, *, retry: bool) -> None:
        ctx = self.context(run)
        text = render(node.retry_text if retry and node.retry_text else node.text, ctx)
        if isinstance(node, flows.AskNode):
            await self.ports.send({"type": "text", "text": text})
            return
        content: dict[str, Any] = {"type": "buttons" if isinstance(node, flows.SendButtonsNode)
                                   else "list", "body": text}
        if node.header:
            content["header"] = render(node.header, ctx)
        if node.footer:
            content["footer"] = render(node.footer, ctx)
        if isinstance(node, flows.SendButtonsNode):
            content["buttons"] = [{"id": b.id, "title": b.title} for b in node.buttons]
        else:
            content["button"] = node.button
            content["sections"] = [
                {"title": s.title, "rows": [{"id": r.id, "title": r.title,
                                             "description": r.description} for r in s.rows]}
                for s in node.sections
            ]
        await self.ports.send(content)

    async def _module(self, run: FlowRun, node: Any, ctx: dict[str, Any]) -> str:
        if isinstance(node, flows.ExtensionNode):
            module, action, inputs, output, timeout = (node.module, node.action, node.fields,
                                                       None, None)
        else:
            module, action, inputs, output, timeout = (node.module, node.action, node.inputs,
                                                       node.output, node.timeout_seconds)
        result = await self.ports.call_module(module, action, render_value(dict(inputs), ctx),
                                              timeout)
        if output:
            run.variables[output] = dict(result.outputs)
        else:
            run.variables.update(result.outputs)
        for message in result.messages:
            await self.ports.send(dict(message))
        if result.error:
            run.variables["last_error"] = result.error
        return result.outcome

    # --- answers and timers for a waiting node -----------------------------------------------

    async def _answer(self, run: FlowRun, node: Any, event: Event) -> object:
        if isinstance(event, TimerFired):
            if event.token != run.token or run.waiting is None:
                return _WAIT  # a timer of an earlier wait
            if run.waiting == "timer":
                return NEXT
            if run.waiting == "silence" and isinstance(node, flows.SilenceTimeoutNode):
                if run.retries < node.reminders:
                    run.retries += 1
                    if node.reminder:
                        await self.ports.send({"type": "text",
                                               "text": render(node.reminder, self.context(run))})
                    return self._wait(run, "silence", node.seconds)
                return TIMEOUT
            return TIMEOUT  # an ask or a menu that has waited long enough
        if not isinstance(event, CustomerInput):
            return _WAIT
        if run.waiting == "timer":
            return _WAIT  # the customer writes during a delay: the delay runs on
        if isinstance(node, flows.SilenceTimeoutNode):
            if node.variable:
                run.variables[node.variable] = event.text
            return REPLY
        if isinstance(node, (flows.SendButtonsNode, flows.SendListNode)):
            choice = node.choice(event.reply_id, event.text if event.reply_id is None else None)
            if choice is not None:
                return choice
            return await self._wrong(run, node)
        if isinstance(node, flows.AskNode):
            verdict = check_answer(node.validator, event.text)
            if isinstance(verdict, Accepted):
                run.variables[node.variable] = verdict.value
                return NEXT
            log.info("flow %s: answer at %s rejected: %s", run.flow, node.id, verdict.reason)
            return await self._wrong(run, node)
        return _WAIT

    async def _wrong(self, run: FlowRun, node: Any) -> object:
        run.retries += 1
        if node.max_retries is not None and run.retries > node.max_retries:
            return INVALID
        await self._prompt(run, node, retry=True)
        return self._wait(run, "answer", node.timeout_seconds)


__all__ = [
    "CustomerInput",
    "Ended",
    "Event",
    "FlowExecutor",
    "FlowHandoff",
    "Result",
    "Start",
    "TimerFired",
    "Waiting",
]

"""Running flows: the executor (`FlowExecutor`), the state a conversation keeps of a running
flow (`FlowRun`, snapshotted with the ConversationActor) and the ports it acts through."""

from ._executor import (
    CustomerInput,
    Ended,
    Event,
    FlowExecutor,
    Handoff,
    Result,
    Start,
    TimerFired,
    Waiting,
)
from ._ports import FlowPorts, ModuleResult
from ._state import FlowRun, Frame

__all__ = [
    "CustomerInput",
    "Ended",
    "Event",
    "FlowExecutor",
    "FlowPorts",
    "FlowRun",
    "Frame",
    "Handoff",
    "ModuleResult",
    "Result",
    "Start",
    "TimerFired",
    "Waiting",
]

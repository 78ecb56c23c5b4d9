"""Running flows: the executor (`FlowExecutor`), the state a conversation keeps of a running
flow (`FlowRun`, snapshotted with the ConversationActor) and the ports it acts through."""

from ._executor import (
    CustomerInput,
    Ended,
    Event,
    FlowExecutor,
    FlowHandoff,
    Result,
    Start,
    TimerFired,
    Waiting,
)
from ._library import FlowLibrary, StoredFlow, in_share, publish, set_candidate, store_draft
from ._metrics import flow_metrics
from ._modules import ModuleCalls
from ._ports import FlowPorts, ModuleResult
from ._simulate import BadSimulation, CallModule, parse_messages, parse_stubs, simulate
from ._state import FlowRun, Frame
from ._versions import (
    FlowConflict,
    FlowNotFound,
    flow_detail,
    list_flows,
    publish_version,
    rollback,
    save_draft,
    share_version,
    version_document,
)

__all__ = [
    "BadSimulation",
    "CallModule",
    "CustomerInput",
    "Ended",
    "Event",
    "FlowConflict",
    "FlowExecutor",
    "FlowHandoff",
    "FlowLibrary",
    "FlowNotFound",
    "FlowPorts",
    "FlowRun",
    "Frame",
    "ModuleCalls",
    "ModuleResult",
    "Result",
    "Start",
    "StoredFlow",
    "TimerFired",
    "Waiting",
    "flow_detail",
    "flow_metrics",
    "in_share",
    "list_flows",
    "parse_messages",
    "parse_stubs",
    "publish",
    "publish_version",
    "rollback",
    "save_draft",
    "set_candidate",
    "share_version",
    "simulate",
    "store_draft",
    "version_document",
]

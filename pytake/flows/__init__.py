"""Flows: the documented JSON format of bot conversations, its validation, and the pure pieces
the engine runs them with.  No I/O, no trio, no database here; the executor lives in the
ConversationActor and calls into this package.

Layers, each in one module that states its rules up front:

- ``_model`` — the document as frozen attrs classes: one class per node type with its
  fields and outcomes, `Edge`, `Flow` (walk it with `Flow.next_node`), the cattrs converter.
- ``_validate`` — `validate` (every problem at once, each with a path) and `load_flow`.
- ``_validators`` — the ``ask`` answer validators (options, regex, number, e-mail, date, CPF,
  CNPJ) and `check_answer`.
- ``_template`` — `render`: ``{{customer.name}}`` interpolation that never raises.
- ``_conditions`` — the JSON condition language and `evaluate`.
- ``_problems`` — `Problem` and its `Code`.
- ``schema/flow.schema.json`` — the JSON Schema of the format (`flow_schema`).

Running a flow, in short::

    flow = load_flow(document, node_types=registry.node_types())   # InvalidFlow if broken
    node = flow.start_node
    ...                      # do what the node says (render texts with render(text, ctx))
    node = flow.next_node(node, outcome)     # None after end, handoff and return

Users import from here, never from the underscore modules.  See ``docs/flows.md``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from ._conditions import (
    OPERATORS,
    All,
    AnyOf,
    Compare,
    Condition,
    Not,
    condition_problems,
    condition_to_json,
    evaluate,
    parse_condition,
)
from ._model import (
    BODY,
    CLOSED,
    DONE,
    ERROR,
    EXCEEDED,
    FALSE,
    FORMAT,
    INVALID,
    NEXT,
    NODE_TYPES,
    OPEN,
    REPLY,
    RESERVED_CHOICES,
    TIMEOUT,
    TRUE,
    AskNode,
    BaseNode,
    CallModuleNode,
    ConditionNode,
    Edge,
    EndNode,
    ExtensionNode,
    Flow,
    HandoffNode,
    HttpRequestNode,
    LoopNode,
    LoopStep,
    MenuSection,
    Node,
    NodeTypeLike,
    ParamLike,
    ReturnNode,
    SendButtonsNode,
    SendListNode,
    SendMediaNode,
    SendTemplateNode,
    SendTextNode,
    SetVariableNode,
    SilenceTimeoutNode,
    SubflowNode,
    TeamOpenNode,
    WaitNode,
    WindowCheckNode,
    flow_to_json,
)
from ._problems import Code, Problem
from ._template import MISSING, NAMESPACES, is_variable_path, lookup, render, render_value
from ._validate import (
    ID_PATTERN,
    LOOP_MAX_ITERATIONS,
    MAX_RETRIES,
    MAX_WAIT_SECONDS,
    InvalidFlow,
    load_flow,
    validate,
)
from ._validators import (
    REGEX_INPUT_MAX,
    VALIDATORS,
    Accepted,
    AnswerValidator,
    CnpjValidator,
    CpfValidator,
    DateValidator,
    EmailValidator,
    NumberValidator,
    OptionsValidator,
    RegexValidator,
    Rejected,
    TextValidator,
    Verdict,
    check_answer,
    fold,
    match_option,
    normalize_cnpj,
    normalize_cpf,
    parse_date,
    parse_number,
    regex_problem,
)

__all__ = [
    "BODY",
    "CLOSED",
    "DONE",
    "ERROR",
    "EXCEEDED",
    "FALSE",
    "FORMAT",
    "ID_PATTERN",
    "INVALID",
    "LOOP_MAX_ITERATIONS",
    "MAX_RETRIES",
    "MAX_WAIT_SECONDS",
    "MISSING",
    "NAMESPACES",
    "NEXT",
    "NODE_TYPES",
    "OPEN",
    "OPERATORS",
    "REGEX_INPUT_MAX",
    "REPLY",
    "RESERVED_CHOICES",
    "TIMEOUT",
    "TRUE",
    "VALIDATORS",
    "Accepted",
    "All",
    "AnswerValidator",
    "AnyOf",
    "AskNode",
    "BaseNode",
    "CallModuleNode",
    "CnpjValidator",
    "Code",
    "Compare",
    "Condition",
    "ConditionNode",
    "CpfValidator",
    "DateValidator",
    "Edge",
    "EmailValidator",
    "EndNode",
    "ExtensionNode",
    "Flow",
    "HandoffNode",
    "HttpRequestNode",
    "InvalidFlow",
    "LoopNode",
    "LoopStep",
    "MenuSection",
    "Node",
    "NodeTypeLike",
    "Not",
    "NumberValidator",
    "OptionsValidator",
    "ParamLike",
    "Problem",
    "RegexValidator",
    "Rejected",
    "ReturnNode",
    "SendButtonsNode",
    "SendListNode",
    "SendMediaNode",
    "SendTemplateNode",
    "SendTextNode",
    "SetVariableNode",
    "SilenceTimeoutNode",
    "SubflowNode",
    "TeamOpenNode",
    "TextValidator",
    "Verdict",
    "WaitNode",
    "WindowCheckNode",
    "check_answer",
    "condition_problems",
    "condition_to_json",
    "evaluate",
    "flow_schema",
    "flow_to_json",
    "fold",
    "is_variable_path",
    "load_flow",
    "lookup",
    "match_option",
    "normalize_cnpj",
    "normalize_cpf",
    "parse_condition",
    "parse_date",
    "parse_number",
    "regex_problem",
    "render",
    "render_value",
    "validate",
]


@cache
def _schema_text() -> str:
    return files(__name__).joinpath("schema", "flow.schema.json").read_text(encoding="utf-8")


def flow_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the flow format, shipped with the package.

    Editors and the flow builder use it for completion and quick checks; `validate` is the
    authority (the schema cannot express edges, reachability, loops or check digits)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema

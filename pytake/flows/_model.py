"""The flow document as frozen attrs classes, and the cattrs converter between them and JSON.

Everything about the *shape* of a flow lives in this file: one class per node type (its
fields, the outcomes it emits, whether it waits for the customer, which of its strings are
templates), the edge, the flow, and the converter.  Whether a document makes sense as a whole
(edges, reachability, loops, WhatsApp limits) is `pytake.flows._validate`'s job; the engine
runs only flows that passed it (`pytake.flows.load_flow`).

A document::

    {"format": 1, "id": "boleto", "name": "...", "start": "ask_cpf",
     "nodes": [{"id": "ask_cpf", "type": "ask", ...}, ...],
     "edges": [{"from": "ask_cpf", "on": "next", "to": "lookup"}, ...]}

An edge leaves a node on one of its *outcomes* (``on``, default ``"next"``); every outcome a
node can emit must have exactly one edge (see ``docs/flows.md`` for every node type).
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol, TypeAlias, TypeVar

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, mapping_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from pytake.flows._conditions import Condition, condition_to_json, evaluate, parse_condition
from pytake.flows._problems import Code, NestedProblems, Problem, join_path, key_path
from pytake.flows._template import format_value, lookup, render
from pytake.flows._validators import (
    VALIDATORS,
    AnswerValidator,
    fold,
    match_option,
)
from pytake.whatsapp import Button, ListRow, ListSection

#: The format version this PyTake reads and writes (the document's ``format``).
FORMAT: Final = 1

# --- outcomes ----------------------------------------------------------------------------------

#: The usual way on: a message was sent, an answer accepted, a request succeeded.
NEXT: Final = "next"
#: An ask or menu got no acceptable answer after ``max_retries`` re-prompts.
INVALID: Final = "invalid"
#: An ask or menu got no answer within ``timeout_seconds``; a silence timeout ran out.
TIMEOUT: Final = "timeout"
#: A module call, HTTP request or subflow failed.
ERROR: Final = "error"
TRUE: Final = "true"
FALSE: Final = "false"
#: The 24-hour window is open / the team is in business hours.
OPEN: Final = "open"
CLOSED: Final = "closed"
#: The customer wrote before a silence timeout ran out.
REPLY: Final = "reply"
#: A loop runs its body once more / finished / hit ``max_iterations`` first.
BODY: Final = "body"
DONE: Final = "done"
EXCEEDED: Final = "exceeded"
#: Outcome names a button or list row id may not take.
RESERVED_CHOICES: Final = frozenset({INVALID, TIMEOUT})


# --- module-declared node types ----------------------------------------------------------------


class ParamLike(Protocol):
    """An input of a module-declared node type (`pytake.modules.Param` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def required(self) -> bool: ...


class NodeTypeLike(Protocol):
    """A node type declared outside this package, by a module's manifest
    (`pytake.modules.NodeType` fits): ``type`` is ``<module>.<action>``, its fields are the
    action's ``inputs``, its exits the action's ``outcomes``."""

    @property
    def type(self) -> str: ...

    @property
    def outcomes(self) -> Sequence[str]: ...

    @property
    def inputs(self) -> Sequence[ParamLike]: ...


# --- nodes -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BaseNode:
    """What every node has: an ``id`` (unique in the flow), an optional ``label`` for people
    and ``ui`` data for the flow builder (positions, colours), which the engine ignores."""

    #: The node type's name in documents (``"send_text"``).
    TYPE: ClassVar[str] = ""
    #: Whether the node waits for the customer (or for time), which bounds a cycle through it.
    WAITS: ClassVar[bool] = False
    #: Fields whose strings are rendered with `pytake.flows.render` (deeply, for JSON values).
    TEMPLATES: ClassVar[tuple[str, ...]] = ()
    #: What `outcomes` answers for a type whose outcomes do not depend on the node's fields.
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({NEXT})

    id: str
    label: str | None = None
    ui: dict[str, Any] | None = None

    @property
    def type(self) -> str:
        return self.TYPE

    def outcomes(self) -> frozenset[str] | None:
        """Every outcome this node can emit, each needing an edge; ``None`` when the node
        type does not know them (a module action no registry describes)."""
        return self.OUTCOMES


class _Terminal:
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset()


def _reply_outcomes(
    choices: Iterable[str], max_retries: int | None, timeout_seconds: int | None
) -> frozenset[str]:
    result = set(choices)
    if max_retries is not None:
        result.add(INVALID)
    if timeout_seconds is not None:
        result.add(TIMEOUT)
    return frozenset(result)


@attrs.frozen(kw_only=True)
class SendTextNode(BaseNode):
    """Send ``text``. Outcome: ``next``."""

    TYPE: ClassVar[str] = "send_text"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("text",)

    text: str
    preview_url: bool = False


@attrs.frozen(kw_only=True)
class SendMediaNode(BaseNode):
    """Send an image, video, audio, document or sticker, by uploaded ``media_id`` or by
    ``link`` (exactly one). Outcome: ``next``."""

    TYPE: ClassVar[str] = "send_media"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("media_id", "link", "caption", "filename")

    media_type: str
    media_id: str | None = None
    link: str | None = None
    caption: str | None = None
    filename: str | None = None


@attrs.frozen(kw_only=True)
class _Menu(BaseNode):
    """What the nodes that wait for the customer's choice share."""

    WAITS: ClassVar[bool] = True

    #: The message body.
    text: str
    header: str | None = None
    footer: str | None = None
    #: Body of the menu sent again after an answer that is not a choice (default: ``text``).
    retry_text: str | None = None
    #: Re-prompts after the first wrong answer before ``invalid``; ``None``: re-prompt forever.
    max_retries: int | None = None
    #: Seconds to wait for an answer before ``timeout``; ``None``: wait as long as it takes.
    timeout_seconds: int | None = None

    def _choices(self) -> Sequence[tuple[str, str]]:
        raise NotImplementedError

    def choice_ids(self) -> tuple[str, ...]:
        """The ids of the choices, which are also outcome names, in order."""
        return tuple(choice_id for choice_id, _ in self._choices())

    def outcomes(self) -> frozenset[str] | None:
        return _reply_outcomes(self.choice_ids(), self.max_retries, self.timeout_seconds)

    def choice(self, reply_id: str | None = None, text: str | None = None) -> str | None:
        """The outcome for the customer's answer, or ``None`` for an answer that is no choice.

        ``reply_id`` is the id of a tapped button or list row (from the interactive reply);
        ``text`` what the customer typed instead, matched against the titles and ids like the
        ``options`` validator (case, accents and end punctuation ignored; ``"2"`` is the
        second choice)."""
        choices = self._choices()
        if reply_id is not None:
            return reply_id if any(reply_id == cid for cid, _ in choices) else None
        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            return None
        titles = [title for _, title in choices]
        matched = match_option(text, titles)
        if matched is not None:
            return choices[titles.index(matched)][0]
        wanted = fold(text)
        for choice_id, _ in choices:
            if fold(choice_id) == wanted:
                return choice_id
        return None


@attrs.frozen(kw_only=True)
class SendButtonsNode(_Menu):
    """Send up to three reply buttons and wait for a choice. Outcomes: each button's ``id``,
    ``invalid`` (with ``max_retries``), ``timeout`` (with ``timeout_seconds``)."""

    TYPE: ClassVar[str] = "send_buttons"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("text", "header", "footer", "retry_text")

    buttons: tuple[Button, ...]

    def _choices(self) -> Sequence[tuple[str, str]]:
        return [(b.id, b.title) for b in self.buttons]


@attrs.frozen(kw_only=True)
class MenuSection:
    """A section of a list message (``title`` required when there are several)."""

    title: str | None = None
    rows: tuple[ListRow, ...]

    def outbound(self) -> ListSection:
        """This section for `pytake.whatsapp.list_message`."""
        return ListSection(self.title, self.rows)


@attrs.frozen(kw_only=True)
class SendListNode(_Menu):
    """Send a list message and wait for a row. Outcomes: each row's ``id``, ``invalid``
    (with ``max_retries``), ``timeout`` (with ``timeout_seconds``)."""

    TYPE: ClassVar[str] = "send_list"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("text", "header", "footer", "retry_text")

    #: The label of the button that opens the list.
    button: str
    sections: tuple[MenuSection, ...]

    def _choices(self) -> Sequence[tuple[str, str]]:
        return [(row.id, row.title) for section in self.sections for row in section.rows]

    def outbound_sections(self) -> list[ListSection]:
        """The sections for `pytake.whatsapp.list_message`."""
        return [section.outbound() for section in self.sections]


@attrs.frozen(kw_only=True)
class SendTemplateNode(BaseNode):
    """Send an approved template (allowed outside the 24-hour window); strings inside
    ``components`` are templates. Outcome: ``next``."""

    TYPE: ClassVar[str] = "send_template"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("components",)

    name: str
    language: str
    components: tuple[dict[str, Any], ...] = ()


@attrs.frozen(kw_only=True)
class AskNode(BaseNode):
    """Ask ``text``, check the answer with ``validator`` and store the normalized value in
    ``vars.<variable>``. Outcomes: ``next``, ``invalid`` (with ``max_retries``), ``timeout``
    (with ``timeout_seconds``)."""

    TYPE: ClassVar[str] = "ask"
    WAITS: ClassVar[bool] = True
    TEMPLATES: ClassVar[tuple[str, ...]] = ("text", "retry_text")

    text: str
    variable: str
    validator: AnswerValidator | None = None
    #: Sent instead of ``text`` after an invalid answer (default: ``text`` again).
    retry_text: str | None = None
    max_retries: int | None = None
    timeout_seconds: int | None = None

    def outcomes(self) -> frozenset[str] | None:
        return _reply_outcomes((NEXT,), self.max_retries, self.timeout_seconds)


@attrs.frozen(kw_only=True)
class ConditionNode(BaseNode):
    """Branch on ``when`` (see `pytake.flows.evaluate`). Outcomes: ``true``, ``false``."""

    TYPE: ClassVar[str] = "condition"
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({TRUE, FALSE})

    when: Condition


@attrs.frozen(kw_only=True)
class SetVariableNode(BaseNode):
    """Set ``vars.<variable>`` to ``value`` (any JSON; strings inside are templates).
    Outcome: ``next``."""

    TYPE: ClassVar[str] = "set_variable"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("value",)

    variable: str
    value: Any


@attrs.frozen(kw_only=True)
class CallModuleNode(BaseNode):
    """Call ``module``'s ``action`` with ``inputs`` (strings inside are templates).

    The module's outputs go to ``vars.<output>`` as one object, or straight into ``vars``
    when ``output`` is not set.  Outcomes: the action's (from its manifest), ``error``
    always among them."""

    TYPE: ClassVar[str] = "call_module"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("inputs",)
    #: The action's manifest knows them; see validate(node_types=...).
    OUTCOMES: ClassVar[frozenset[str] | None] = None

    module: str
    action: str
    inputs: dict[str, Any] = attrs.field(factory=dict)
    output: str | None = None
    timeout_seconds: float | None = None

    @property
    def action_type(self) -> str:
        """``<module>.<action>``: the node type the module declares for this action."""
        return f"{self.module}.{self.action}"


@attrs.frozen(kw_only=True)
class HttpRequestNode(BaseNode):
    """Call an HTTP API; the JSON answer (or text) goes to ``vars.<output>``.  The URL's
    scheme and host are literal, so an answer can never choose where the request goes.
    Outcomes: ``next`` (2xx), ``error`` (anything else, a timeout)."""

    TYPE: ClassVar[str] = "http_request"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("url", "headers", "body")
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({NEXT, ERROR})

    url: str
    method: str = "GET"
    headers: dict[str, str] = attrs.field(factory=dict)
    body: Any = None
    output: str | None = None
    timeout_seconds: float = 10.0


@attrs.frozen(kw_only=True)
class HandoffNode(_Terminal, BaseNode):
    """Hand the conversation to ``team``'s queue with a note for the agent (the flow ends).
    With ``include_variables`` the note lists the variables so far. No outcomes."""

    TYPE: ClassVar[str] = "handoff"
    TEMPLATES: ClassVar[tuple[str, ...]] = ("note",)

    team: str
    note: str = ""
    priority: int = 0
    skills: tuple[str, ...] = ()
    include_variables: bool = True

    def note_for(self, context: Mapping[str, Any]) -> str:
        """The note for the agent: ``note`` rendered, then one ``name: value`` line per
        variable (``context["vars"]``) when ``include_variables``. Never raises."""
        parts = [render(self.note, context).strip()] if self.note else []
        variables = context.get("vars")
        if self.include_variables and isinstance(variables, Mapping) and variables:
            parts.append("\n".join(f"{k}: {format_value(v)}" for k, v in variables.items()))
        return "\n\n".join(p for p in parts if p)


@attrs.frozen(kw_only=True)
class WaitNode(BaseNode):
    """Wait ``seconds``, then go on. Outcome: ``next``."""

    TYPE: ClassVar[str] = "wait"
    WAITS: ClassVar[bool] = True

    seconds: int


@attrs.frozen(kw_only=True)
class SilenceTimeoutNode(BaseNode):
    """Wait for the customer to write.  After ``seconds`` of silence send ``reminder`` and
    wait again, ``reminders`` times; then ``timeout`` (connect it to a hand-off or an end).
    The customer's message, if ``variable`` is set, goes to ``vars.<variable>``.
    Outcomes: ``reply``, ``timeout``."""

    TYPE: ClassVar[str] = "silence_timeout"
    WAITS: ClassVar[bool] = True
    TEMPLATES: ClassVar[tuple[str, ...]] = ("reminder",)
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({REPLY, TIMEOUT})

    seconds: int
    reminder: str | None = None
    reminders: int = 0
    variable: str | None = None


@attrs.frozen(kw_only=True)
class WindowCheckNode(BaseNode):
    """Whether the 24-hour customer-service window is open (free-form messages allowed)
    or closed (templates only). Outcomes: ``open``, ``closed``."""

    TYPE: ClassVar[str] = "window_check"
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({OPEN, CLOSED})


@attrs.frozen(kw_only=True)
class TeamOpenNode(BaseNode):
    """Whether ``team`` is within its business hours now. Outcomes: ``open``, ``closed``."""

    TYPE: ClassVar[str] = "team_open"
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({OPEN, CLOSED})

    team: str


@attrs.frozen
class LoopStep:
    """What a loop node does on one arrival: take ``outcome``; for ``body`` in a for-each,
    set ``vars.<item>`` to ``item``."""

    outcome: str
    item: Any = None


@attrs.frozen(kw_only=True)
class LoopNode(BaseNode):
    """A bounded loop: ``for_each`` item of the list at a variable path, or ``until`` a
    condition holds; never more than ``max_iterations`` times.  The body is the path from
    the ``body`` edge back to this node. Outcomes: ``body``, ``done``, ``exceeded``."""

    TYPE: ClassVar[str] = "loop"
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({BODY, DONE, EXCEEDED})

    max_iterations: int
    for_each: str | None = None
    item: str = "item"
    until: Condition | None = None

    def step(self, iterations: int, context: Mapping[str, Any]) -> LoopStep:
        """The step on arriving here with ``iterations`` bodies already run (0 on entry).

        The executor counts iterations per loop node and resets the count when the loop
        emits ``done`` or ``exceeded``.  Never raises."""
        if self.until is not None:
            if evaluate(self.until, context):
                return LoopStep(DONE)
            return LoopStep(EXCEEDED if iterations >= self.max_iterations else BODY)
        items = lookup(self.for_each or "", context)
        if not isinstance(items, list | tuple):
            items = []
        if iterations >= len(items):
            return LoopStep(DONE)
        if iterations >= self.max_iterations:
            return LoopStep(EXCEEDED)
        return LoopStep(BODY, items[iterations])


@attrs.frozen(kw_only=True)
class SubflowNode(BaseNode):
    """Run flow ``flow`` (its published version, or ``version``) with the same variables;
    its ``return`` comes back here. Outcomes: ``next``, ``error`` (not found, too deep)."""

    TYPE: ClassVar[str] = "subflow"
    OUTCOMES: ClassVar[frozenset[str] | None] = frozenset({NEXT, ERROR})

    flow: str
    version: int | None = None


@attrs.frozen(kw_only=True)
class ReturnNode(_Terminal, BaseNode):
    """End a subflow and continue after the calling ``subflow`` node (outside a subflow:
    end the flow without resolving). No outcomes."""

    TYPE: ClassVar[str] = "return"


@attrs.frozen(kw_only=True)
class EndNode(_Terminal, BaseNode):
    """End the flow; with ``resolved`` (the default) the bot resolved the conversation.
    No outcomes."""

    TYPE: ClassVar[str] = "end"

    resolved: bool = True


@attrs.frozen(kw_only=True)
class ExtensionNode(BaseNode):
    """A node of a type a module declares (``<module>.<action>``): its ``fields`` are the
    action's inputs (strings inside are templates); its outcomes the action's."""

    TEMPLATES: ClassVar[tuple[str, ...]] = ("fields",)
    #: The declaring module knows them; see validate(node_types=...).
    OUTCOMES: ClassVar[frozenset[str] | None] = None

    node_type: str
    fields: dict[str, Any] = attrs.field(factory=dict)

    @property
    def type(self) -> str:
        return self.node_type

    @property
    def module(self) -> str:
        return self.node_type.split(".", 1)[0]

    @property
    def action(self) -> str:
        return self.node_type.split(".", 1)[1]


Node: TypeAlias = (
    SendTextNode
    | SendMediaNode
    | SendButtonsNode
    | SendListNode
    | SendTemplateNode
    | AskNode
    | ConditionNode
    | SetVariableNode
    | CallModuleNode
    | HttpRequestNode
    | HandoffNode
    | WaitNode
    | SilenceTimeoutNode
    | WindowCheckNode
    | TeamOpenNode
    | LoopNode
    | SubflowNode
    | ReturnNode
    | EndNode
    | ExtensionNode
)

#: Every built-in node class by its type name, in documentation order (`Node`'s); an
#: `ExtensionNode` has no type of its own, the module that declares it gives one.
NODE_TYPES: Final[dict[str, type[BaseNode]]] = {
    cls.TYPE: cls for cls in typing.get_args(Node) if cls is not ExtensionNode
}


# --- edges and the flow ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Edge:
    """From node ``from_`` (``"from"`` in JSON) on outcome ``on`` to node ``to``."""

    from_: str
    to: str
    on: str = NEXT
    ui: dict[str, Any] | None = None


def _index_nodes(flow: Flow) -> dict[str, Node]:
    return {node.id: node for node in flow.nodes}


def _index_edges(flow: Flow) -> dict[tuple[str, str], str]:
    return {(edge.from_, edge.on): edge.to for edge in flow.edges}


@attrs.frozen(kw_only=True)
class Flow:
    """A flow that passed validation (build one with `pytake.flows.load_flow`).

    ``variables`` are the initial values of ``vars`` when the flow starts.  Walk it with
    `node`, `start_node` and `next_node`; `to_json` gives the document back."""

    id: str
    name: str
    start: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    format: int = FORMAT
    version: int | None = None
    description: str = ""
    variables: dict[str, Any] = attrs.field(factory=dict)
    ui: dict[str, Any] | None = None

    _by_id: dict[str, Node] = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(_index_nodes, takes_self=True)
    )
    _targets: dict[tuple[str, str], str] = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(_index_edges, takes_self=True)
    )

    @property
    def start_node(self) -> Node:
        return self._by_id[self.start]

    def node(self, node_id: str) -> Node:
        """The node called ``node_id``; `KeyError` if there is none (a stale snapshot)."""
        return self._by_id[node_id]

    def has_node(self, node_id: str) -> bool:
        return node_id in self._by_id

    def target(self, node_id: str, outcome: str) -> str | None:
        """The id of the node the edge from ``node_id`` on ``outcome`` leads to, or ``None``."""
        return self._targets.get((node_id, outcome))

    def next_node(self, node: Node | str, outcome: str) -> Node | None:
        """The node to go to from ``node`` on ``outcome``, or ``None`` when no edge leaves
        on it (always the case for ``end``, ``handoff`` and ``return``)."""
        node_id = node if isinstance(node, str) else node.id
        target = self._targets.get((node_id, outcome))
        return None if target is None else self._by_id.get(target)

    def outgoing(self, node_id: str) -> dict[str, str]:
        """Outcome → target id for every edge leaving ``node_id``."""
        return {on: to for (source, on), to in self._targets.items() if source == node_id}

    def to_json(self) -> dict[str, Any]:
        """The document of this flow (defaults left out); `load_flow` reads it back."""
        return flow_to_json(self)


# --- the converter -----------------------------------------------------------------------------


class WrongType(ValueError):
    """A JSON value of the wrong type (raised by the strict hooks)."""


_JSON_TYPE_NAMES: Final = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise WrongType(f"expected a string, got {_json_type(value)}")
    return value


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise WrongType(f"expected a whole number, got {_json_type(value)}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongType(f"expected a number, got {_json_type(value)}")
    return float(value)


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise WrongType(f"expected true or false, got {_json_type(value)}")
    return value


def _is_homogeneous_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_dict(tp: Any) -> bool:
    return typing.get_origin(tp) is dict


T = TypeVar("T")


def _structure_condition(value: Any, _: type) -> Condition:
    return parse_condition(value)


def _structure_validator(value: Any, _: type) -> AnswerValidator:
    if not isinstance(value, Mapping):
        raise WrongType(f"expected an object with a type, got {_json_type(value)}")
    kind = value.get("type")
    if kind is None:
        raise NestedProblems([Problem("type", "required field missing", Code.MISSING_FIELD)])
    if not isinstance(kind, str) or kind not in VALIDATORS:
        raise NestedProblems([
            Problem(
                "type",
                f"unknown validator type {kind!r}{_suggest(kind, VALIDATORS)}; one of "
                + ", ".join(VALIDATORS),
                Code.UNKNOWN_TYPE,
            )
        ])
    data = {k: v for k, v in value.items() if k != "type"}
    return _converter.structure(data, VALIDATORS[kind])


def _unstructure_validator(validator: AnswerValidator) -> dict[str, Any]:
    return {"type": validator.TYPE, **_unstructure_plain(validator)}


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)

    def tuples(tp: Any) -> Callable[[Any, Any], Any]:
        inner = homogenous_tuple_structure_factory(tp, converter)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise WrongType(f"expected a list, got {_json_type(value)}")
            return inner(value, tp)

        return structure

    def dicts(tp: Any) -> Callable[[Any, Any], Any]:
        inner = mapping_structure_factory(tp, converter)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                raise WrongType(f"expected an object, got {_json_type(value)}")
            return inner(value, tp)

        return structure

    def classes(cls: Any) -> Callable[[Any, Any], Any]:
        if cls is Edge:
            inner = make_dict_structure_fn(
                cls, converter, _cattrs_forbid_extra_keys=True, from_=override(rename="from")
            )
        else:
            inner = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                raise WrongType(f"expected an object, got {_json_type(value)}")
            return inner(value, cls)

        return structure

    converter.register_structure_hook_factory(_is_homogeneous_tuple, tuples)
    converter.register_structure_hook_factory(_is_dict, dicts)
    converter.register_structure_hook_factory(attrs.has, classes)
    converter.register_structure_hook(Condition, _structure_condition)
    converter.register_structure_hook(Condition | None, _structure_optional_condition)
    converter.register_structure_hook(AnswerValidator, _structure_validator)
    converter.register_structure_hook(AnswerValidator | None, _structure_optional_validator)

    converter.register_unstructure_hook(tuple, list)
    converter.register_unstructure_hook_func(
        lambda tp: tp in typing.get_args(Condition), condition_to_json
    )
    converter.register_unstructure_hook_func(
        lambda tp: tp in typing.get_args(AnswerValidator), _unstructure_validator
    )
    return converter


def _structure_optional_condition(value: Any, _: type) -> Condition | None:
    return None if value is None else parse_condition(value)


def _structure_optional_validator(value: Any, tp: type) -> AnswerValidator | None:
    return None if value is None else _structure_validator(value, tp)


_converter = _make_converter()


def _unstructure_plain(obj: Any) -> dict[str, Any]:
    """An attrs object as JSON, leaving out fields at their default."""
    cls = type(obj)
    fn = _plain_unstructurers.get(cls)
    if fn is None:
        if cls is Edge:
            fn = make_dict_unstructure_fn(
                cls, _converter, _cattrs_omit_if_default=True, from_=override(rename="from")
            )
        else:
            fn = make_dict_unstructure_fn(cls, _converter, _cattrs_omit_if_default=True)
        _plain_unstructurers[cls] = fn
    return fn(obj)


_plain_unstructurers: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _node_to_json(node: Node) -> dict[str, Any]:
    if isinstance(node, ExtensionNode):
        data: dict[str, Any] = {"id": node.id, "type": node.node_type}
        if node.label is not None:
            data["label"] = node.label
        if node.ui is not None:
            data["ui"] = node.ui
        data.update(node.fields)
        return data
    body = _unstructure_plain(node)
    return {"id": body.pop("id"), "type": node.TYPE, **body}


def flow_to_json(flow: Flow) -> dict[str, Any]:
    """``flow`` as a document (fields at their default left out)."""
    data: dict[str, Any] = {"format": flow.format, "id": flow.id, "name": flow.name}
    if flow.version is not None:
        data["version"] = flow.version
    if flow.description:
        data["description"] = flow.description
    if flow.variables:
        data["variables"] = dict(flow.variables)
    data["start"] = flow.start
    data["nodes"] = [_node_to_json(node) for node in flow.nodes]
    data["edges"] = [_unstructure_plain(edge) for edge in flow.edges]
    if flow.ui is not None:
        data["ui"] = flow.ui
    return data


# --- structuring with problems -----------------------------------------------------------------

_JSON_NAMES: Final = {"from_": "from"}


def _suggest(name: object, known: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _field_names(cls: type) -> list[str]:
    names = [_JSON_NAMES.get(a.name, a.name) for a in attrs.fields(cls) if a.init]
    return [*names, "type"] if issubclass(cls, BaseNode) else names


def problems_from(exc: BaseException, path: str) -> list[Problem]:
    """The problems a cattrs structuring error stands for, each at its full path."""
    if isinstance(exc, NestedProblems):
        return [Problem(join_path(path, p.path), p.message, p.code) for p in exc.problems]
    if isinstance(exc, ClassValidationError):
        found: list[Problem] = []
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            found += problems_from(sub, join_path(path, _JSON_NAMES.get(note.name, note.name)))
        for sub in without:
            found += problems_from(sub, path)
        return found
    if isinstance(exc, IterableValidationError):
        found = []
        items, rest = exc.group_exceptions()
        for sub, item_note in items:
            index = item_note.index
            where = join_path(path, index) if isinstance(index, int) else key_path(path, index)
            found += problems_from(sub, where)
        for sub in rest:
            found += problems_from(sub, path)
        return found
    if isinstance(exc, ForbiddenExtraKeysError):
        known = _field_names(exc.cl)
        return [
            Problem(key_path(path, key), f"unknown field{_suggest(key, known)}", Code.UNKNOWN_FIELD)
            for key in sorted(exc.extra_fields)
        ]
    if isinstance(exc, KeyError):
        return [Problem(path, "required field missing", Code.MISSING_FIELD)]
    if isinstance(exc, WrongType):
        return [Problem(path, str(exc), Code.WRONG_TYPE)]
    return [Problem(path, f"invalid value ({exc})", Code.BAD_VALUE)]


def _structure(data: Any, cls: type[T], path: str) -> tuple[T | None, list[Problem]]:
    try:
        return _converter.structure(data, cls), []
    except Exception as exc:  # every cattrs failure becomes problems, never an escape
        return None, problems_from(exc, path)


@attrs.frozen(kw_only=True)
class _ExtensionHead:
    id: str
    label: str | None = None
    ui: dict[str, Any] | None = None


def structure_node(
    raw: Any, path: str, extra: Mapping[str, NodeTypeLike]
) -> tuple[Node | None, list[Problem]]:
    """The node in ``raw`` (a node object of a document), or ``None`` and the problems.

    ``extra`` are the node types declared by modules, by name."""
    if not isinstance(raw, Mapping):
        return None, [Problem(path, f"a node is an object, got {_json_type(raw)}", Code.WRONG_TYPE)]
    kind = raw.get("type")
    if "type" not in raw:
        missing = Problem(join_path(path, "type"), "required field missing", Code.MISSING_FIELD)
        return None, [missing]
    if not isinstance(kind, str):
        return None, [
            Problem(join_path(path, "type"), f"expected a string, got {_json_type(kind)}",
                    Code.WRONG_TYPE)
        ]
    data = {k: v for k, v in raw.items() if k != "type"}
    cls = NODE_TYPES.get(kind)
    if cls is not None:
        node, problems = _structure(data, cls, path)
        return typing.cast("Node | None", node), problems
    if kind in extra:
        head_data = {k: data[k] for k in ("id", "label", "ui") if k in data}
        head, problems = _structure(head_data, _ExtensionHead, path)
        if head is None:
            return None, problems
        fields = {k: v for k, v in data.items() if k not in ("id", "label", "ui")}
        return ExtensionNode(
            id=head.id, label=head.label, ui=head.ui, node_type=kind, fields=fields
        ), []
    hint = _suggest(kind, [*NODE_TYPES, *extra])
    if not hint and "." in kind:
        hint = " (a module node type: is the module installed?)"
    return None, [Problem(join_path(path, "type"), f"unknown node type {kind!r}{hint}",
                          Code.UNKNOWN_TYPE)]


def structure_edge(raw: Any, path: str) -> tuple[Edge | None, list[Problem]]:
    """The edge in ``raw``, or ``None`` and the problems."""
    return _structure(raw, Edge, path)


"""Validating a whole flow document, reporting every problem at once; loading a valid one.

`validate` is what publishing runs.  It never stops at the first problem: it structures every
node and edge it can, checks each on its own, then checks the graph with whatever structured,
so an author fixes a flow in one round.  The checks, in the order problems are grouped:

1. the document: ``format`` this PyTake reads, ``id``, ``name``, ``start``, ``nodes`` ...;
2. each node: a known ``type`` (built in, or declared by a module in ``node_types``),
   required fields present and of the right JSON type, no unknown fields; values in range;
   WhatsApp's limits (texts, buttons, list rows, sections, titles; the constants of
   `pytake.whatsapp`); regular expressions (`pytake.flows.regex_problem`); ``{{...}}``
   placeholders; conditions; module inputs against the module's declaration;
3. each edge: both ends exist, no second edge for the same node and outcome, an outcome the
   node emits;
4. the graph: every outcome a node can emit has an edge; every node is reachable from
   ``start``; every cycle goes through a node that waits for the customer (``ask``,
   ``send_buttons``, ``send_list``, ``silence_timeout``, ``wait``) or through a ``loop``
   node's body (bounded by ``max_iterations``).

Problems come sorted: document first, then nodes, then edges, each in document order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pytake import whatsapp
from pytake.errors import FlowError, InvalidMessage
from pytake.flows._model import (
    BODY,
    ERROR,
    FORMAT,
    INVALID,
    NODE_TYPES,
    RESERVED_CHOICES,
    TIMEOUT,
    AskNode,
    CallModuleNode,
    Edge,
    ExtensionNode,
    Flow,
    HandoffNode,
    HttpRequestNode,
    LoopNode,
    Node,
    NodeTypeLike,
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
    structure_edge,
    structure_node,
)
from pytake.flows._model import _suggest as suggest
from pytake.flows._problems import Code, Problem, join_path, key_path
from pytake.flows._template import is_variable_path, template_problems

__all__ = [
    "HTTP_METHODS",
    "ID_PATTERN",
    "LOOP_MAX_ITERATIONS",
    "MAX_RETRIES",
    "MAX_WAIT_SECONDS",
    "VARIABLE_PATTERN",
    "InvalidFlow",
    "load_flow",
    "validate",
]

#: Node ids and flow ids: letters, digits, ``_`` and ``-``, at most 64.
ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Variable names (``vars.<name>``): an identifier of at most 64 characters.
VARIABLE_PATTERN: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MODULE_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# The scheme and host of an HTTP request are literal: no placeholder before the path.
_LITERAL_ORIGIN: Final = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#]|$)")

#: Re-prompts an ask or menu may allow before its ``invalid`` outcome.
MAX_RETRIES: Final = 10
#: Longest wait, answer timeout or silence timeout.
MAX_WAIT_SECONDS: Final = 7 * 24 * 3600
#: Highest ``max_iterations`` of a loop.
LOOP_MAX_ITERATIONS: Final = 1000
MAX_REMINDERS: Final = 5
HTTP_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
HTTP_TIMEOUT_MAX: Final = 30.0
MODULE_TIMEOUT_MAX: Final = 300.0
NAME_MAX: Final = 200

_DOCUMENT_FIELDS: Final = (
    "$schema", "format", "id", "name", "version", "description", "start", "variables",
    "nodes", "edges", "ui",
)
_TYPE_NAMES: Final = {
    str: "a string", int: "a whole number", list: "a list", dict: "an object",
}


class InvalidFlow(FlowError, ValueError):
    """A flow document has problems; ``problems`` lists every one (`Problem`)."""

    def __init__(self, problems: list[Problem]) -> None:
        count = len(problems)
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"invalid flow, {count} problem{'s' * (count != 1)}: {shown}{more}")
        self.problems = problems


NodeTypes = Mapping[str, NodeTypeLike] | Iterable[NodeTypeLike]


def validate(
    document: Any,
    *,
    node_types: NodeTypes = (),
    require_known_modules: bool = False,
) -> list[Problem]:
    """Every problem of flow ``document`` (parsed JSON), or ``[]`` for a valid flow.

    ``node_types`` are the node types installed modules declare (``registry.node_types()``,
    a mapping, or any iterable of objects with ``type``, ``outcomes`` and ``inputs`` such as
    `pytake.modules.NodeType`): nodes of those types are
    accepted, and ``call_module`` nodes naming one of their actions are checked against it.
    With ``require_known_modules`` a ``call_module`` node naming an action no one declares is
    a problem; without it (``pytake flows validate`` with no modules at hand) such a node
    must only have its ``error`` edge and one other.  Never raises on any ``document``.
    """
    return _Check(document, node_types, require_known_modules).run()[0]


def load_flow(
    document: Any,
    *,
    node_types: NodeTypes = (),
    require_known_modules: bool = False,
) -> Flow:
    """The `Flow` in ``document``; raises `InvalidFlow` with every problem if it has any."""
    problems, flow = _Check(document, node_types, require_known_modules).run()
    if problems or flow is None:
        raise InvalidFlow(problems)
    return flow


# --- the check ---------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _rank(problem: Problem) -> tuple[int, int]:
    path = problem.path
    for rank, section in ((1, "nodes["), (2, "edges[")):
        if path.startswith(section):
            index = path[len(section) : path.index("]")]
            return rank, int(index) if index.isdigit() else 0
    return 0, 0


class _Check:
    def __init__(
        self, document: Any, node_types: NodeTypes, require_known_modules: bool
    ) -> None:
        self.document = document
        self.extra: dict[str, NodeTypeLike] = {}
        specs = node_types.values() if isinstance(node_types, Mapping) else node_types
        for spec in specs:
            if spec.type in NODE_TYPES or "." not in spec.type:
                raise ValueError(f"node type {spec.type!r} must be <module>.<action>")
            self.extra[spec.type] = spec
        self.require_known_modules = require_known_modules
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, code: str) -> None:
        self.problems.append(Problem(path, message, code))

    def run(self) -> tuple[list[Problem], Flow | None]:
        flow = self.check()
        self.problems.sort(key=_rank)
        return self.problems, (None if self.problems else flow)

    # --- the document ---

    def field(
        self, name: str, kind: type | tuple[type, ...], *, required: bool
    ) -> Any:
        doc = self.document
        if name not in doc:
            if required:
                self.add(name, "required field missing", Code.MISSING_FIELD)
            return None
        value = doc[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.add(name, f"expected {wanted}, got {_json_type(value)}", Code.WRONG_TYPE)
            return None
        return value

    def check(self) -> Flow | None:
        doc = self.document
        if not isinstance(doc, Mapping):
            self.add("", f"a flow is a JSON object, got {_json_type(doc)}", Code.WRONG_TYPE)
            return None
        for key in doc:
            if key not in _DOCUMENT_FIELDS:
                self.add(
                    key_path("", key),
                    f"unknown field{suggest(key, _DOCUMENT_FIELDS)}",
                    Code.UNKNOWN_FIELD,
                )
        fmt = doc.get("format")
        if "format" not in doc:
            self.add("format", f"required field missing (this PyTake reads format {FORMAT})",
                     Code.MISSING_FIELD)
        elif fmt != FORMAT or isinstance(fmt, bool):
            self.add("format", f"format {fmt!r} is not supported: this PyTake reads format "
                     f"{FORMAT}", Code.UNSUPPORTED_FORMAT)
            return None  # another format's nodes would only produce noise
        self.field("$schema", str, required=False)
        flow_id = self.field("id", str, required=True)
        if flow_id is not None and not ID_PATTERN.match(flow_id):
            self.add("id", "letters, digits, _ and -, at most 64", Code.BAD_VALUE)
        name = self.field("name", str, required=True)
        if name is not None and not 1 <= len(name.strip()) <= NAME_MAX:
            self.add("name", f"between 1 and {NAME_MAX} characters", Code.BAD_VALUE)
        version = self.field("version", int, required=False)
        if version is not None and version < 1:
            self.add("version", "a version is 1 or more", Code.BAD_VALUE)
        description = self.field("description", str, required=False)
        start = self.field("start", str, required=True)
        variables = self.field("variables", dict, required=False) or {}
        for key in variables:
            if not isinstance(key, str) or not VARIABLE_PATTERN.match(key):
                self.add(key_path("variables", key), "a variable name is an identifier "
                         "(letters, digits and _, not starting with a digit)", Code.BAD_VALUE)
        ui = self.field("ui", dict, required=False)
        raw_nodes = self.field("nodes", list, required=True)
        if raw_nodes == []:
            self.add("nodes", "a flow needs at least one node", Code.BAD_VALUE)
        raw_edges = self.field("edges", list, required=False) or []

        nodes = self.check_nodes(raw_nodes or [])
        edges = self.check_edges(raw_edges)
        ids = self.node_ids(raw_nodes or [])
        self.check_graph(start, ids, nodes, edges)
        if self.problems or flow_id is None or name is None or start is None:
            return None
        return Flow(
            id=flow_id,
            name=name,
            start=start,
            nodes=tuple(nodes.values()),
            edges=tuple(edge for _, edge in edges),
            version=version,
            description=description or "",
            variables=dict(variables),
            ui=ui,
        )

    # --- nodes ---

    def node_ids(self, raw_nodes: list[Any]) -> dict[str, int]:
        """Node id → index of its first node, for every node with a string id (structured or
        not, so one bad field does not turn every edge to that node into a second problem)."""
        ids: dict[str, int] = {}
        for i, raw in enumerate(raw_nodes):
            node_id = raw.get("id") if isinstance(raw, Mapping) else None
            if not isinstance(node_id, str):
                continue
            if node_id in ids:
                self.add(join_path(f"nodes[{i}]", "id"),
                         f"nodes[{ids[node_id]}] already has id {node_id!r}", Code.DUPLICATE_ID)
            else:
                ids[node_id] = i
        return ids

    def check_nodes(self, raw_nodes: list[Any]) -> dict[int, Node]:
        nodes: dict[int, Node] = {}
        for i, raw in enumerate(raw_nodes):
            path = f"nodes[{i}]"
            node, problems = structure_node(raw, path, self.extra)
            self.problems += problems
            if node is None:
                continue
            nodes[i] = node
            self.check_node(node, path)
        return nodes

    def text(
        self, path: str, value: str | None, maximum: int, *, required: bool = True
    ) -> None:
        """Length of a text WhatsApp limits (as written: placeholders count as their text)."""
        if value is None or not value.strip():
            if required:
                self.add(path, "must not be empty", Code.BAD_VALUE)
            return
        if len(value) > maximum:
            self.add(path, f"at most {maximum} characters (WhatsApp's limit), got {len(value)}",
                     Code.WHATSAPP_LIMIT)

    def number(
        self, path: str, value: float | None, low: float, high: float, what: str = ""
    ) -> None:
        if value is not None and not low <= value <= high:
            self.add(path, f"between {low:g} and {high:g}{what}, got {value:g}", Code.BAD_VALUE)

    def variable(self, path: str, name: str | None) -> None:
        if name is not None and not VARIABLE_PATTERN.match(name):
            self.add(path, f"{name!r} is not a variable name: letters, digits and _, not "
                     "starting with a digit, at most 64 (it is stored as vars.<name>)",
                     Code.BAD_VALUE)

    def templates(self, path: str, value: Any) -> None:
        if isinstance(value, str):
            for problem in template_problems(value):
                self.add(path, problem, Code.BAD_TEMPLATE)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.templates(key_path(path, key), item)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                self.templates(join_path(path, i), item)

    def check_node(self, node: Node, path: str) -> None:
        if not ID_PATTERN.match(node.id):
            self.add(join_path(path, "id"), "letters, digits, _ and -, at most 64",
                     Code.BAD_VALUE)
        for name in node.TEMPLATES:
            self.templates(join_path(path, name), getattr(node, name))
        checker = _CHECKERS.get(type(node))
        if checker is not None:
            checker(self, node, path)

    def check_send_text(self, node: SendTextNode, path: str) -> None:
        self.text(join_path(path, "text"), node.text, whatsapp.TEXT_MAX)

    def check_send_media(self, node: SendMediaNode, path: str) -> None:
        if node.media_type not in whatsapp.MEDIA_TYPES:
            self.add(join_path(path, "media_type"),
                     f"one of {', '.join(whatsapp.MEDIA_TYPES)}, got {node.media_type!r}",
                     Code.BAD_VALUE)
        if (node.media_id is None) == (node.link is None):
            self.add(path, "give exactly one of media_id and link", Code.BAD_VALUE)
        if node.link is not None and not node.link.startswith(("https://", "http://", "{{")):
            self.add(join_path(path, "link"), "an http(s) URL or a {{variable}} holding one",
                     Code.BAD_VALUE)
        if node.caption is not None:
            if node.media_type not in whatsapp.CAPTIONED:
                self.add(join_path(path, "caption"),
                         f"{node.media_type} messages take no caption", Code.WHATSAPP_LIMIT)
            else:
                self.text(join_path(path, "caption"), node.caption, whatsapp.CAPTION_MAX,
                          required=False)
        if node.filename is not None and node.media_type != "document":
            self.add(join_path(path, "filename"), "only documents take a filename",
                     Code.WHATSAPP_LIMIT)

    def check_reply_settings(
        self, node: SendButtonsNode | SendListNode | AskNode, path: str, body_max: int
    ) -> None:
        self.text(join_path(path, "retry_text"), node.retry_text, body_max, required=False)
        self.number(join_path(path, "max_retries"), node.max_retries, 0, MAX_RETRIES)
        self.number(join_path(path, "timeout_seconds"), node.timeout_seconds, 1,
                    MAX_WAIT_SECONDS, " seconds")

    def choice_ids(
        self, ids: list[tuple[str, str]], id_max: int, what: str
    ) -> None:
        seen: dict[str, str] = {}
        for path, choice_id in ids:
            if not choice_id:
                self.add(path, "must not be empty", Code.BAD_VALUE)
            elif len(choice_id) > id_max:
                self.add(path, f"at most {id_max} characters (WhatsApp's limit), got "
                         f"{len(choice_id)}", Code.WHATSAPP_LIMIT)
            if choice_id in RESERVED_CHOICES:
                self.add(path, f"{choice_id!r} is an outcome of its own; choose another {what} id",
                         Code.BAD_VALUE)
            elif choice_id in seen:
                self.add(path, f"{what} id {choice_id!r} is also used by {seen[choice_id]}",
                         Code.WHATSAPP_LIMIT)
            seen.setdefault(choice_id, path)

    def check_menu(self, node: SendButtonsNode | SendListNode, path: str, body_max: int) -> None:
        """What a buttons and a list message share after their texts."""
        self.text(join_path(path, "header"), node.header, whatsapp.HEADER_TEXT_MAX,
                  required=False)
        self.text(join_path(path, "footer"), node.footer, whatsapp.FOOTER_MAX, required=False)
        self.check_reply_settings(node, path, body_max)

    def count(self, path: str, found: int, maximum: int, what: str) -> None:
        if not 1 <= found <= maximum:
            self.add(path, f"between 1 and {maximum} {what} (WhatsApp's limit), got {found}",
                     Code.WHATSAPP_LIMIT)

    def check_send_buttons(self, node: SendButtonsNode, path: str) -> None:
        self.text(join_path(path, "text"), node.text, whatsapp.BUTTON_BODY_MAX)
        self.check_menu(node, path, whatsapp.BUTTON_BODY_MAX)
        buttons = join_path(path, "buttons")
        self.count(buttons, len(node.buttons), whatsapp.BUTTONS_MAX, "buttons")
        titles: dict[str, int] = {}
        for i, button in enumerate(node.buttons):
            where = join_path(buttons, i)
            self.text(join_path(where, "title"), button.title, whatsapp.BUTTON_TITLE_MAX)
            if button.title in titles:
                self.add(join_path(where, "title"), f"buttons[{titles[button.title]}] has the "
                         "same title (WhatsApp needs them unique)", Code.WHATSAPP_LIMIT)
            titles.setdefault(button.title, i)
        self.choice_ids(
            [(join_path(join_path(buttons, i), "id"), b.id) for i, b in enumerate(node.buttons)],
            whatsapp.BUTTON_ID_MAX, "button",
        )

    def check_send_list(self, node: SendListNode, path: str) -> None:
        self.text(join_path(path, "text"), node.text, whatsapp.LIST_BODY_MAX)
        self.text(join_path(path, "button"), node.button, whatsapp.LIST_BUTTON_MAX)
        self.check_menu(node, path, whatsapp.LIST_BODY_MAX)
        sections = join_path(path, "sections")
        self.count(sections, len(node.sections), whatsapp.LIST_SECTIONS_MAX, "sections")
        self.count(sections, sum(len(s.rows) for s in node.sections), whatsapp.LIST_ROWS_MAX,
                   "rows in all sections together")
        ids: list[tuple[str, str]] = []
        for i, section in enumerate(node.sections):
            where = join_path(sections, i)
            self.text(join_path(where, "title"), section.title, whatsapp.SECTION_TITLE_MAX,
                      required=len(node.sections) > 1)
            if not section.rows:
                self.add(join_path(where, "rows"), "a section needs at least one row",
                         Code.WHATSAPP_LIMIT)
            for j, row in enumerate(section.rows):
                row_path = join_path(join_path(where, "rows"), j)
                self.text(join_path(row_path, "title"), row.title, whatsapp.ROW_TITLE_MAX)
                self.text(join_path(row_path, "description"), row.description,
                          whatsapp.ROW_DESCRIPTION_MAX, required=False)
                ids.append((join_path(row_path, "id"), row.id))
        self.choice_ids(ids, whatsapp.ROW_ID_MAX, "row")

    def check_send_template(self, node: SendTemplateNode, path: str) -> None:
        try:
            whatsapp.template_message("+10000000000", node.name, node.language, node.components)
        except InvalidMessage as exc:
            for problem in exc.problems:
                where, _, message = problem.partition(": ")
                rel = where.removeprefix("template.")
                self.add(join_path(path, rel), message, Code.BAD_VALUE)

    def check_ask(self, node: AskNode, path: str) -> None:
        self.text(join_path(path, "text"), node.text, whatsapp.TEXT_MAX)
        self.variable(join_path(path, "variable"), node.variable)
        self.check_reply_settings(node, path, whatsapp.TEXT_MAX)
        if node.validator is not None:
            for rel, message, code in node.validator.problems():
                self.add(join_path(join_path(path, "validator"), rel), message, code)

    def check_set_variable(self, node: SetVariableNode, path: str) -> None:
        self.variable(join_path(path, "variable"), node.variable)

    def check_inputs(
        self, spec: NodeTypeLike, values: Mapping[str, Any], where: Callable[[str], str],
        path: str,
    ) -> None:
        declared = {p.name: p for p in spec.inputs}
        for key in values:
            if key not in declared:
                names = ", ".join(declared) or "none"
                self.add(where(key), f"{spec.type} has no input {key!r}{suggest(key, declared)} "
                         f"(inputs: {names})", Code.UNKNOWN_FIELD)
        for param in spec.inputs:
            value = values.get(param.name)
            if value is None:
                if param.required:
                    self.add(where(param.name) if values else path,
                             f"{spec.type} needs input {param.name!r}", Code.MISSING_FIELD)
                continue
            if isinstance(value, str) and "{{" in value:
                continue  # rendered when the node runs; the module checks the result
            problem = _param_problem(param.type, value)
            if problem:
                self.add(where(param.name), problem, Code.WRONG_TYPE)

    def check_call_module(self, node: CallModuleNode, path: str) -> None:
        if not _MODULE_NAME.match(node.module):
            self.add(join_path(path, "module"), "a module name: lower-case letters, digits "
                     "and _, starting with a letter", Code.BAD_VALUE)
        if not _MODULE_NAME.match(node.action):
            self.add(join_path(path, "action"), "an action name: lower-case letters, digits "
                     "and _, starting with a letter", Code.BAD_VALUE)
        self.variable(join_path(path, "output"), node.output)
        if node.timeout_seconds is not None and not 0 < node.timeout_seconds <= MODULE_TIMEOUT_MAX:
            self.add(join_path(path, "timeout_seconds"),
                     f"more than 0 and at most {MODULE_TIMEOUT_MAX:g} seconds", Code.BAD_VALUE)
        spec = self.extra.get(node.action_type)
        inputs = join_path(path, "inputs")
        if spec is not None:
            self.check_inputs(spec, node.inputs, lambda key: key_path(inputs, key), path)
        elif self.require_known_modules:
            self.add(join_path(path, "action"),
                     f"no installed module declares {node.action_type!r}"
                     f"{suggest(node.action_type, self.extra)}", Code.UNKNOWN_MODULE)

    def check_extension(self, node: ExtensionNode, path: str) -> None:
        spec = self.extra[node.node_type]
        self.check_inputs(spec, node.fields, lambda key: key_path(path, key), path)

    def check_http_request(self, node: HttpRequestNode, path: str) -> None:
        if node.method not in HTTP_METHODS:
            self.add(join_path(path, "method"), f"one of {', '.join(HTTP_METHODS)}, got "
                     f"{node.method!r}", Code.BAD_VALUE)
        if not _LITERAL_ORIGIN.match(node.url):
            self.add(join_path(path, "url"), "an http(s) URL whose scheme and host are "
                     "written out (placeholders only after the host), so an answer can never "
                     "choose where the request goes", Code.BAD_VALUE)
        for name in node.headers:
            if not _HEADER_NAME.match(name):
                self.add(key_path(join_path(path, "headers"), name), "not a valid header name",
                         Code.BAD_VALUE)
        if node.method == "GET" and node.body is not None:
            self.add(join_path(path, "body"), "a GET request has no body", Code.BAD_VALUE)
        self.variable(join_path(path, "output"), node.output)
        if not 0 < node.timeout_seconds <= HTTP_TIMEOUT_MAX:
            self.add(join_path(path, "timeout_seconds"),
                     f"more than 0 and at most {HTTP_TIMEOUT_MAX:g} seconds", Code.BAD_VALUE)

    def check_handoff(self, node: HandoffNode, path: str) -> None:
        if not node.team.strip():
            self.add(join_path(path, "team"), "must not be empty", Code.BAD_VALUE)
        for i, skill in enumerate(node.skills):
            if not skill.strip():
                self.add(join_path(join_path(path, "skills"), i), "must not be empty",
                         Code.BAD_VALUE)

    def check_wait(self, node: WaitNode, path: str) -> None:
        self.number(join_path(path, "seconds"), node.seconds, 1, MAX_WAIT_SECONDS, " seconds")

    def check_silence_timeout(self, node: SilenceTimeoutNode, path: str) -> None:
        self.number(join_path(path, "seconds"), node.seconds, 1, MAX_WAIT_SECONDS, " seconds")
        self.number(join_path(path, "reminders"), node.reminders, 0, MAX_REMINDERS)
        self.text(join_path(path, "reminder"), node.reminder, whatsapp.TEXT_MAX,
                  required=node.reminders > 0)
        self.variable(join_path(path, "variable"), node.variable)

    def check_team_open(self, node: TeamOpenNode, path: str) -> None:
        if not node.team.strip():
            self.add(join_path(path, "team"), "must not be empty", Code.BAD_VALUE)

    def check_loop(self, node: LoopNode, path: str) -> None:
        self.number(join_path(path, "max_iterations"), node.max_iterations, 1,
                    LOOP_MAX_ITERATIONS)
        if (node.for_each is None) == (node.until is None):
            self.add(path, "a loop has exactly one of for_each (a list variable) and until "
                     "(a condition)", Code.BAD_VALUE)
        if node.for_each is not None and not is_variable_path(node.for_each):
            self.add(join_path(path, "for_each"), f"{node.for_each!r} is not a variable path "
                     "such as vars.items", Code.BAD_VALUE)
        if node.for_each is None and node.item != "item":
            self.add(join_path(path, "item"), "only a for_each loop sets an item",
                     Code.BAD_VALUE)
        self.variable(join_path(path, "item"), node.item)

    def check_subflow(self, node: SubflowNode, path: str) -> None:
        if not ID_PATTERN.match(node.flow):
            self.add(join_path(path, "flow"), "a flow id: letters, digits, _ and -",
                     Code.BAD_VALUE)
        if node.version is not None and node.version < 1:
            self.add(join_path(path, "version"), "a version is 1 or more", Code.BAD_VALUE)

    # --- edges ---

    def check_edges(self, raw_edges: list[Any]) -> list[tuple[int, Edge]]:
        edges: list[tuple[int, Edge]] = []
        for j, raw in enumerate(raw_edges):
            edge, problems = structure_edge(raw, f"edges[{j}]")
            self.problems += problems
            if edge is None:
                continue
            if not edge.on:
                self.add(f"edges[{j}].on", "must not be empty", Code.BAD_VALUE)
            edges.append((j, edge))
        return edges

    # --- the graph ---

    def outcomes(self, node: Node) -> frozenset[str] | None:
        if isinstance(node, CallModuleNode | ExtensionNode):
            key = node.action_type if isinstance(node, CallModuleNode) else node.node_type
            spec = self.extra.get(key)
            return None if spec is None else frozenset(spec.outcomes) | {ERROR}
        return node.outcomes()

    def check_graph(
        self,
        start: str | None,
        ids: dict[str, int],
        nodes: dict[int, Node],
        edges: list[tuple[int, Edge]],
    ) -> None:
        if start is not None and start not in ids:
            self.add("start", f"no node has id {start!r}{suggest(start, ids)}", Code.BAD_START)
        wired: dict[str, dict[str, int]] = {}
        usable: list[Edge] = []
        for j, edge in edges:
            path = f"edges[{j}]"
            ends_ok = True
            for end, node_id in (("from", edge.from_), ("to", edge.to)):
                if node_id not in ids:
                    ends_ok = False
                    self.add(join_path(path, end), f"no node has id {node_id!r}"
                             f"{suggest(node_id, ids)}", Code.DANGLING_EDGE)
            if edge.from_ not in ids:
                continue
            # An edge to a missing node still wires its outcome: one problem, not two.
            seen = wired.setdefault(edge.from_, {})
            if edge.on in seen:
                self.add(path, f"edges[{seen[edge.on]}] already leaves {edge.from_!r} on "
                         f"{edge.on!r}", Code.DUPLICATE_EDGE)
                if ends_ok:
                    usable.append(edge)
                continue
            seen[edge.on] = j
            if ends_ok:
                usable.append(edge)
            node = nodes.get(ids[edge.from_])
            if node is None:
                continue
            outcomes = self.outcomes(node)
            if outcomes is not None and edge.on not in outcomes:
                if outcomes:
                    known = ", ".join(sorted(outcomes))
                    message = (f"{node.type} node {node.id!r} has no outcome {edge.on!r}"
                               f"{suggest(edge.on, outcomes)} (outcomes: {known})")
                else:
                    message = f"nothing leaves {_a(node.type)} node: the flow ends there"
                self.add(join_path(path, "on"), message, Code.UNKNOWN_OUTCOME)
        self.check_outcomes(nodes, wired)
        if start is not None and start in ids:
            self.check_reachable(start, ids, usable)
        self.check_cycles(ids, nodes, usable)

    def check_outcomes(self, nodes: dict[int, Node], wired: dict[str, dict[str, int]]) -> None:
        for i, node in nodes.items():
            have = wired.get(node.id, {})
            outcomes = self.outcomes(node)
            if outcomes is None:
                if ERROR not in have:
                    self.add(f"nodes[{i}]", "no edge for outcome 'error' (where the flow goes "
                             "when the module fails)", Code.MISSING_OUTCOME)
                if not set(have) - {ERROR}:
                    self.add(f"nodes[{i}]", "no edge for the module's other outcomes (such as "
                             "'ok' or 'not_found')", Code.MISSING_OUTCOME)
                continue
            for outcome in sorted(outcomes - set(have)):
                self.add(f"nodes[{i}]", f"no edge for outcome {outcome!r}{_why(node, outcome)}",
                         Code.MISSING_OUTCOME)

    def check_reachable(self, start: str, ids: dict[str, int], edges: list[Edge]) -> None:
        following: dict[str, list[str]] = {}
        for edge in edges:
            following.setdefault(edge.from_, []).append(edge.to)
        reached = {start}
        todo = [start]
        while todo:
            for target in following.get(todo.pop(), ()):
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        for node_id, i in ids.items():
            if node_id not in reached:
                self.add(f"nodes[{i}]", f"node {node_id!r} cannot be reached from the start "
                         f"({start!r})", Code.UNREACHABLE)

    def check_cycles(self, ids: dict[str, int], nodes: dict[int, Node], edges: list[Edge]) -> None:
        """Cycles among nodes that neither wait nor bound them (loop bodies do)."""
        hot = {node.id for node in nodes.values() if not node.WAITS}
        graph: dict[str, list[str]] = {node_id: [] for node_id in hot}
        for edge in edges:
            if edge.from_ not in hot or edge.to not in hot:
                continue
            source = nodes[ids[edge.from_]]
            outcomes = self.outcomes(source)
            if outcomes is not None and edge.on not in outcomes:
                continue  # already reported; the engine never takes it
            if isinstance(source, LoopNode) and edge.on == BODY:
                continue  # bounded by max_iterations
            graph[edge.from_].append(edge.to)
        for component in _strongly_connected(graph):
            if len(component) == 1 and component[0] not in graph[component[0]]:
                continue
            ordered = sorted(component, key=ids.__getitem__)
            cycle = " → ".join(repr(n) for n in ordered)
            self.add(f"nodes[{ids[ordered[0]]}]",
                     f"nodes {cycle} form a cycle that never waits for the customer; put an "
                     "ask, a menu, a wait or a silence timeout in it, or make it the body of a "
                     "loop node", Code.UNBOUNDED_LOOP)


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _why(node: Node, outcome: str) -> str:
    if outcome == INVALID:
        return " (max_retries is set: where to go after the last wrong answer)"
    if outcome == TIMEOUT and not isinstance(node, SilenceTimeoutNode):
        return " (timeout_seconds is set)"
    if isinstance(node, SendButtonsNode | SendListNode):
        return " (a choice of the menu)"
    return ""


def _param_problem(kind: str, value: Any) -> str | None:
    """Why literal ``value`` is not of module value type ``kind`` (see `pytake.modules`)."""
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "url": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, Mapping),
        "array": lambda v: isinstance(v, list | tuple),
    }
    check = checks.get(kind)
    if check is None or check(value):
        return None
    article = "an" if kind[0] in "aeiou" else "a"
    return f"must be {article} {kind}, got {_json_type(value)}"


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to hit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            recursed = False
            while child < len(successors):
                target = successors[child]
                child += 1
                if target not in index:
                    work.append((node, child))
                    work.append((target, 0))
                    recursed = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if recursed:
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


_CHECKERS: Final[dict[type, Callable[[_Check, Any, str], None]]] = {
    SendTextNode: _Check.check_send_text,
    SendMediaNode: _Check.check_send_media,
    SendButtonsNode: _Check.check_send_buttons,
    SendListNode: _Check.check_send_list,
    SendTemplateNode: _Check.check_send_template,
    AskNode: _Check.check_ask,
    SetVariableNode: _Check.check_set_variable,
    CallModuleNode: _Check.check_call_module,
    ExtensionNode: _Check.check_extension,
    HttpRequestNode: _Check.check_http_request,
    HandoffNode: _Check.check_handoff,
    WaitNode: _Check.check_wait,
    SilenceTimeoutNode: _Check.check_silence_timeout,
    TeamOpenNode: _Check.check_team_open,
    LoopNode: _Check.check_loop,
    SubflowNode: _Check.check_subflow,
}

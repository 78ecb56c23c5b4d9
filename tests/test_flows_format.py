"""The flow format: every node type structures and round-trips, every kind of problem is
reported at its path and all at once, the shipped examples and the JSON Schema agree with the
model, templates never raise, conditions evaluate, and ``pytake flows validate``."""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytake.cli import main
from pytake.flows import (
    NODE_TYPES,
    AskNode,
    CallModuleNode,
    Code,
    Flow,
    HandoffNode,
    InvalidFlow,
    LoopNode,
    LoopStep,
    Problem,
    SendButtonsNode,
    SendListNode,
    _template,
    condition_problems,
    condition_to_json,
    evaluate,
    flow_schema,
    load_flow,
    parse_condition,
    render,
    render_value,
    validate,
)
from pytake.whatsapp import _outbound

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "flows").glob("*.json"))


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "examples" / "flows" / f"{name}.json").read_text())
    return data


def found(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in problems}


# --- every node type -------------------------------------------------------------------------

#: A minimal valid node of each type (id and type added), and the outcomes it emits.
MINIMAL: dict[str, tuple[dict[str, Any], set[str] | None]] = {
    "send_text": ({"text": "Olá, {{customer.name}}!"}, {"next"}),
    "send_media": ({"media_type": "document", "link": "{{vars.pdf}}", "filename": "a.pdf"},
                   {"next"}),
    "send_buttons": (
        {"text": "Resolvido?", "buttons": [{"id": "yes", "title": "Sim"},
                                           {"id": "no", "title": "Não"}],
         "max_retries": 1, "timeout_seconds": 60},
        {"yes", "no", "invalid", "timeout"},
    ),
    "send_list": (
        {"text": "Escolha", "button": "Opções",
         "sections": [{"title": "A", "rows": [{"id": "a1", "title": "Um"}]},
                      {"title": "B", "rows": [{"id": "b1", "title": "Dois",
                                               "description": "o segundo"}]}]},
        {"a1", "b1"},
    ),
    "send_template": (
        {"name": "ticket_update", "language": "pt_BR",
         "components": [{"type": "body", "parameters": [{"type": "text",
                                                         "text": "{{vars.ticket}}"}]}]},
        {"next"},
    ),
    "ask": ({"text": "CPF?", "variable": "cpf", "validator": {"type": "cpf"},
             "max_retries": 2}, {"next", "invalid"}),
    "condition": ({"when": {"not": {"var": "vars.plan", "op": "eq", "value": "gold"}}},
                  {"true", "false"}),
    "set_variable": ({"variable": "who", "value": {"name": "{{customer.name}}", "n": 1}},
                     {"next"}),
    "call_module": ({"module": "crm", "action": "find", "inputs": {"phone": "{{customer.phone}}"},
                     "output": "crm"}, None),
    "http_request": ({"url": "https://api.example.com/orders/{{vars.order}}",
                      "headers": {"X-Ticket": "{{vars.ticket}}"}, "output": "order"},
                     {"next", "error"}),
    "handoff": ({"team": "financeiro", "note": "CPF {{vars.cpf}}", "skills": ["boleto"],
                 "priority": 2}, set()),
    "wait": ({"seconds": 30}, {"next"}),
    "silence_timeout": ({"seconds": 600, "reminder": "Ainda está aí?", "reminders": 1},
                        {"reply", "timeout"}),
    "window_check": ({}, {"open", "closed"}),
    "team_open": ({"team": "suporte"}, {"open", "closed"}),
    "loop": ({"max_iterations": 5, "for_each": "vars.slips", "item": "slip"},
             {"body", "done", "exceeded"}),
    "subflow": ({"flow": "boleto", "version": 3}, {"next", "error"}),
    "return": ({}, set()),
    "end": ({"resolved": False}, set()),
}


def single(kind: str) -> dict[str, Any]:
    """A valid flow starting with the minimal node of ``kind``, every outcome to an end."""
    fields, outcomes = MINIMAL[kind]
    wired = {"ok", "error"} if outcomes is None else outcomes
    nodes = [{"id": "n", "type": kind, **copy.deepcopy(fields)}]
    if wired:
        nodes.append({"id": "fim", "type": "end"})
    return {
        "format": 1, "id": "t", "name": "T", "start": "n", "nodes": nodes,
        "edges": [{"from": "n", "on": o, "to": "fim"} for o in sorted(wired)],
    }


def test_every_node_type_has_a_minimal_case() -> None:
    assert set(MINIMAL) == set(NODE_TYPES)


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_node_type_structures_and_round_trips(kind: str) -> None:
    document = single(kind)
    assert validate(document) == []
    flow = load_flow(document)
    node = flow.node("n")
    assert type(node) is NODE_TYPES[kind]
    assert node.type == kind
    assert node.outcomes() == (None if MINIMAL[kind][1] is None else MINIMAL[kind][1])
    again = load_flow(flow.to_json())
    assert again == flow
    assert json.loads(json.dumps(flow.to_json())) == flow.to_json()


def test_to_json_leaves_defaults_out() -> None:
    flow = load_flow(single("send_text"))
    assert flow.to_json()["nodes"][0] == {"id": "n", "type": "send_text",
                                          "text": "Olá, {{customer.name}}!"}
    assert flow.to_json()["edges"] == [{"from": "n", "to": "fim"}]


def test_flow_walks_edges() -> None:
    flow = load_flow(example("boleto"))
    assert flow.start_node.id == "ask_cpf"
    assert isinstance(flow.start_node, AskNode)
    lookup = flow.next_node(flow.start_node, "next")
    assert isinstance(lookup, CallModuleNode) and lookup.action_type == "boleto.second_copy"
    assert flow.target("lookup", "not_found") == "tell_not_found"
    assert flow.next_node("lookup", "nonsense") is None
    assert flow.outgoing("lookup") == {"ok": "thanks", "not_found": "tell_not_found",
                                       "invalid_document": "tell_mismatch",
                                       "error": "tell_error"}
    handoff = flow.node("handoff_error")
    assert isinstance(handoff, HandoffNode) and flow.next_node(handoff, "next") is None
    with pytest.raises(KeyError):
        flow.node("nope")


def test_load_flow_raises_with_every_problem() -> None:
    document = example("boleto")
    document["start"] = "nope"
    document["nodes"][0]["max_retries"] = "2"
    with pytest.raises(InvalidFlow) as caught:
        load_flow(document)
    assert found(caught.value.problems) == {("start", Code.BAD_START),
                                            ("nodes[0].max_retries", Code.WRONG_TYPE)}
    assert "2 problems" in str(caught.value)


# --- menus, loops, hand-off notes --------------------------------------------------------------


def test_menu_choice_by_id_title_or_number() -> None:
    flow = load_flow(single("send_buttons"))
    menu = flow.node("n")
    assert isinstance(menu, SendButtonsNode)
    assert menu.choice(reply_id="no") == "no"
    assert menu.choice(reply_id="maybe") is None
    assert menu.choice(text="  NÃO! ") == "no"
    assert menu.choice(text="nao") == "no"
    assert menu.choice(text="1") == "yes"
    assert menu.choice(text="yes") == "yes"
    assert menu.choice(text="talvez") is None
    assert menu.choice(text="") is None
    listing = load_flow(single("send_list")).node("n")
    assert isinstance(listing, SendListNode)
    assert listing.choice(text="dois") == "b1"
    assert listing.choice(text="2") == "b1"
    assert [s.title for s in listing.outbound_sections()] == ["A", "B"]


def test_loop_for_each_steps_and_caps() -> None:
    loop = load_flow(single("loop")).node("n")
    assert isinstance(loop, LoopNode)
    context = {"vars": {"slips": ["a", "b"]}}
    assert loop.step(0, context) == LoopStep("body", "a")
    assert loop.step(1, context) == LoopStep("body", "b")
    assert loop.step(2, context) == LoopStep("done")
    assert loop.step(5, {"vars": {"slips": list(range(9))}}) == LoopStep("exceeded")
    assert loop.step(0, {"vars": {"slips": "not a list"}}) == LoopStep("done")
    assert loop.step(0, {}) == LoopStep("done")


def test_loop_until_steps_and_caps() -> None:
    until = LoopNode(id="l", max_iterations=2,
                     until=parse_condition({"var": "vars.done", "op": "eq", "value": True}))
    assert until.step(0, {"vars": {"done": False}}).outcome == "body"
    assert until.step(1, {"vars": {"done": True}}).outcome == "done"
    assert until.step(2, {"vars": {}}).outcome == "exceeded"


def test_handoff_note_lists_the_variables() -> None:
    handoff = load_flow(single("handoff")).node("n")
    assert isinstance(handoff, HandoffNode)
    note = handoff.note_for({"vars": {"cpf": "52998224725", "plan": None, "n": 2.0}})
    assert note == "CPF 52998224725\n\ncpf: 52998224725\nplan: \nn: 2"
    assert attrs.evolve(handoff, include_variables=False).note_for({"vars": {"a": 1}}) == "CPF"
    assert attrs.evolve(handoff, note="").note_for({}) == ""


# --- problems, one kind at a time ---------------------------------------------------------------


def base() -> dict[str, Any]:
    return {
        "format": 1, "id": "t", "name": "T", "start": "menu",
        "nodes": [
            {"id": "menu", "type": "send_buttons", "text": "Oi",
             "buttons": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]},
            {"id": "ask", "type": "ask", "text": "CPF?", "variable": "cpf",
             "validator": {"type": "cpf"}},
            {"id": "bye", "type": "end"},
        ],
        "edges": [
            {"from": "menu", "on": "a", "to": "ask"},
            {"from": "menu", "on": "b", "to": "bye"},
            {"from": "ask", "to": "bye"},
        ],
    }


def test_base_is_valid() -> None:
    assert validate(base()) == []


def _hot_cycle(d: dict[str, Any]) -> None:
    d["nodes"] += [
        {"id": "s1", "type": "set_variable", "variable": "x", "value": 1},
        {"id": "s2", "type": "condition", "when": {"var": "vars.x", "op": "lt", "value": 3}},
    ]
    d["edges"][1]["to"] = "s1"
    d["edges"] += [{"from": "s1", "to": "s2"}, {"from": "s2", "on": "true", "to": "s1"},
                   {"from": "s2", "on": "false", "to": "bye"}]


def _loop_bounded(d: dict[str, Any]) -> None:
    d["nodes"] += [
        {"id": "l", "type": "loop", "max_iterations": 3, "for_each": "vars.items"},
        {"id": "s", "type": "set_variable", "variable": "last", "value": "{{vars.item}}"},
    ]
    d["edges"][1]["to"] = "l"
    d["edges"] += [{"from": "l", "on": "body", "to": "s"}, {"from": "s", "to": "l"},
                   {"from": "l", "on": "done", "to": "bye"},
                   {"from": "l", "on": "exceeded", "to": "bye"}]


def _waiting_cycle(d: dict[str, Any]) -> None:
    d["edges"][2]["to"] = "menu"  # ask → menu → ask waits for the customer each time


def _set(path: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        target: Any = d
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return mutate


def _delete(path: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        target: Any = d
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[int(last) if last.isdigit() else last]
    return mutate


def _append(path: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d[path].append(value)
    return mutate


def _condition_node(when: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        d["nodes"].append({"id": "c", "type": "condition", "when": when})
        d["edges"][2]["to"] = "c"
        d["edges"] += [{"from": "c", "on": "true", "to": "bye"},
                       {"from": "c", "on": "false", "to": "bye"}]
    return mutate


def _many_rows(d: dict[str, Any]) -> None:
    d["nodes"][0] = {
        "id": "menu", "type": "send_list", "text": "Oi", "button": "Ver opções do menu agora",
        "sections": [{"rows": [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]},
                     {"title": "Mais", "rows": [{"id": f"r{i}", "title": "x" * 25}
                                                for i in range(9)]}],
    }


PROBLEM_CASES: list[tuple[str, Any, str, str]] = [
    ("unknown node type", _set("nodes.2.type", "finish"), "nodes[2].type", Code.UNKNOWN_TYPE),
    ("missing field", _delete("nodes.1.variable"), "nodes[1].variable", Code.MISSING_FIELD),
    ("mistyped field", _set("nodes.1.max_retries", "2"), "nodes[1].max_retries",
     Code.WRONG_TYPE),
    ("mistyped list", _set("nodes.0.buttons", "a,b"), "nodes[0].buttons", Code.WRONG_TYPE),
    ("unknown field", _set("nodes.0.buton", 1), "nodes[0].buton", Code.UNKNOWN_FIELD),
    ("unknown document field", _set("strat", "menu"), "strat", Code.UNKNOWN_FIELD),
    ("unknown validator", _set("nodes.1.validator", {"type": "rg"}), "nodes[1].validator.type",
     Code.UNKNOWN_TYPE),
    ("unsupported format", _set("format", 2), "format", Code.UNSUPPORTED_FORMAT),
    ("bad start", _set("start", "begin"), "start", Code.BAD_START),
    ("duplicate id", _set("nodes.2.id", "ask"), "nodes[2].id", Code.DUPLICATE_ID),
    ("dangling edge (to)", _set("edges.2.to", "nope"), "edges[2].to", Code.DANGLING_EDGE),
    ("dangling edge (from)", _set("edges.2.from", "nope"), "edges[2].from",
     Code.DANGLING_EDGE),
    ("duplicate edge", _append("edges", {"from": "menu", "on": "a", "to": "bye"}), "edges[3]",
     Code.DUPLICATE_EDGE),
    ("unknown outcome", _set("edges.2.on", "yes"), "edges[2].on", Code.UNKNOWN_OUTCOME),
    ("edge out of an end", _append("edges", {"from": "bye", "to": "menu"}), "edges[3].on",
     Code.UNKNOWN_OUTCOME),
    ("missing choice edge", _delete("edges.1"), "nodes[0]", Code.MISSING_OUTCOME),
    ("missing invalid fallback", _set("nodes.1.max_retries", 2), "nodes[1]",
     Code.MISSING_OUTCOME),
    ("missing timeout edge", _set("nodes.1.timeout_seconds", 60), "nodes[1]",
     Code.MISSING_OUTCOME),
    ("unreachable", _append("nodes", {"id": "lost", "type": "end"}), "nodes[3]",
     Code.UNREACHABLE),
    ("cycle that never waits", _hot_cycle, "nodes[3]", Code.UNBOUNDED_LOOP),
    ("button title too long", _set("nodes.0.buttons.0.title", "Quero falar com alguém"),
     "nodes[0].buttons[0].title", Code.WHATSAPP_LIMIT),
    ("too many buttons", _set("nodes.0.buttons", [{"id": c, "title": c} for c in "abcd"]),
     "nodes[0].buttons", Code.WHATSAPP_LIMIT),
    ("duplicate button title", _set("nodes.0.buttons.1.title", "A"), "nodes[0].buttons[1].title",
     Code.WHATSAPP_LIMIT),
    ("reserved button id", _set("nodes.0.buttons.1.id", "invalid"), "nodes[0].buttons[1].id",
     Code.BAD_VALUE),
    ("button body too long", _set("nodes.0.text", "x" * 1025), "nodes[0].text",
     Code.WHATSAPP_LIMIT),
    ("list with too many rows", _many_rows, "nodes[0].sections", Code.WHATSAPP_LIMIT),
    ("list row title too long", _many_rows, "nodes[0].sections[1].rows[0].title",
     Code.WHATSAPP_LIMIT),
    ("list section title missing", _many_rows, "nodes[0].sections[0].title", Code.BAD_VALUE),
    ("list button label too long", _many_rows, "nodes[0].button", Code.WHATSAPP_LIMIT),
    ("text too long", _set("nodes.1.text", "x" * 4097), "nodes[1].text", Code.WHATSAPP_LIMIT),
    ("regex that does not compile", _set("nodes.1.validator", {"type": "regex",
                                                               "pattern": "([a-z"}),
     "nodes[1].validator.pattern", Code.BAD_REGEX),
    ("regex with exponential backtracking", _set("nodes.1.validator", {
        "type": "regex", "pattern": r"(\d+)+-"}), "nodes[1].validator.pattern", Code.BAD_REGEX),
    ("bad options", _set("nodes.1.validator", {"type": "options", "options": ["Sim", "sim!"]}),
     "nodes[1].validator.options[1]", Code.BAD_VALUE),
    ("number range upside down", _set("nodes.1.validator", {"type": "number", "min": 5,
                                                            "max": 1}),
     "nodes[1].validator.max", Code.BAD_VALUE),
    ("expression in a placeholder", _set("nodes.0.text", "Oi {{ customer.name + 1 }}"),
     "nodes[0].text", Code.BAD_TEMPLATE),
    ("unknown namespace", _set("nodes.1.text", "{{ secrets.token }}"), "nodes[1].text",
     Code.BAD_TEMPLATE),
    ("unclosed placeholder", _set("nodes.1.text", "Oi {{customer.name"), "nodes[1].text",
     Code.BAD_TEMPLATE),
    ("bad variable name", _set("nodes.1.variable", "2cpf"), "nodes[1].variable",
     Code.BAD_VALUE),
    ("bad condition operator", _condition_node({"var": "vars.x", "op": "like", "value": 1}),
     "nodes[3].when.op", Code.BAD_VALUE),
    ("bad condition variable", _condition_node({"all": [{"var": "plan", "op": "exists"}]}),
     "nodes[3].when.all[0].var", Code.BAD_CONDITION),
    ("bad condition regex", _condition_node({"var": "vars.x", "op": "matches",
                                             "value": "(a|aa)*"}),
     "nodes[3].when.value", Code.BAD_REGEX),
    ("condition of the wrong shape", _condition_node(["vars.x"]), "nodes[3].when",
     Code.WRONG_TYPE),
]


@pytest.mark.parametrize(("mutate", "path", "code"),
                         [case[1:] for case in PROBLEM_CASES],
                         ids=[case[0] for case in PROBLEM_CASES])
def test_problem_is_reported_at_its_path(mutate: Any, path: str, code: str) -> None:
    document = base()
    mutate(document)
    problems = validate(document)
    assert (path, code) in found(problems), [str(p) for p in problems]


@pytest.mark.parametrize("mutate", [_loop_bounded, _waiting_cycle])
def test_bounded_and_waiting_cycles_are_fine(mutate: Any) -> None:
    document = base()
    mutate(document)
    assert validate(document) == []


def test_cycle_through_a_loop_exit_is_not_bounded() -> None:
    document = base()
    _loop_bounded(document)
    # done → s → l re-enters the loop afresh each time: nothing bounds or waits.
    document["edges"][-2]["to"] = "s"
    assert Code.UNBOUNDED_LOOP in {p.code for p in validate(document)}


def test_every_problem_at_once() -> None:
    document = base()
    for case in PROBLEM_CASES:
        if case[0] in ("unknown node type", "button title too long", "missing invalid fallback",
                       "unreachable", "dangling edge (to)", "expression in a placeholder",
                       "regex that does not compile"):
            case[1](document)
    problems = validate(document)
    assert found(problems) >= {
        ("nodes[2].type", Code.UNKNOWN_TYPE),
        ("nodes[0].buttons[0].title", Code.WHATSAPP_LIMIT),
        ("nodes[0].text", Code.BAD_TEMPLATE),
        ("nodes[1].validator.pattern", Code.BAD_REGEX),
        ("nodes[1]", Code.MISSING_OUTCOME),
        ("nodes[3]", Code.UNREACHABLE),
        ("edges[2].to", Code.DANGLING_EDGE),
    }
    # Sorted: the document, then nodes, then edges, each in document order.
    sections = [p.path.split("[")[0] for p in problems]
    assert sections == sorted(sections, key=["nodes", "edges"].index)


def test_not_a_flow_at_all() -> None:
    assert found(validate([])) == {("", Code.WRONG_TYPE)}
    assert found(validate({})) == {("format", Code.MISSING_FIELD), ("id", Code.MISSING_FIELD),
                                   ("name", Code.MISSING_FIELD), ("start", Code.MISSING_FIELD),
                                   ("nodes", Code.MISSING_FIELD)}
    assert ("nodes[0]", Code.WRONG_TYPE) in found(validate({**base(), "nodes": ["menu"]}))


def test_a_broken_node_does_not_make_its_edges_dangle() -> None:
    document = base()
    document["nodes"][1]["text"] = 7
    assert found(validate(document)) == {("nodes[1].text", Code.WRONG_TYPE)}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=20,
)


@settings(max_examples=150)
@given(JSON)
def test_validate_never_raises_on_any_json(document: Any) -> None:
    assert isinstance(validate(document), list)


@settings(max_examples=150)
@given(st.data())
def test_validate_never_raises_on_a_damaged_example(data: st.DataObject) -> None:
    document = example("triage")
    node = data.draw(st.integers(0, len(document["nodes"]) - 1))
    key = data.draw(st.sampled_from(sorted(document["nodes"][node])))
    document["nodes"][node][key] = data.draw(JSON)
    problems = validate(document)
    assert all(isinstance(p, Problem) and p.path.startswith(("nodes[", "edges[", "start"))
               for p in problems)


# --- module node types -------------------------------------------------------------------------


@attrs.frozen
class FakeParam:
    name: str
    type: str = "string"
    required: bool = False


@attrs.frozen
class FakeNodeType:
    type: str
    outcomes: tuple[str, ...]
    inputs: tuple[FakeParam, ...] = ()


CRM = FakeNodeType("crm.find", ("ok", "not_found", "error"),
                   (FakeParam("phone", required=True), FakeParam("limit", "integer")))


def test_call_module_checked_against_its_declaration() -> None:
    document = single("call_module")
    assert validate(document, node_types=[CRM]) == [
        Problem("nodes[0]", "no edge for outcome 'not_found'", Code.MISSING_OUTCOME)
    ]
    document["edges"].append({"from": "n", "on": "not_found", "to": "fim"})
    assert validate(document, node_types={"crm.find": CRM}) == []
    document["nodes"][0]["inputs"] = {"phon": "x", "limit": "ten"}
    assert found(validate(document, node_types=[CRM])) == {
        ("nodes[0].inputs.phon", Code.UNKNOWN_FIELD),
        ("nodes[0].inputs.phone", Code.MISSING_FIELD),
        ("nodes[0].inputs.limit", Code.WRONG_TYPE),
    }


def test_call_module_unknown_to_the_registry() -> None:
    document = single("call_module")
    assert validate(document) == []
    assert found(validate(document, require_known_modules=True)) == {
        ("nodes[0].action", Code.UNKNOWN_MODULE)
    }
    document["edges"] = [e for e in document["edges"] if e["on"] != "error"]
    assert found(validate(document)) == {("nodes[0]", Code.MISSING_OUTCOME)}


def test_module_declared_node_type() -> None:
    document = single("end")
    document["nodes"] = [{"id": "n", "type": "crm.find", "phone": "{{customer.phone}}",
                          "limit": 3}, {"id": "fim", "type": "end"}]
    document["edges"] = [{"from": "n", "on": o, "to": "fim"} for o in CRM.outcomes]
    assert found(validate(document)) == {("nodes[0].type", Code.UNKNOWN_TYPE)}
    assert validate(document, node_types=[CRM]) == []
    flow = load_flow(document, node_types=[CRM])
    node = flow.node("n")
    assert node.type == "crm.find" and node.outcomes() is None
    assert load_flow(flow.to_json(), node_types=[CRM]) == flow
    document["nodes"][0]["limit"] = True
    document["edges"].append({"from": "n", "on": "maybe", "to": "fim"})
    assert found(validate(document, node_types=[CRM])) == {
        ("nodes[0].limit", Code.WRONG_TYPE), ("edges[3].on", Code.UNKNOWN_OUTCOME)
    }


def test_module_node_type_names_are_namespaced() -> None:
    with pytest.raises(ValueError, match="module"):
        validate(base(), node_types=[FakeNodeType("ask", ("ok",))])


# --- the examples and the schema ---------------------------------------------------------------


def test_examples_are_shipped() -> None:
    assert [p.name for p in EXAMPLES] == ["boleto.json", "triage.json"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    document = json.loads(path.read_text())
    assert validate(document) == []
    assert load_flow(load_flow(document).to_json()) == load_flow(document)


def test_boleto_example_matches_the_boleto_module() -> None:
    from pytake.modules import ModuleRegistry
    from pytake.modules.builtin.boleto import BoletoModule

    node_types = ModuleRegistry([BoletoModule()]).node_types()
    assert validate(example("boleto"), node_types=node_types, require_known_modules=True) == []


#: The JSON Schema keywords the subset checker below understands; the schema uses no other.
KEYWORDS = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum",
    "properties", "required", "additionalProperties", "propertyNames", "items", "minItems",
    "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "oneOf",
}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


def schema_errors(value: Any, schema: Any, root: dict[str, Any], path: str = "$") -> list[str]:
    """Errors of ``value`` against ``schema``: the subset of draft 2020-12 in `KEYWORDS`
    (``jsonschema`` is not a dependency of PyTake)."""
    if schema is True or schema == {}:
        return []
    if schema is False:
        return [f"{path}: not allowed"]
    errors: list[str] = []
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        errors += schema_errors(value, target, root, path)
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[k](value) for k in kinds):
            return [*errors, f"{path}: not {kinds}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: not one of {schema['enum']}")
    if "oneOf" in schema:
        matching = sum(not schema_errors(value, s, root, path) for s in schema["oneOf"])
        if matching != 1:
            errors.append(f"{path}: matches {matching} of oneOf")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}: {k} missing" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], root, f"{path}.{key}")
            elif "additionalProperties" in schema:
                errors += schema_errors(item, schema["additionalProperties"], root,
                                        f"{path}.{key}")
            if "propertyNames" in schema:
                errors += schema_errors(key, schema["propertyNames"], root, f"{path}[{key}]")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1e9):
            errors.append(f"{path}: {len(value)} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, str):
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 1e9):
            errors.append(f"{path}: length {len(value)}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: does not match {schema['pattern']}")
    if _TYPES["number"](value):
        if value < schema.get("minimum", -1e308) or value > schema.get("maximum", 1e308):
            errors.append(f"{path}: out of range")
        if "exclusiveMinimum" in schema and not value > schema["exclusiveMinimum"]:
            errors.append(f"{path}: out of range")
    return errors


def check_against_schema(document: Any) -> list[str]:
    schema = flow_schema()
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:
        return schema_errors(document, schema, schema)
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def _keywords(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(_keywords(s) for s in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found_here = set(schema)
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            found_here |= set().union(*(_keywords(v) for v in value.values()))
        elif key not in ("const", "enum"):
            found_here |= _keywords(value)
    return found_here


def test_schema_is_draft_2020_12_within_the_checked_subset() -> None:
    schema = flow_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert _keywords(schema) <= KEYWORDS
    for definition in schema["$defs"].values():
        for pattern in re.findall(r'"pattern": "((?:[^"\\]|\\.)*)"', json.dumps(definition)):
            re.compile(json.loads(f'"{pattern}"'))


def test_schema_knows_every_node_type_and_field() -> None:
    schema = flow_schema()
    defs = schema["$defs"]
    variants = [ref["$ref"].rsplit("/", 1)[1] for ref in defs["node"]["oneOf"]]
    assert set(variants) == {*NODE_TYPES, "module_node"}
    for kind, cls in NODE_TYPES.items():
        node = defs[kind]
        assert node["properties"]["type"] == {"const": kind}
        fields = {a.name for a in attrs.fields(cls) if a.init}
        assert set(node["properties"]) == fields | {"type"}, kind
        required = {a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING}
        assert set(node["required"]) == required | {"type"}, kind
    validators = {v["properties"]["type"]["const"] for v in defs["validator"]["oneOf"]}
    from pytake.flows import VALIDATORS

    assert validators == set(VALIDATORS)


def test_schema_limits_are_whatsapps() -> None:
    defs = flow_schema()["$defs"]
    assert defs["button"]["properties"]["title"]["maxLength"] == _outbound.BUTTON_TITLE_MAX
    assert defs["button"]["properties"]["id"]["maxLength"] == _outbound.BUTTON_ID_MAX
    assert defs["send_buttons"]["properties"]["buttons"]["maxItems"] == _outbound.BUTTONS_MAX
    assert defs["send_buttons"]["properties"]["text"]["maxLength"] == _outbound.BUTTON_BODY_MAX
    assert defs["send_list"]["properties"]["sections"]["maxItems"] == _outbound.LIST_SECTIONS_MAX
    assert defs["send_list"]["properties"]["button"]["maxLength"] == _outbound.LIST_BUTTON_MAX
    assert defs["section"]["properties"]["rows"]["maxItems"] == _outbound.LIST_ROWS_MAX
    assert defs["section"]["properties"]["title"]["maxLength"] == _outbound.SECTION_TITLE_MAX
    assert defs["row"]["properties"]["title"]["maxLength"] == _outbound.ROW_TITLE_MAX
    assert defs["row"]["properties"]["description"]["maxLength"] == _outbound.ROW_DESCRIPTION_MAX
    assert defs["send_text"]["properties"]["text"]["maxLength"] == _outbound.TEXT_MAX
    assert defs["send_media"]["properties"]["caption"]["maxLength"] == _outbound.CAPTION_MAX
    assert defs["send_media"]["properties"]["media_type"]["enum"] == list(_outbound.MEDIA_TYPES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_matches_the_schema(path: Path) -> None:
    assert check_against_schema(json.loads(path.read_text())) == []


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_minimal_node_matches_the_schema(kind: str) -> None:
    assert check_against_schema(single(kind)) == []


def test_schema_rejects_what_the_validator_rejects() -> None:
    document = base()
    document["nodes"][0]["buttons"][0]["title"] = "x" * 21
    assert check_against_schema(document)
    document = base()
    document["nodes"][1]["validator"] = {"type": "rg"}
    assert check_against_schema(document)
    document = base()
    document["nodes"][2]["resolve"] = True
    assert check_against_schema(document)


# --- templates -----------------------------------------------------------------------------------

CONTEXT: dict[str, Any] = {
    "customer": {"name": "Ana", "attributes": {"plan": "gold", "vip": True}},
    "vars": {"cpf": "52998224725", "amount": 10.5, "n": 3.0, "slips": [{"due": "2026-12-01"}],
             "tags": ["a", "b"], "obj": {"k": 1}, "none": None},
    "conversation": {"id": 7},
}


@pytest.mark.parametrize(("text", "expected"), [
    ("Olá, {{customer.name}}!", "Olá, Ana!"),
    ("{{ vars.cpf }}/{{vars.amount}}/{{vars.n}}", "52998224725/10.5/3"),
    ("{{vars.slips.0.due}}", "2026-12-01"),
    ("{{vars.tags}} {{vars.obj}} [{{vars.none}}]", 'a, b {"k":1} []'),
    ("{{customer.attributes.vip}} {{conversation.id}}", "true 7"),
    ("[{{vars.missing}}] [{{team.name}}] [{{vars.slips.5.due}}]", "[] [] []"),
    ("{{ customer.name + 1 }} {{secrets.x}} {{vars}} {{customer.name",
     "{{ customer.name + 1 }} {{secrets.x}} {{vars}} {{customer.name"),
    ("{{customer.__class__}} {{vars.cpf.__len__}}", " "),
    ("no placeholders", "no placeholders"),
])
def test_render(text: str, expected: str) -> None:
    assert render(text, CONTEXT) == expected


def test_rendering_is_one_pass() -> None:
    context = {"customer": {"name": "{{vars.secret}}"}, "vars": {"secret": "s3cr3t"}}
    assert render("Oi {{customer.name}}", context) == "Oi {{vars.secret}}"


def test_render_value_keeps_types() -> None:
    value = {"amount": "{{vars.amount}}", "list": ["{{vars.tags}}", "x{{vars.n}}"],
             "missing": "{{vars.nope}}", "n": 1}
    assert render_value(value, CONTEXT) == {"amount": 10.5, "list": [["a", "b"], "x3"],
                                            "missing": "", "n": 1}


def test_missing_variable_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    _template._warned.clear()
    with caplog.at_level(logging.WARNING, logger="pytake.flows"):
        assert render("{{vars.unknown_once}}{{vars.unknown_once}}", {}) == ""
        assert render("{{vars.unknown_once}}", {"vars": {}}) == ""
    assert [r.getMessage() for r in caplog.records] == [
        "flow variable {{vars.unknown_once}} is missing; rendered as empty"
    ]


class Hostile(dict[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __contains__(self, key: object) -> bool:
        return True


def test_render_survives_a_hostile_context() -> None:
    assert render("a{{vars.x}}b", {"vars": Hostile()}) == "ab"


@settings(max_examples=300)
@given(st.text(), st.dictionaries(st.sampled_from(["customer", "vars", "team", "x"]), JSON))
def test_render_never_raises(text: str, context: dict[str, Any]) -> None:
    assert isinstance(render(text, context), str)
    assert isinstance(render("{{vars.a}}" + text + "{{customer.b.0}}", context), str)
    render_value({"a": [text]}, context)


@given(st.text(alphabet=st.characters(exclude_characters="{}")))
def test_text_without_braces_is_unchanged(text: str) -> None:
    assert render(text, CONTEXT) == text


# --- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("condition", "expected"), [
    ({"var": "vars.cpf", "op": "eq", "value": "52998224725"}, True),
    ({"var": "vars.amount", "op": "eq", "value": "10.5"}, True),
    ({"var": "vars.n", "op": "eq", "value": 3}, True),
    ({"var": "customer.attributes.vip", "op": "eq", "value": 1}, False),
    ({"var": "customer.attributes.vip", "op": "eq", "value": True}, True),
    ({"var": "vars.missing", "op": "ne", "value": 1}, True),
    ({"var": "vars.missing", "op": "eq", "value": None}, False),
    ({"var": "customer.attributes.plan", "op": "in", "value": ["gold", "platinum"]}, True),
    ({"var": "customer.name", "op": "contains", "value": "An"}, True),
    ({"var": "vars.tags", "op": "contains", "value": "b"}, True),
    ({"var": "vars.obj", "op": "contains", "value": "k"}, True),
    ({"var": "vars.amount", "op": "gt", "value": 10}, True),
    ({"var": "vars.amount", "op": "lte", "value": "10"}, False),
    ({"var": "vars.slips.0.due", "op": "gte", "value": "2026-11-30"}, True),
    ({"var": "vars.obj", "op": "gt", "value": 1}, False),
    ({"var": "vars.cpf", "op": "matches", "value": "^[0-9]{11}$"}, True),
    ({"var": "vars.none", "op": "exists"}, False),
    ({"var": "vars.cpf", "op": "exists"}, True),
    ({"all": []}, True),
    ({"any": []}, False),
    ({"all": [{"var": "vars.cpf", "op": "exists"},
              {"not": {"var": "customer.attributes.plan", "op": "eq", "value": "free"}}]}, True),
    ({"any": [{"var": "vars.x", "op": "exists"}, {"var": "vars.n", "op": "lt", "value": 2}]},
     False),
])
def test_evaluate(condition: dict[str, Any], expected: bool) -> None:
    assert condition_problems(condition) == []
    parsed = parse_condition(condition)
    assert evaluate(parsed, CONTEXT) is expected
    assert condition_to_json(parsed) == condition


def test_condition_problems_have_paths() -> None:
    problems = condition_problems({"any": [{"var": "vars.x"}, {"not": 3},
                                           {"var": "vars.y", "op": "in", "value": []},
                                           {"var": "vars.z", "op": "exists", "value": 1},
                                           {"all": [], "any": []}]})
    assert found(problems) == {
        ("any[0].op", Code.MISSING_FIELD), ("any[1].not", Code.WRONG_TYPE),
        ("any[2].value", Code.WRONG_TYPE), ("any[3].value", Code.UNKNOWN_FIELD),
        ("any[4].any", Code.UNKNOWN_FIELD),
    }
    deep: Any = {"var": "vars.x", "op": "exists"}
    for _ in range(20):
        deep = {"not": deep}
    assert Code.BAD_CONDITION in {p.code for p in condition_problems(deep)}


@settings(max_examples=200)
@given(JSON, st.dictionaries(st.sampled_from(["customer", "vars"]), JSON))
def test_conditions_never_raise(condition: Any, context: dict[str, Any]) -> None:
    problems = condition_problems(condition)
    if not problems:
        assert evaluate(parse_condition(condition), context) in (True, False)


# --- the command ---------------------------------------------------------------------------------


def test_cli_validate_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{EXAMPLES[0]}: valid flow 'boleto' (format 1, 11 nodes, 11 edges)",
        f"{EXAMPLES[1]}: valid flow 'triage' (format 1, 17 nodes, 22 edges)",
    ]


def test_cli_validate_reports_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = base()
    document["nodes"][0]["buttons"][0]["title"] = "Quero falar com alguém"
    document["start"] = "nope"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1,\n "id": }')
    twice = tmp_path / "twice.json"
    twice.write_text('{"format": 1, "format": 1}')
    assert main(["flows", "validate", str(bad), str(broken), str(twice)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{bad}: start: no node has id 'nope'",
        f"{bad}: nodes[0].buttons[0].title: at most 20 characters (WhatsApp's limit), got 22",
        f"{broken}: line 2 column 8: invalid JSON: Expecting value",
        f"{twice}: invalid JSON: duplicate key 'format' in a JSON object",
    ]
    assert captured.err == "pytake: error: 4 problems in 3 files\n"
    assert main(["flows", "validate", "--json", str(bad)]) == 1
    assert json.loads(capsys.readouterr().out)[0] == {
        "file": str(bad), "path": "start", "message": "no node has id 'nope'",
        "code": "bad_start",
    }


def test_cli_validate_against_installed_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flows", "validate", "--modules", str(EXAMPLES[0])]) == 0
    document = example("boleto")
    document["nodes"][1]["action"] = "third_copy"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["flows", "validate", "--modules", str(wrong)]) == 1
    assert "no installed module declares 'boleto.third_copy'" in capsys.readouterr().out


def test_cli_validate_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "validate", "/nonexistent/flow.json"]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_flow_class_is_frozen() -> None:
    flow = load_flow(base())
    assert isinstance(flow, Flow)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        flow.start = "ask"  # type: ignore[misc]

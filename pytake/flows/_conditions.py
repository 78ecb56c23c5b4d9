"""Conditions as JSON data, evaluated without ever evaluating text.

A condition is one of::

    {"all": [condition, ...]}              every one holds (true when empty)
    {"any": [condition, ...]}              at least one holds (false when empty)
    {"not": condition}                     the condition does not hold
    {"var": PATH, "op": OP, "value": V}    a comparison; PATH as in templates: vars.plan,
                                           customer.attributes.vip, conversation.channel ...

======================  =======================================================================
``eq`` / ``ne``         equal / not equal; numbers compare as numbers (``"10"`` equals ``10``),
                        booleans only to booleans, anything else exactly
``in``                  equal to one of ``value`` (a non-empty list)
``contains``            a text containing ``value``, a list with an element equal to it, or an
                        object with that key
``gt`` ``gte``          greater (or equal), ``lt`` ``lte`` less (or equal): numbers as numbers,
``lt`` ``lte``          two texts by character order (right for ISO dates ``2026-11-27``)
``exists``              has a value: present, not ``null``, not ``""`` (no ``value``)
``matches``             the regular expression ``value`` matches somewhere in the text
                        (anchor with ``^...$``); checked as for the ``regex`` validator
======================  =======================================================================

A comparison with a missing variable is false, except ``ne`` (a missing value is not equal
to anything).  `evaluate` never raises; malformed data is caught by `condition_problems`
when the flow is published.  At most `MAX_DEPTH` levels and `MAX_CLAUSES` clauses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import attrs

from pytake.flows._problems import Code, NestedProblems, Problem, join_path
from pytake.flows._template import MISSING, format_value, is_variable_path, lookup
from pytake.flows._validators import regex_problem, safe_search

__all__ = [
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "OPERATORS",
    "All",
    "AnyOf",
    "Compare",
    "Condition",
    "Not",
    "condition_problems",
    "condition_to_json",
    "evaluate",
    "parse_condition",
]

OPERATORS: Final = ("eq", "ne", "in", "contains", "gt", "gte", "lt", "lte", "exists", "matches")
MAX_DEPTH: Final = 16
MAX_CLAUSES: Final = 200


@attrs.frozen
class All:
    """Every item holds."""

    items: tuple[Condition, ...]


@attrs.frozen
class AnyOf:
    """At least one item holds."""

    items: tuple[Condition, ...]


@attrs.frozen
class Not:
    """``item`` does not hold."""

    item: Condition


@attrs.frozen
class Compare:
    """The variable at ``var`` compared by ``op`` with ``value``."""

    var: str
    op: str
    value: Any = None


Condition: TypeAlias = All | AnyOf | Not | Compare

_SCALAR = (str, int, float, bool)


class _Parser:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.clauses = 0

    def problem(self, path: str, message: str, code: str = Code.BAD_CONDITION) -> None:
        self.problems.append(Problem(path, message, code))

    def parse(self, data: Any, path: str, depth: int) -> Condition | None:
        self.clauses += 1
        if self.clauses == MAX_CLAUSES + 1:
            self.problem(path, f"a condition has at most {MAX_CLAUSES} clauses")
        if depth > MAX_DEPTH:
            self.problem(path, f"conditions nest at most {MAX_DEPTH} levels")
            return None
        if not isinstance(data, Mapping):
            self.problem(
                path,
                'a condition is an object: {"all": [...]}, {"any": [...]}, {"not": {...}} or '
                '{"var": ..., "op": ..., "value": ...}',
                Code.WRONG_TYPE,
            )
            return None
        keys = set(data)
        for group, cls in (("all", All), ("any", AnyOf)):
            if group in keys:
                self.only(data, {group}, path)
                items = data[group]
                if not isinstance(items, list):
                    self.problem(join_path(path, group), "a list of conditions", Code.WRONG_TYPE)
                    return None
                parsed = [
                    self.parse(item, join_path(join_path(path, group), i), depth + 1)
                    for i, item in enumerate(items)
                ]
                return cls(tuple(p for p in parsed if p is not None))
        if "not" in keys:
            self.only(data, {"not"}, path)
            item = self.parse(data["not"], join_path(path, "not"), depth + 1)
            return Not(item) if item is not None else None
        if "var" in keys or "op" in keys:
            return self.compare(data, path)
        self.problem(path, "a condition has one of the keys all, any, not, or var with op")
        return None

    def only(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(set(data) - allowed):
            self.problem(join_path(path, key), "unknown field here", Code.UNKNOWN_FIELD)

    def compare(self, data: Mapping[str, Any], path: str) -> Compare | None:
        self.only(data, {"var", "op", "value"}, path)
        before = len(self.problems)
        var, op = data.get("var"), data.get("op")
        if var is None:
            self.problem(join_path(path, "var"), "required field missing", Code.MISSING_FIELD)
        elif not isinstance(var, str) or not is_variable_path(var):
            self.problem(
                join_path(path, "var"),
                f"{var!r} is not a variable path such as vars.plan or customer.attributes.vip",
            )
        if op is None:
            self.problem(join_path(path, "op"), "required field missing", Code.MISSING_FIELD)
        elif op not in OPERATORS:
            known = ", ".join(OPERATORS)
            self.problem(join_path(path, "op"), f"{op!r} is not one of {known}", Code.BAD_VALUE)
        else:
            self.value(op, data, join_path(path, "value"))
        if len(self.problems) > before:
            return None
        return Compare(str(var), str(op), data.get("value"))

    def value(self, op: str, data: Mapping[str, Any], path: str) -> None:
        if op == "exists":
            if "value" in data:
                self.problem(path, "exists takes no value", Code.UNKNOWN_FIELD)
            return
        if "value" not in data:
            self.problem(path, f"{op} needs a value", Code.MISSING_FIELD)
            return
        value = data["value"]
        if op == "in":
            if not isinstance(value, list) or not value:
                self.problem(path, "in needs a non-empty list", Code.WRONG_TYPE)
            elif not all(v is None or isinstance(v, _SCALAR) for v in value):
                self.problem(path, "in compares with plain values (text, numbers, booleans)")
        elif op in ("gt", "gte", "lt", "lte"):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                self.problem(path, f"{op} compares with a number or a text", Code.WRONG_TYPE)
        elif op == "contains":
            if value is not None and not isinstance(value, _SCALAR):
                self.problem(path, "contains looks for a plain value", Code.WRONG_TYPE)
        elif op == "matches":
            if not isinstance(value, str):
                self.problem(path, "matches needs a regular expression", Code.WRONG_TYPE)
            elif (why := regex_problem(value)) is not None:
                self.problem(path, why, Code.BAD_REGEX)


def condition_problems(data: Any) -> list[Problem]:
    """Everything wrong with condition ``data``, with paths relative to it (``all[1].op``)."""
    parser = _Parser()
    parser.parse(data, "", 1)
    return parser.problems


def parse_condition(data: Any) -> Condition:
    """``data`` as a `Condition`; raises `NestedProblems` listing every problem."""
    parser = _Parser()
    condition = parser.parse(data, "", 1)
    if parser.problems or condition is None:
        problems = parser.problems or [Problem("", "not a condition", Code.BAD_CONDITION)]
        raise NestedProblems(problems)
    return condition


def condition_to_json(condition: Condition) -> dict[str, Any]:
    """The JSON form of ``condition`` (the inverse of `parse_condition`)."""
    if isinstance(condition, All):
        return {"all": [condition_to_json(c) for c in condition.items]}
    if isinstance(condition, AnyOf):
        return {"any": [condition_to_json(c) for c in condition.items]}
    if isinstance(condition, Not):
        return {"not": condition_to_json(condition.item)}
    result: dict[str, Any] = {"var": condition.var, "op": condition.op}
    if condition.op != "exists":
        result["value"] = condition.value
    return result


# --- evaluation ----------------------------------------------------------------------------------

_NUMERIC_TEXT: Final = re.compile(r"^\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    numeric_text = isinstance(value, str) and len(value) <= 40 and _NUMERIC_TEXT.match(value)
    if not (isinstance(value, int | float) or numeric_text):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return x == y
    return bool(a == b)


def _order(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 comparing ``a`` with ``b``, or ``None`` when they do not compare."""
    x, y = _number(a), _number(b)
    if x is None or y is None:
        if isinstance(a, str) and isinstance(b, str):
            return (a > b) - (a < b)
        return None
    return (x > y) - (x < y)


def _compare(condition: Compare, context: Mapping[str, Any]) -> bool:
    actual = lookup(condition.var, context)
    op, expected = condition.op, condition.value
    if op == "exists":
        return actual is not MISSING and actual is not None and actual != ""
    if op == "ne":
        return actual is MISSING or not _equal(actual, expected)
    if actual is MISSING:
        return False
    if op == "eq":
        return _equal(actual, expected)
    if op == "in":
        return isinstance(expected, list) and any(_equal(actual, e) for e in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, Mapping):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, Sequence):
            return any(_equal(item, expected) for item in actual)
        return False
    if op in ("gt", "gte", "lt", "lte"):
        order = _order(actual, expected)
        if order is None:
            return False
        return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]
    if op == "matches":
        if not isinstance(expected, str) or not isinstance(actual, str | int | float):
            return False
        return safe_search(expected, format_value(actual))
    return False


def _evaluate(condition: Condition, context: Mapping[str, Any], depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(condition, All):
        return all(_evaluate(c, context, depth + 1) for c in condition.items)
    if isinstance(condition, AnyOf):
        return any(_evaluate(c, context, depth + 1) for c in condition.items)
    if isinstance(condition, Not):
        return not _evaluate(condition.item, context, depth + 1)
    if isinstance(condition, Compare):
        return _compare(condition, context)
    return False


def evaluate(condition: Condition, context: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds in ``context`` (the same namespaces as templates).

    Never raises: anything unexpected (an odd value in the context) makes it false."""
    try:
        return _evaluate(condition, context, 1)
    except Exception:
        return False

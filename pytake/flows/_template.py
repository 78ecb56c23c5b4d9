"""Safe interpolation of variables into flow texts: ``"Olá, {{customer.name}}!"``.

The rules, all of them:

- A placeholder is ``{{ namespace.key }}`` with one or more dotted keys after one of the
  namespaces in `NAMESPACES`: ``customer``, ``vars``, ``conversation``, ``team``.  A key is an
  identifier, or a number that indexes a list (``{{vars.slips.0.due_date}}``).  Spaces inside
  the braces are optional.
- Nothing is evaluated: no expressions, filters, calls or attribute access; a lookup only
  walks JSON objects and lists.  Text that looks like a placeholder but is not one is left as
  written (in a flow document the validator reports it, see `template_problems`).
- Rendering is a single pass: a value that itself contains ``{{...}}`` (a customer typed it
  into an answer) is inserted as is, never rendered again.
- A missing value renders as ``""`` and is logged at WARNING once per placeholder name (per
  process, bounded); `render` never raises, whatever the text and the context hold.
- Values are formatted as text: strings as they are, ``None`` as ``""``, booleans as
  ``true``/``false``, whole floats without ``.0``, lists of plain values joined with ``", "``,
  anything else as compact JSON.

`render_value` renders every string inside a JSON value (module inputs, HTTP bodies,
template parameters); a string that is exactly one placeholder takes the value itself, so
``"{{vars.amount}}"`` stays a number and ``"{{vars.slips}}"`` a list.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "MISSING",
    "NAMESPACES",
    "format_value",
    "is_variable_path",
    "lookup",
    "placeholders",
    "render",
    "render_value",
    "template_problems",
]

log = logging.getLogger("pytake.flows")

#: The namespaces a placeholder or a condition may read.
NAMESPACES: Final = ("customer", "vars", "conversation", "team")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: What `lookup` returns for a path that leads nowhere.
MISSING: Final = _Missing()

_PATH: Final = re.compile(
    r"^(?:" + "|".join(NAMESPACES) + r")(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]{1,6}))+$"
)
_PLACEHOLDER: Final = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Once per name: remembered up to this many names, then forgotten all at once (bounded).
_WARNED_MAX: Final = 1024
_warned: set[str] = set()


def is_variable_path(path: str) -> bool:
    """Whether ``path`` is a readable dotted path: ``vars.cpf``, ``customer.attributes.plan``,
    ``vars.slips.0.due_date``."""
    return isinstance(path, str) and len(path) <= 256 and _PATH.match(path) is not None


def lookup(path: str, context: Mapping[str, Any]) -> Any:
    """The value at dotted ``path`` in ``context``, or `MISSING`.

    Objects are walked by key and lists by numeric key; nothing else (no attributes, no
    methods). An invalid path is `MISSING` too. Never raises.
    """
    if not is_variable_path(path):
        return MISSING
    value: Any = context
    try:
        for key in path.split("."):
            if isinstance(value, Mapping):
                if key not in value:
                    return MISSING
                value = value[key]
            elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
                if not key.isdigit() or int(key) >= len(value):
                    return MISSING
                value = value[int(key)]
            else:
                return MISSING
    except Exception:  # a hostile Mapping in the context must not take the flow down
        return MISSING
    return value


def format_value(value: Any) -> str:
    """``value`` as message text (see the module docstring)."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, list | tuple) and all(
        v is None or isinstance(v, str | int | float) for v in value
    ):
        return ", ".join(format_value(v) for v in value)
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return str(value)


def _missing(path: str) -> None:
    if path in _warned:
        return
    if len(_warned) >= _WARNED_MAX:
        _warned.clear()
    _warned.add(path)
    log.warning("flow variable {{%s}} is missing; rendered as empty", path)


def render(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with every placeholder replaced by its value in ``context``.

    ``context`` maps namespaces to JSON-like values: ``{"customer": {"name": "Ana"},
    "vars": {"cpf": "52998224725"}, "conversation": {...}, "team": {...}}``.  Never raises.
    """
    if not isinstance(text, str):
        text = format_value(text)
    if "{{" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        path = match.group(1)
        if not is_variable_path(path):
            return match.group(0)
        try:
            value = lookup(path, context)
            if value is MISSING:
                _missing(path)
                return ""
            return format_value(value)
        except Exception:  # formatting an odd value: empty, never a crash
            log.warning("flow variable {{%s}} could not be formatted", path, exc_info=True)
            return ""

    return _PLACEHOLDER.sub(replace, text)


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with every string inside rendered; ``"{{path}}"`` alone keeps the value's
    type (a number stays a number). Objects' keys are not rendered. Never raises."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole is not None and is_variable_path(whole.group(1)):
            found = lookup(whole.group(1), context)
            if found is MISSING:
                _missing(whole.group(1))
                return ""
            return found
        return render(value, context)
    if isinstance(value, Mapping):
        return {k: render_value(v, context) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(v, context) for v in value]
    return value


def placeholders(text: str) -> list[str]:
    """The variable paths ``text`` reads, in order (for tooling: which variables a flow uses)."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(text) if is_variable_path(m.group(1))]


def template_problems(text: str) -> list[str]:
    """What is wrong with the placeholders of ``text`` (empty when nothing is)."""
    problems: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        if not is_variable_path(match.group(1)):
            problems.append(
                f"{match.group(0)!r} is not a variable: placeholders read a dotted path in "
                + ", ".join(NAMESPACES)
                + " (such as {{vars.cpf}}), with no expressions"
            )
    residue = _PLACEHOLDER.sub("", text)
    if "{{" in residue:
        problems.append("'{{' is not closed by '}}'")
    return problems

"""Dotted paths into JSON answers, and placeholders in a module's own templates.

Not for a flow node's inputs: the flow engine renders those (``pytake.flows``) before the
call, and a module never renders them again (a value a customer typed must not be read as a
template a second time). This renderer is for templates a module's *configuration* holds,
filled with values the module computed: the boleto message (``{{digitable_line}}``), the CRM
path (``/customers/{{phone}}``). Rules:

- ``{{ amount }}`` or ``{{ slip.due_date }}`` is replaced by the value at that dotted path in
  the mapping given. Spaces inside the braces are optional. Rendering is one pass: a value
  containing ``{{...}}`` is inserted as it is.
- A path goes through objects by key and through lists by index: ``data.items.0.id``.
- A missing value is an error (`TemplateError` naming the placeholder), never an empty
  string: a URL built with a silently missing part calls the wrong thing.
- `render` formats values as text (``None`` as empty, numbers as written, objects as JSON);
  ``escape`` is applied to each substituted value (``urllib.parse.quote`` for URLs), never to
  the template's own text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from pytake.errors import ModuleError

__all__ = ["MISSING", "TemplateError", "lookup", "render"]

_PLACEHOLDER: Final = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]*)\s*\}\}")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: What `lookup` returns for a path that leads nowhere.
MISSING: Final = _Missing()


class TemplateError(ModuleError, ValueError):
    """A placeholder names nothing in the scope; ``path`` is the placeholder's path."""

    def __init__(self, path: str) -> None:
        super().__init__(f"template placeholder {{{{{path}}}}} has no value")
        self.path = path


def lookup(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``data``, or `MISSING`.

    Keys go into objects, integers (also negative) into lists; an empty path is ``data``.
    """
    if path == "":
        return data
    value = data
    for part in path.split("."):
        if isinstance(value, Mapping):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(
    template: str, scope: Mapping[str, Any], *, escape: Callable[[str], str] | None = None
) -> str:
    """``template`` with every placeholder replaced; `TemplateError` for a missing value."""

    def substitute(match: re.Match[str]) -> str:
        value = lookup(scope, match.group(1))
        if value is MISSING:
            raise TemplateError(match.group(1))
        text = _text(value)
        return escape(text) if escape is not None else text

    return _PLACEHOLDER.sub(substitute, template)

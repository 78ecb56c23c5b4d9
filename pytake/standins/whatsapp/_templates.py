"""The stand-in's template catalogue: what ``GET /{waba_id}/message_templates`` lists and what
a template send is checked against. Pure: no I/O.

A template's variables are ``{{1}}``, ``{{2}}`` ... (``parameter_format`` POSITIONAL) or
``{{name}}`` (NAMED) in its HEADER (text format) and BODY texts. Meta requires an ``example``
for every component with variables, and a client that rebuilds templates from the listing
(pywa does) refuses one without it, so the defaults carry theirs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import attrs

from pytake.standins.whatsapp._errors import ApiProblem

_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")

#: Every field a template node has in the Graph API; asking for another one is an error.
KNOWN_FIELDS = frozenset(
    {
        "id", "name", "language", "status", "category", "components", "parameter_format",
        "message_send_ttl_seconds", "correct_category", "previous_category", "rejected_reason",
        "library_template_name", "quality_score", "cta_url_link_tracking_opted_out",
        "sub_category", "degrees_of_freedom_spec",
    }
)  # fmt: skip
#: What the listing answers without ``fields=``.
DEFAULT_FIELDS = (
    "name", "parameter_format", "components", "language", "status", "category", "id",
)  # fmt: skip
#: The aggregate counts ``summary=`` may ask for.
SUMMARY_FIELDS = (
    "total_count", "message_template_count", "message_template_limit",
    "are_translations_complete",
)  # fmt: skip
#: Templates a WABA may hold (Meta's limit for a verified business).
TEMPLATE_LIMIT = 6000


def variables(text: str) -> list[str]:
    """The variable names of ``text`` in order of appearance, each once."""
    return list(dict.fromkeys(_VARIABLE.findall(text)))


@attrs.frozen
class Template:
    """One message template as ``GET /{waba_id}/message_templates`` lists it."""

    name: str
    language: str
    status: str = "APPROVED"
    category: str = "UTILITY"
    id: str = attrs.field(factory=lambda: str(random.randrange(10**15, 10**16)))
    components: list[dict[str, Any]] = attrs.field(factory=list)

    def component(self, kind: str) -> dict[str, Any] | None:
        """The component of type ``kind`` (``BODY``, ``HEADER`` ...), if the template has it."""
        for component in self.components:
            if str(component.get("type", "")).upper() == kind:
                return component
        return None

    def variables(self, kind: str) -> list[str]:
        """The variables of the ``kind`` component's text (none for a media header)."""
        component = self.component(kind)
        if component is None or not isinstance(component.get("text"), str):
            return []
        if kind == "HEADER" and str(component.get("format", "TEXT")).upper() != "TEXT":
            return []
        return variables(component["text"])

    @property
    def parameter_format(self) -> str:
        """``NAMED`` when a variable has a name, else ``POSITIONAL`` (Meta's default)."""
        names = self.variables("HEADER") + self.variables("BODY")
        return "NAMED" if any(not n.isdigit() for n in names) else "POSITIONAL"

    @property
    def buttons(self) -> list[dict[str, Any]]:
        component = self.component("BUTTONS")
        return list(component.get("buttons", [])) if component is not None else []

    def to_json(self, fields: Sequence[str] = DEFAULT_FIELDS) -> dict[str, Any]:
        """The listing item with ``fields`` (those this template has a value for)."""
        values: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }
        # Graph always includes the id, and leaves out fields that have no value.
        return {f: values[f] for f in (*fields, "id") if f in values}


DEFAULT_TEMPLATES: tuple[Template, ...] = (
    Template(
        name="ticket_update",
        language="es_ES",
        id="1180000000000001",
        components=[
            {
                "type": "BODY",
                "text": "Tu ticket #{{1}} ha sido actualizado: {{2}}",
                "example": {"body_text": [["991", "resuelto"]]},
            },
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Reabrir"}]},
        ],
    ),
    Template(
        name="hello_world",
        language="en_US",
        id="1180000000000002",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!!"},
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ],
    ),
    Template(
        name="spring_offer",
        language="pt_BR",
        status="PENDING",
        category="MARKETING",
        id="1180000000000003",
        components=[
            {
                "type": "BODY",
                "text": "Oferta de primavera: {{1}} de desconto",
                "example": {"body_text": [["20%"]]},
            }
        ],
    ),
    Template(
        name="order_shipped",
        language="pt_BR",
        id="1180000000000004",
        components=[
            {
                "type": "BODY",
                "text": "Olá {{customer}}, o pedido {{order}} saiu para entrega.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "customer", "example": "Ana"},
                        {"param_name": "order", "example": "991"},
                    ]
                },
            }
        ],
    ),
)


def _csv(query: Mapping[str, list[str]], key: str) -> list[str]:
    return [part.strip() for value in query.get(key, []) for part in value.split(",") if part]


def listing(
    templates: Sequence[Template], query: Mapping[str, list[str]], next_url: str
) -> dict[str, Any]:
    """The answer to ``GET /{waba_id}/message_templates`` with ``query`` (parsed query string).

    Filters ``name`` (exact), ``status``, ``category`` and ``language`` (comma-separated
    lists); ``fields`` and ``summary`` (comma-separated, ``summary=true`` for the total);
    ``limit`` and ``after`` page. ``next_url`` is the listing URL without a query string.
    Raises `ApiProblem` (code 100) for an unknown field or a bad number.
    """
    fields = _csv(query, "fields") or list(DEFAULT_FIELDS)
    unknown = [f for f in fields if f not in KNOWN_FIELDS]
    if unknown:
        raise ApiProblem(100, f"Tried accessing nonexisting field ({unknown[0]}) on template")
    items = list(templates)
    if names := _csv(query, "name"):
        items = [t for t in items if t.name in names]
    for key in ("status", "category"):
        if wanted := {v.upper() for v in _csv(query, key)}:
            items = [t for t in items if getattr(t, key).upper() in wanted]
    if languages := set(_csv(query, "language")):
        items = [t for t in items if t.language in languages]
    try:
        limit = max(1, int(query.get("limit", ["25"])[0]))
        start = int(query.get("after", ["0"])[0] or 0)
    except ValueError:
        raise ApiProblem(100, "limit and after must be integers") from None
    page = items[start : start + limit]
    paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
    if start + limit < len(items):
        # The next page keeps every filter and field list; only the cursor moves.
        kept = {k: v for k, v in query.items() if k not in ("limit", "after")}
        rest = urlencode(kept, doseq=True, safe=",")
        paging["next"] = f"{next_url}?limit={limit}&after={start + limit}&{rest}".rstrip("&")
    answer: dict[str, Any] = {"data": [t.to_json(fields) for t in page], "paging": paging}
    summary = _csv(query, "summary")
    if summary:
        counts: dict[str, Any] = {
            "total_count": len(items),
            "message_template_count": len(templates),
            "message_template_limit": TEMPLATE_LIMIT,
            "are_translations_complete": True,
        }
        wanted_counts = ["total_count"] if summary == ["true"] else summary
        answer["summary"] = {k: counts[k] for k in wanted_counts if k in counts}
    return answer


def find(templates: Iterable[Template], name: str, language: str) -> Template | None:
    """The template ``name`` in ``language``, whatever its status."""
    for template in templates:
        if template.name == name and template.language == language:
            return template
    return None

"""`TemplateCatalogue`: which message templates are approved, so we never send one that isn't.

The catalogue is kept **in memory** (there is no templates table in the schema yet): `sync`
loads every template of a WhatsApp Business Account from the Graph API
(``GET /{waba-id}/message_templates``, all pages), and `apply_status_update` applies the
``message_template_status_update`` webhook (``event``: APPROVED, REJECTED, PAUSED, DISABLED,
PENDING_DELETION, ...) between syncs. A process that restarts syncs again at start-up.

Sending a template Meta has not approved fails with 132001/132015/132016 after the round
trip; `require_approved` refuses it before anything is stored, with a message an operator can
act on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from pytake.errors import InvalidMessage
from pytake.messaging._client import CloudApiClient

__all__ = ["TemplateCatalogue", "TemplateInfo"]

log = logging.getLogger("pytake.whatsapp")


#: A variable in a template's text: ``{{1}}`` (positional) or ``{{order_id}}`` (named).
_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _variables(text: str) -> tuple[str, ...]:
    """The variable names of ``text`` in order of first appearance."""
    return tuple(dict.fromkeys(_VARIABLE.findall(text)))


@attrs.frozen
class TemplateInfo:
    name: str
    language: str
    status: str
    category: str | None = None
    id: str | None = None
    #: The BODY text, with its ``{{…}}`` variables; ``""`` when the listing gave none.
    body: str = ""
    #: A text HEADER (``None``: no header, or a media one); its variables.
    header: str | None = None
    header_variables: tuple[str, ...] = ()
    footer: str | None = None
    #: The body's variables, in order: what a sender fills in.
    variables: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()


def _texts(components: Any) -> dict[str, Any]:
    """The fields of `TemplateInfo` taken from a listing's ``components``."""
    found: dict[str, Any] = {}
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type", "")).upper()
        text = component.get("text")
        if kind == "BODY" and isinstance(text, str):
            found["body"], found["variables"] = text, _variables(text)
        elif kind == "HEADER" and isinstance(text, str) \
                and str(component.get("format", "TEXT")).upper() == "TEXT":
            found["header"], found["header_variables"] = text, _variables(text)
        elif kind == "FOOTER" and isinstance(text, str):
            found["footer"] = text
        elif kind == "BUTTONS":
            found["buttons"] = tuple(
                str(b.get("text", "")) for b in component.get("buttons") or ()
                if isinstance(b, Mapping))
    return found


class TemplateCatalogue:
    """Templates by ``(name, language)``; statuses are upper-case as Meta writes them."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, str], TemplateInfo] = {}
        self.synced = False

    def load(self, templates: Iterable[Mapping[str, Any]]) -> int:
        """Replace the catalogue with Graph API template objects; return how many."""
        fresh: dict[tuple[str, str], TemplateInfo] = {}
        for t in templates:
            name, language = t.get("name"), t.get("language")
            if not isinstance(name, str) or not isinstance(language, str):
                continue
            fresh[(name, language)] = TemplateInfo(
                name=name,
                language=language,
                status=str(t.get("status") or "").upper(),
                category=t.get("category"),
                id=str(t["id"]) if t.get("id") is not None else None,
                **_texts(t.get("components")),
            )
        self._templates = fresh
        self.synced = True
        return len(fresh)

    async def sync(self, client: CloudApiClient, waba_id: str) -> int:
        """Reload from the Graph API (every page); return how many templates there are."""
        count = self.load(await client.list_templates(waba_id))
        log.info("template catalogue: %d templates for WABA %s", count, waba_id)
        return count

    def apply_status_update(self, template_name: str, language: str, event: str) -> None:
        """Apply a ``message_template_status_update`` webhook (``message_template_name``,
        ``message_template_language``, ``event``)."""
        key = (template_name, language)
        old = self._templates.get(key)
        status = event.upper()
        if old is None:
            self._templates[key] = TemplateInfo(template_name, language, status)
        else:
            self._templates[key] = attrs.evolve(old, status=status)
        log.info("template %s/%s is now %s", template_name, language, status)

    def get(self, name: str, language: str) -> TemplateInfo | None:
        return self._templates.get((name, language))

    def approved(self, name: str, language: str) -> bool:
        info = self._templates.get((name, language))
        return info is not None and info.status == "APPROVED"

    def require_approved(self, name: str, language: str) -> None:
        """Raise `InvalidMessage` unless ``name`` in ``language`` is approved."""
        if self.approved(name, language):
            return
        info = self._templates.get((name, language))
        if info is not None:
            why = f"its status is {info.status or 'unknown'}"
        else:
            others = sorted(lang for (n, lang) in self._templates if n == name)
            why = (f"it exists only in {', '.join(others)}" if others
                   else "no such template" + ("" if self.synced else " (catalogue not synced)"))
        raise InvalidMessage([f"template {name!r} ({language}) is not approved: {why}"])

    def approved_templates(self) -> list[TemplateInfo]:
        """Every approved template, by name then language: what may be sent outside the
        24-hour window."""
        return sorted((t for t in self._templates.values() if t.status == "APPROVED"),
                      key=lambda t: (t.name, t.language))

    def __len__(self) -> int:
        return len(self._templates)

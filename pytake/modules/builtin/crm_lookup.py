"""``crm_lookup``: find the customer in a CRM by phone number and copy fields into the
customer's attributes.

Configuration (per tenant): ``base_url`` and ``path`` of the CRM's search (a ``{{phone}}``
placeholder in ``path`` puts the number in the path, otherwise it goes in the query parameter
``phone_param``), ``phone_format`` (``digits``: 5511987654321, or ``e164``: +5511987654321),
``api_token`` (secret, sent as Bearer), ``result_path`` (dotted path to the customer in the
answer; a list there means its first element), ``mapping`` (customer attribute → dotted path
in the CRM's customer, e.g. ``{"name": "full_name", "tier": "segment.name"}``),
``brazil_ninth_digit`` and ``timeout``.

Action ``lookup`` (node type ``crm_lookup.lookup``), input ``phone`` (default: the customer's
``phone``, else its ``wa_id``):

- ``ok``: the customer was found; ``customer_attributes`` and the output ``crm`` hold the
  mapped fields (a path the CRM's record lacks is left out);
- ``not_found``: 404, an empty list, or nothing at ``result_path``;
- ``error``: timeouts, unreachable, 5xx, other 4xx, malformed answers.

With ``brazil_ninth_digit`` (default on), a Brazilian mobile number not found as given is
looked up once more with the ninth digit added or removed, since WhatsApp ids and CRMs often
disagree about it (``wa_id`` 556187654321 vs phone +5561987654321).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from pytake.modules._contract import (
    NOT_FOUND,
    OK,
    Action,
    ConfigField,
    Manifest,
    ModuleContext,
    ModuleResponse,
    Param,
)
from pytake.modules._template import MISSING, TemplateError, lookup, render
from pytake.modules.builtin._http import HttpModule, describe_url, json_headers

__all__ = ["CrmLookupModule", "ninth_digit_variant"]


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


def ninth_digit_variant(digits: str) -> str | None:
    """The same Brazilian mobile number with the ninth digit added or removed, or ``None``.

    ``55 DD 9XXXX-XXXX`` (13 digits) ↔ ``55 DD XXXX-XXXX`` (12 digits, mobile: first local
    digit 6-9).
    """
    if not digits.startswith("55"):
        return None
    if len(digits) == 13 and digits[4] == "9":
        return digits[:4] + digits[5:]
    if len(digits) == 12 and digits[4] in "6789":
        return digits[:4] + "9" + digits[4:]
    return None


class CrmLookupModule(HttpModule):
    name: ClassVar[str] = "crm_lookup"
    version: ClassVar[str] = "1.0.0"
    manifest: ClassVar[Manifest] = Manifest(
        description="Finds the customer in a CRM by phone and copies fields into attributes.",
        config=(
            ConfigField(name="base_url", type="url", required=True, description="CRM API"),
            ConfigField(name="path", default="/customers"),
            ConfigField(name="phone_param", default="phone"),
            ConfigField(name="phone_format", default="digits", choices=("digits", "e164")),
            ConfigField(name="api_token", secret=True, description="sent as Bearer token"),
            ConfigField(name="result_path", default="", description="dotted path"),
            ConfigField(
                name="mapping",
                type="object",
                required=True,
                description="customer attribute -> dotted path in the CRM record",
            ),
            ConfigField(name="brazil_ninth_digit", type="boolean", default=True),
            ConfigField(name="timeout", type="number", default=5.0, description="seconds"),
        ),
        actions=(
            Action(
                name="lookup",
                description="Look the customer up by phone.",
                inputs=(Param(name="phone", description="default: the customer's phone"),),
                outputs=(Param(name="crm", type="object", description="the mapped fields"),),
                outcomes=(OK, NOT_FOUND),
                idempotent=True,
                timeout=30.0,
            ),
        ),
        permissions=("network:outbound", "customer:write"),
    )

    async def execute(self, context: ModuleContext) -> ModuleResponse:
        config = context.config
        phone = context.inputs.get("phone") or context.customer.get("phone")
        phone = phone or context.customer.get("wa_id")
        digits = _digits(str(phone or ""))
        if not digits:
            return ModuleResponse.failure(
                "crm_lookup: no phone number (neither the input nor the customer has one)",
                transient=False,
            )
        candidates = [digits]
        variant = ninth_digit_variant(digits) if config["brazil_ninth_digit"] else None
        if variant is not None:
            candidates.append(variant)
        response = ModuleResponse.success({}, outcome=NOT_FOUND)
        for candidate in candidates:
            response = await self._lookup(context, candidate)
            if response.outcome != NOT_FOUND:
                break
        return response

    async def _lookup(self, context: ModuleContext, digits: str) -> ModuleResponse:
        config = context.config
        number = "+" + digits if config["phone_format"] == "e164" else digits
        base = config["base_url"].rstrip("/") + "/"
        path = str(config["path"]).lstrip("/")
        params: dict[str, str] | None = None
        try:
            if "{{" in path:
                url = base + render(path, {"phone": number}, escape=lambda v: quote(v, safe=""))
            else:
                url = base + path
                params = {config["phone_param"]: number}
        except TemplateError as exc:
            return ModuleResponse.failure(f"crm_lookup: path {exc}", transient=False)
        what = f"CRM GET {describe_url(url)}"
        headers = json_headers(context.call_id, config.get("api_token"))
        answer = await self.send("GET", url, what=what, timeout=float(config["timeout"]),
                                 headers=headers, params=params)
        if isinstance(answer, ModuleResponse):
            return answer
        data, failure = answer.found_json(what, not_found={})
        if failure is not None:
            return failure
        record = lookup(data, config["result_path"])
        if isinstance(record, list):
            record = record[0] if record else MISSING
        if record is MISSING or record is None:
            return ModuleResponse.success({}, outcome=NOT_FOUND)
        if not isinstance(record, dict):
            return ModuleResponse.failure(
                f"{what} answered malformed: the customer at {config['result_path']!r} is "
                f"a {type(record).__name__}, not an object"
            )
        attributes: dict[str, Any] = {}
        for attribute, source in config["mapping"].items():
            value = lookup(record, str(source))
            if value is not MISSING:
                attributes[str(attribute)] = value
        return ModuleResponse.success({"crm": attributes}, customer_attributes=attributes)

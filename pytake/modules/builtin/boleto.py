"""``boleto``: a second copy of open bank slips, from a billing API, sent to the customer.

Configuration (per tenant): ``base_url`` and ``path`` of the billing API's search, ``method``
(GET sends the document as a query parameter, POST as a JSON field, both named by
``document_param``), ``api_token`` (secret, sent as Bearer), ``list_path`` (where the list of
slips is in the answer, dotted), ``max_slips`` sent, ``send_pdf``, the ``message`` template
and ``timeout``.

The billing API answers a list of slips, each an object with ``digitable_line`` (or
``linha_digitavel``), and optionally ``amount`` (reais, number or decimal string),
``due_date`` (ISO date), ``pdf_url``, ``id`` and ``status`` (slips whose status is not
``open``/``aberto``/``pending`` are left out). Every line's check digits are verified (three
fields mod 10, the general digit mod 11); a slip whose line fails, or whose amount contradicts
the amount encoded in its line, is left out and logged. Missing amounts and due dates are
read from the line.

Action ``second_copy`` (node type ``boleto.second_copy``), input ``cpf_cnpj``:

- ``ok``: the open slips, earliest due first (at most ``max_slips``), each sent as a text
  (``message``) and, with ``send_pdf`` and a ``pdf_url``, as a PDF document; outputs describe
  the first: ``digitable_line``, ``amount``, ``due_date``, ``pdf_url`` (when given), and
  ``count`` (every valid open slip, also those beyond ``max_slips``).
- ``not_found``: no open slip (also a 404).
- ``invalid_document``: the CPF/CNPJ's check digits are wrong (ask the customer again);
  the billing API is not called.
- ``error``: the API failed (timeout, unreachable, 5xx, malformed answer) or every slip it
  gave had an invalid line.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final

import attrs

from pytake.modules._contract import (
    NOT_FOUND,
    OK,
    Action,
    ConfigField,
    Manifest,
    ModuleContext,
    ModuleResponse,
    Param,
    reply_document,
    reply_text,
)
from pytake.modules._template import MISSING, TemplateError, lookup, render
from pytake.modules.builtin._febraban import (
    InvalidDigitableLine,
    format_document,
    normalize_document,
    parse_digitable_line,
    valid_cnpj,
    valid_cpf,
)
from pytake.modules.builtin._http import HttpAnswer, HttpModule, describe_url, json_headers

__all__ = ["BoletoModule", "Slip", "format_brl"]

log = logging.getLogger("pytake.modules.boleto")

INVALID_DOCUMENT: Final = "invalid_document"
_OPEN_STATUSES: Final = frozenset({"open", "aberto", "pending", "pendente", "em_aberto"})

DEFAULT_MESSAGE: Final = (
    "Segunda via do seu boleto de {{amount_brl}}, vencimento {{due_date_br}}.\n"
    "Linha digitável: {{digitable_line}}"
)


def format_brl(amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``"R$ 1.234,50"``."""
    text = f"{amount:,.2f}"  # 1,234.50
    return "R$ " + text.replace(",", "_").replace(".", ",").replace("_", ".")


@attrs.frozen
class Slip:
    """One open slip whose line was verified."""

    digitable_line: str
    amount: Decimal
    due_date: dt.date | None
    pdf_url: str | None

    def fields(self) -> dict[str, Any]:
        """What message templates may use."""
        return {
            "digitable_line": self.digitable_line,
            "amount": f"{self.amount:.2f}",
            "amount_brl": format_brl(self.amount),
            "due_date": self.due_date.isoformat() if self.due_date else "",
            "due_date_br": self.due_date.strftime("%d/%m/%Y") if self.due_date else "",
            "pdf_url": self.pdf_url or "",
        }


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "."))  # "12,50" as well as 12.5
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.01")) if amount.is_finite() and amount >= 0 else None


def _slip(item: Any, today: dt.date) -> Slip | str:
    """The verified slip in ``item``, or why it is left out."""
    if not isinstance(item, dict):
        return "not an object"
    status = item.get("status")
    if isinstance(status, str) and status.lower() not in _OPEN_STATUSES:
        return f"status {status!r}"
    raw_line = item.get("digitable_line", item.get("linha_digitavel"))
    if not isinstance(raw_line, str):
        return "no digitable_line"
    try:
        line = parse_digitable_line(raw_line)
    except InvalidDigitableLine as exc:
        return f"invalid digitable line: {exc}"
    encoded = Decimal(line.amount_cents).scaleb(-2)  # 5000 -> 50.00
    amount = _amount(item.get("amount"))
    if "amount" in item and amount is None:
        return f"invalid amount {item.get('amount')!r}"
    if amount is None:
        amount = encoded
    elif line.amount_cents and amount != encoded:
        return f"amount {amount} differs from the line's {encoded}"
    due: dt.date | None
    raw_due = item.get("due_date")
    if isinstance(raw_due, str) and raw_due:
        try:
            due = dt.date.fromisoformat(raw_due[:10])
        except ValueError:
            return f"invalid due_date {raw_due!r}"
    else:
        due = line.due_date(today)
    pdf = item.get("pdf_url")
    pdf_url = pdf if isinstance(pdf, str) and pdf.startswith(("http://", "https://")) else None
    return Slip(line.formatted, amount, due, pdf_url)


class BoletoModule(HttpModule):
    name: ClassVar[str] = "boleto"
    version: ClassVar[str] = "1.0.0"
    manifest: ClassVar[Manifest] = Manifest(
        description="Second copy of open bank slips (boletos) for a CPF or CNPJ.",
        config=(
            ConfigField(name="base_url", type="url", required=True, description="billing API"),
            ConfigField(name="path", default="/boletos"),
            ConfigField(name="method", default="GET", choices=("GET", "POST")),
            ConfigField(name="document_param", default="document"),
            ConfigField(name="api_token", secret=True, description="sent as Bearer token"),
            ConfigField(name="list_path", default="boletos", description="dotted path"),
            ConfigField(name="max_slips", type="integer", default=3),
            ConfigField(name="send_pdf", type="boolean", default=True),
            ConfigField(name="message", default=DEFAULT_MESSAGE),
            ConfigField(name="timeout", type="number", default=10.0, description="seconds"),
        ),
        actions=(
            Action(
                name="second_copy",
                description="Find the customer's open slips and send them.",
                inputs=(Param(name="cpf_cnpj", required=True, description="CPF or CNPJ"),),
                outputs=(
                    Param(name="digitable_line"),
                    Param(name="amount", type="number"),
                    Param(name="due_date", description="ISO date"),
                    Param(name="pdf_url"),
                    Param(name="count", type="integer"),
                ),
                outcomes=(OK, NOT_FOUND, INVALID_DOCUMENT),
                idempotent=True,
                timeout=30.0,
            ),
        ),
        permissions=("network:outbound", "messages:send"),
    )

    def __init__(self, *, today: Any = None) -> None:
        #: Returns today's date (for due dates read from lines); replaceable in tests.
        self.today = today or dt.date.today

    async def execute(self, context: ModuleContext) -> ModuleResponse:
        config = context.config
        document = normalize_document(str(context.inputs["cpf_cnpj"]))
        if not (valid_cpf(document) or valid_cnpj(document)):
            return ModuleResponse.success({"count": 0}, outcome=INVALID_DOCUMENT)
        url = config["base_url"].rstrip("/") + "/" + config["path"].lstrip("/")
        method = config["method"]
        what = f"billing API {method} {describe_url(url)}"
        search = {config["document_param"]: document, "status": "open"}
        answer = await self.send(
            method, url, what=what, timeout=float(config["timeout"]),
            headers=json_headers(context.call_id, config.get("api_token")),
            params=search if method == "GET" else None,
            json_body=search if method == "POST" else None,
        )
        if isinstance(answer, ModuleResponse):
            return answer
        return self._answer(answer, what, config, format_document(document))

    def _answer(
        self, answer: HttpAnswer, what: str, config: dict[str, Any], document: str
    ) -> ModuleResponse:
        data, failure = answer.found_json(what, not_found={"count": 0})
        if failure is not None:
            return failure
        items = lookup(data, config["list_path"])
        if items is MISSING or not isinstance(items, list):
            return ModuleResponse.failure(
                f"{what} answered malformed: no list at {config['list_path']!r}"
            )
        if not items:
            return ModuleResponse.success({"count": 0}, outcome=NOT_FOUND)
        today = self.today()
        slips: list[Slip] = []
        for index, item in enumerate(items):
            slip = _slip(item, today)
            if isinstance(slip, Slip):
                slips.append(slip)
            else:
                # The document is personal data: log where the slip came from, not for whom.
                log.warning("boleto: %s slip #%d left out: %s", what, index, slip)
        if not slips:
            return ModuleResponse.failure(
                f"{what} answered {len(items)} slip(s), none with a valid digitable line",
                transient=False,
            )
        slips.sort(key=lambda s: (s.due_date or dt.date.max, s.digitable_line))
        messages: list[dict[str, Any]] = []
        for slip in slips[: max(1, int(config["max_slips"]))]:
            fields = {**slip.fields(), "cpf_cnpj": document}
            try:
                text = render(config["message"], fields)
            except TemplateError as exc:
                return ModuleResponse.failure(f"boleto: message {exc}", transient=False)
            messages.append(reply_text(text))
            if config["send_pdf"] and slip.pdf_url:
                name = f"boleto-{slip.due_date.isoformat() if slip.due_date else 'avulso'}.pdf"
                messages.append(reply_document(slip.pdf_url, filename=name))
        first = slips[0]
        outputs: dict[str, Any] = {
            "digitable_line": first.digitable_line,
            "amount": float(first.amount),
            "due_date": first.due_date.isoformat() if first.due_date else None,
            "count": len(slips),
        }
        if first.pdf_url:
            outputs["pdf_url"] = first.pdf_url
        return ModuleResponse.success(outputs, messages=messages)

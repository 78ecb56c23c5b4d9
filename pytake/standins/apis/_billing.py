"""`BillingApiStandIn`: a billing API that answers open bank slips by CPF/CNPJ.

Routes (``Authorization: Bearer <token>`` on the API routes):

=================================  ==========================================================
``GET  /boletos?document=D``        ``{"boletos": [slip, ...]}`` for the document (digits)
``POST /boletos``                   the same, the document in a JSON body ``{"document": D}``
``GET  /boletos/{id}.pdf``          the slip as a small PDF (no token: links are shareable)
=================================  ==========================================================

A slip is ``{"id", "document", "digitable_line", "amount", "due_date", "status",
"pdf_url"?}``, with a digitable line whose check digits are right (made by
`pytake.modules.builtin.make_digitable_line`) unless added raw with `add_raw`. Unknown
documents get an empty list (``not_found_status=404`` makes them a 404 instead). A malformed
answer (fault) is ``{"boletos": [{"id":`` cut short.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from pytake.modules.builtin import (
    due_factor_for,
    make_digitable_line,
    normalize_document,
)
from pytake.standins.apis._asgi import Reply, Request, StandIn
from pytake.standins.apis._faults import ApiFaults


class BillingApiStandIn(StandIn):
    """A local billing API; ``slips`` maps a document (digits) to its slips."""

    def __init__(
        self,
        *,
        token: str | None = "billing-token",
        faults: ApiFaults | None = None,
        not_found_status: int = 200,
        seed: int | None = None,
    ) -> None:
        super().__init__(token=token, faults=faults)
        self.slips: dict[str, list[dict[str, Any]]] = {}
        self.not_found_status = not_found_status
        self._rng = random.Random(seed)
        self._next_id = 1

    def add_slip(
        self,
        document: str,
        amount: Decimal | str,
        due_date: dt.date,
        *,
        bank: str = "001",
        pdf: bool = True,
        status: str = "open",
    ) -> dict[str, Any]:
        """Add a slip with a valid line for ``amount`` (reais) due on ``due_date``."""
        value = Decimal(amount).quantize(Decimal("0.01"))
        free_field = "".join(str(self._rng.randrange(10)) for _ in range(25))
        line = make_digitable_line(
            bank=bank,
            amount_cents=int(value * 100),
            due_factor=due_factor_for(due_date),
            free_field=free_field,
        )
        slip_id = f"bol_{self._next_id}"
        item: dict[str, Any] = {
            "id": slip_id,
            "digitable_line": line.formatted,
            "amount": f"{value:.2f}",
            "due_date": due_date.isoformat(),
            "status": status,
        }
        if pdf:
            item["pdf_url"] = f"{self.base_url}/boletos/{slip_id}.pdf"
        return self.add_raw(document, item)

    def add_raw(self, document: str, item: dict[str, Any]) -> dict[str, Any]:
        """Add ``item`` as it is (to serve broken lines, odd fields...)."""
        item = {"id": f"bol_{self._next_id}", **item, "document": normalize_document(document)}
        self._next_id += 1
        self.slips.setdefault(normalize_document(document), []).append(item)
        return item

    def public(self, request: Request) -> bool:
        return request.method == "GET" and request.path.endswith(".pdf")

    def malformed(self, request: Request) -> bytes:
        return b'{"boletos": [{"id":'

    async def handle(self, request: Request) -> Reply:
        path = request.path.rstrip("/")
        if path == "/boletos" and request.method in ("GET", "POST"):
            if request.method == "GET":
                document = request.query.get("document", "")
            else:
                body = request.json()
                document = body.get("document", "") if isinstance(body, dict) else ""
            if not document:
                return Reply.json(400, {"error": "document is required"})
            slips = self.slips.get(normalize_document(document), [])
            wanted = request.query.get("status")
            if request.method == "POST" and isinstance(request.json(), dict):
                wanted = request.json().get("status", wanted)
            if wanted:
                slips = [s for s in slips if s.get("status", "open") == wanted]
            if not slips and self.not_found_status == 404:
                return Reply.json(404, {"error": "no slips for this document"})
            return Reply.json(200, {"boletos": slips})
        if request.method == "GET" and path.startswith("/boletos/") and path.endswith(".pdf"):
            slip_id = path.removeprefix("/boletos/").removesuffix(".pdf")
            for slips in self.slips.values():
                for slip in slips:
                    if slip["id"] == slip_id:
                        return Reply(200, pdf_document(slip), "application/pdf")
            return Reply.json(404, {"error": "no such slip"})
        return Reply.json(404, {"error": f"no route {request.method} {request.path}"})


def pdf_document(slip: dict[str, Any]) -> bytes:
    """A one-page PDF naming the slip (valid PDF 1.4, Helvetica, no compression)."""
    lines = [
        f"Boleto {slip.get('id', '')}",
        f"Valor: R$ {slip.get('amount', '')}",
        f"Vencimento: {slip.get('due_date', '')}",
        str(slip.get("digitable_line", "")),
    ]
    text = "BT /F1 12 Tf 50 780 Td 16 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines
    ) + " ET"
    stream = text.encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)

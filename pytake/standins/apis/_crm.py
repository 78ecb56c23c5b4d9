"""`CrmApiStandIn`: a CRM API that finds customers by phone.

Routes (``Authorization: Bearer <token>``):

==================================  =========================================================
``GET /customers?phone=P``           ``{"data": [customer]}``, or ``{"data": []}``
``GET /customers/{phone}``           the customer object, or 404
==================================  =========================================================

Phones match by their digits (``+55 (11) 98765-4321`` and ``5511987654321`` are the same).
A malformed answer (fault) is ``{"data": [{"id":`` cut short.
"""

from __future__ import annotations

from typing import Any

from pytake.standins.apis._asgi import Reply, Request, StandIn
from pytake.standins.apis._faults import ApiFaults


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())


class CrmApiStandIn(StandIn):
    """A local CRM; ``customers`` maps phone digits to the customer record."""

    def __init__(
        self, *, token: str | None = "crm-token", faults: ApiFaults | None = None
    ) -> None:
        super().__init__(token=token, faults=faults)
        self.customers: dict[str, dict[str, Any]] = {}
        self._next_id = 1

    def add_customer(self, phone: str, **fields: Any) -> dict[str, Any]:
        """Add a customer reachable at ``phone``; ``fields`` become its record."""
        record = {"id": f"cus_{self._next_id}", "phone": "+" + _digits(phone), **fields}
        self._next_id += 1
        self.customers[_digits(phone)] = record
        return record

    def malformed(self, request: Request) -> bytes:
        return b'{"data": [{"id":'

    async def handle(self, request: Request) -> Reply:
        if request.method != "GET":
            return Reply.json(405, {"error": "method not allowed"})
        path = request.path.rstrip("/")
        if path == "/customers":
            phone = _digits(request.query.get("phone", ""))
            if not phone:
                return Reply.json(400, {"error": "phone is required"})
            record = self.customers.get(phone)
            return Reply.json(200, {"data": [record] if record else []})
        if path.startswith("/customers/"):
            record = self.customers.get(_digits(path.removeprefix("/customers/")))
            if record is None:
                return Reply.json(404, {"error": "customer not found"})
            return Reply.json(200, record)
        return Reply.json(404, {"error": f"no route {request.method} {request.path}"})

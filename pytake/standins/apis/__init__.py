"""Local stand-ins for the APIs the built-in modules call, for tests and demos.

Each is a raw ASGI app served on a loopback port by Hypercorn's trio worker (`run_app`), with
the same switchable faults (`ApiFaults`: slow answers beyond a caller's timeout, 5xx, JSON
cut short, dropped connections) and a log of the requests it got:

- `BillingApiStandIn`: open bank slips by CPF/CNPJ, with valid digitable lines and PDFs
  (the ``boleto`` module);
- `CrmApiStandIn`: customers by phone (the ``crm_lookup`` module; ``rest_api`` tests use it
  as any JSON API);
- `WebhookReceiver`: takes webhook deliveries, checks their signature, records each attempt
  (the ``webhook`` module).

Layering: `_faults` is the pure fault decision, `_asgi` the shared plumbing (`StandIn`),
one module per stand-in, `_server` the Hypercorn glue. See docs/modules.md.
"""

from pytake.standins.apis._asgi import Reply, Request, StandIn
from pytake.standins.apis._billing import BillingApiStandIn, pdf_document
from pytake.standins.apis._crm import CrmApiStandIn
from pytake.standins.apis._faults import ApiFaults, Decision, Fault
from pytake.standins.apis._receiver import ReceivedDelivery, WebhookReceiver
from pytake.standins.apis._server import run_app, serve_app

__all__ = [
    "ApiFaults",
    "BillingApiStandIn",
    "CrmApiStandIn",
    "Decision",
    "Fault",
    "ReceivedDelivery",
    "Reply",
    "Request",
    "StandIn",
    "WebhookReceiver",
    "pdf_document",
    "run_app",
    "serve_app",
]

"""Local stand-ins for Meta's side of WhatsApp, for tests, the demo and the benchmarks.

Two halves, each usable from Python and from ``pytake whatsapp-sim``:

- `CloudApiStandIn` plays the Cloud API that PyTake *calls* (send, mark as read, media,
  templates), with Meta's answers and error shapes and injectable `Faults`. `run_standin`
  serves one on a loopback port for a test; `serve_standin` serves one until told to stop,
  `serving` any stand-in while a block runs.
- `CustomerSimulator` plays the customers and Meta's webhook delivery that *call* PyTake:
  signed notifications, retries, duplicates, batches, and the statuses that follow each
  message the stand-in accepted.

Layering: `_errors` and `_payloads` are pure protocol data (error bodies, webhook bodies),
`_validation` and `_templates` the pure checks of a send and the template catalogue,
`_faults` the pure fault decision, `_cloud_api` the ASGI app, `_server` the Hypercorn
glue, `_customers` the webhook client. See docs/whatsapp-sim.md.
"""

from pytake.standins.whatsapp._cloud_api import (
    CloudApiStandIn,
    SentRequest,
    drop_connection,
    serve_lifespan,
)
from pytake.standins.whatsapp._customers import (
    MESSAGE_TYPES,
    CustomerSimulator,
    DeliveryFailed,
    RetryPolicy,
    SimStats,
    make_customers,
)
from pytake.standins.whatsapp._errors import error_body, webhook_error
from pytake.standins.whatsapp._faults import Decision, Faults, Outcome
from pytake.standins.whatsapp._payloads import Business, Customer, bsuid_for, encode, new_wamid
from pytake.standins.whatsapp._server import run_standin, serve_standin, serving
from pytake.standins.whatsapp._templates import DEFAULT_TEMPLATES, Template

__all__ = [
    "DEFAULT_TEMPLATES",
    "MESSAGE_TYPES",
    "Business",
    "CloudApiStandIn",
    "Customer",
    "CustomerSimulator",
    "Decision",
    "DeliveryFailed",
    "Faults",
    "Outcome",
    "RetryPolicy",
    "SentRequest",
    "SimStats",
    "Template",
    "bsuid_for",
    "drop_connection",
    "encode",
    "error_body",
    "make_customers",
    "new_wamid",
    "run_standin",
    "serve_lifespan",
    "serve_standin",
    "serving",
    "webhook_error",
]

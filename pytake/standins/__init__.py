"""Local stand-ins for the services outside PyTake, for tests, demos and benchmarks.

Each speaks its service's real protocol on a loopback port, so PyTake's own code runs
against it unchanged, and each can be told to fail the ways the real service fails:

- `pytake.standins.whatsapp`: Meta's WhatsApp Cloud API (sends, media, templates, checked
  as Meta checks them) and simulated customers that post signed webhooks
  (``pytake whatsapp-sim``; docs/whatsapp-sim.md);
- `pytake.standins.apis`: the APIs the built-in modules call (a billing API, a CRM) and a
  receiver of outbound webhooks (docs/modules.md).

Nothing in PyTake's engine imports this package; only the CLI, the tests and the benchmarks.
"""

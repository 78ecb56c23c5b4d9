"""The WhatsApp Cloud API boundary: signed webhooks in, Cloud API calls out.

- ``_signature``: ``X-Hub-Signature-256`` and the handshake token, constant-time.
- ``_events``, ``_parse``, ``_status``: the pure parser (bytes in, typed events out) and the
  delivery-status order; no I/O, so the protocol corpus runs in milliseconds.
- ``_inbox``: webhook bodies stored before the 200, processed in order into customers,
  conversations, messages and statuses, and journaled to ConversationActors.
- ``sim``: a local stand-in for the Cloud API and a customer simulator (tests, demo,
  benchmarks).
"""

from ._signature import sign, signature_problem, verify_token_matches

__all__ = ["sign", "signature_problem", "verify_token_matches"]

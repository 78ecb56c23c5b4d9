"""Webhook authenticity: ``X-Hub-Signature-256`` over the exact bytes received.

Meta signs the raw body (its own escaped serialization), so the digest must be computed on
the bytes as they arrived, never on re-serialized JSON.  Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta would send for ``body``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_problem(body: bytes, header: str | None, secrets: Iterable[str]) -> str | None:
    """``None`` if ``header`` is a valid signature of ``body`` under one of ``secrets``
    (several during a key rotation), else a short reason for the 401 answer."""
    if not header:
        return "missing X-Hub-Signature-256 header"
    if not header.startswith(PREFIX):
        return "X-Hub-Signature-256 must start with 'sha256='"
    digest = header[len(PREFIX):]
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return "X-Hub-Signature-256 must be 64 lowercase hex digits"
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, digest):
            return None
    return "signature does not match the body"


def verify_token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison for the GET handshake's ``hub.verify_token``."""
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())

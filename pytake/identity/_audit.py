"""The ``audit_logs`` row every identity change writes, in the transaction of the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pytake.store import Actor, record_audit

__all__ = ["audit"]


def audit(
    session: Session,
    action: str,
    at: datetime,
    *,
    actor: int | None,
    target: int | None,
    ip: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """`pytake.store.record_audit` for an action on a user (``target``)."""
    record_audit(session, action, Actor(actor, ip), target_type=None if target is None
                 else "user", target_id=target, details=details, at=at)

"""One writer of ``audit_logs``: each administrative change records who made it, from where,
on what, in the transaction of the change itself (a rolled-back change leaves no row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
from sqlalchemy.orm import Session

from pytake.store._base import utcnow
from pytake.store._models_accounts import AuditLog

__all__ = ["SYSTEM", "Actor", "record_audit"]

#: Longest text form of an IPv6 address; the column holds that much.
_MAX_IP = 45


@attrs.frozen
class Actor:
    """Who makes a change: a signed-in user and their client address, or (both ``None``)
    the system itself (a command on the server, a migration)."""

    user_id: int | None = None
    ip: str | None = None


#: Changes made by PyTake itself or from the command line.
SYSTEM = Actor()


def record_audit(
    session: Session,
    action: str,
    actor: Actor,
    *,
    target_type: str | None,
    target_id: object | None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add the row for ``action`` (``"canned_response.update"``, ...) to ``session``."""
    session.add(
        AuditLog(
            actor_user_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id)[:255],
            details=details or {},
            ip=actor.ip[:_MAX_IP] if actor.ip else None,
            at=at or utcnow(),
        )
    )

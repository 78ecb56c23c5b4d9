"""The ``business_numbers`` table's statements, for `pytake.messaging.NumberRepository`.

Tokens arrive here sealed already and leave sealed: encrypting, refusing and auditing are the
repository's (``_numbers``).  Rows are returned as ORM objects, read in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...store import BusinessNumber

__all__ = [
    "delete_number",
    "find_number",
    "insert_number",
    "number_entries",
    "numbers_page",
    "update_number",
]


def find_number(session: Session, phone_number_id: str) -> BusinessNumber | None:
    return session.scalar(sa.select(BusinessNumber).where(
        BusinessNumber.phone_number_id == phone_number_id))


def numbers_page(session: Session, after: int, limit: int) -> list[BusinessNumber]:
    """Numbers with an id above ``after``, by id, ``limit`` at most."""
    rows = session.scalars(
        sa.select(BusinessNumber)
        .where(BusinessNumber.id > after)
        .order_by(BusinessNumber.id).limit(limit)
    )
    return list(rows)


def insert_number(session: Session, values: Mapping[str, Any]) -> BusinessNumber | None:
    """The new row; ``None`` if its ``phone_number_id`` is configured already, also when it
    was added at the same time through another node (the unique key refuses the second)."""
    taken = session.scalar(sa.select(BusinessNumber.id)
                           .where(BusinessNumber.phone_number_id == values["phone_number_id"]))
    if taken is not None:
        return None
    row = BusinessNumber(**values)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        return None
    return row


def update_number(
    session: Session, row: BusinessNumber, values: Mapping[str, Any], at: datetime
) -> None:
    """Set ``values`` on ``row``, and its ``updated_at`` to ``at``."""
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = at
    session.flush()


def delete_number(session: Session, row: BusinessNumber) -> None:
    session.delete(row)


def number_entries(session: Session) -> list[tuple[str, str | None, bool]]:
    """Every number's ``(phone_number_id, sealed token, paused)``: what the `NumberBook`
    reads every few seconds, without the rest of the rows."""
    rows = session.execute(sa.select(
        BusinessNumber.phone_number_id, BusinessNumber.access_token, BusinessNumber.paused,
    ))
    return [(n, token, paused) for n, token, paused in rows]

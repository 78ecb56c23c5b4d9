"""Reading stored conversations for people: listings, one conversation, its messages, its
event log and the metrics recomputed from it, each limited to what the reader may see.

Who sees what: supervisors and admins see every conversation; an agent sees those assigned to
them and those waiting (``queued`` or ``offered``) in a team they are a member of. Asking for
another one raises `pytake.identity.Forbidden`; one that does not exist gives ``None``.

The functions take a `Session` and run inside `Database.run` (read-only). Pages are cut by
keyset: the caller's `PageOrder` says how rows are ordered and how a cursor names one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final, Protocol

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from ...identity import Forbidden, Principal
from ...routing import ConversationEvent as RoutingEvent
from ...routing import ConversationMetrics, compute_metrics
from ...store import (
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Customer,
    FlowExecution,
    Keyset,
    Message,
    OwnerState,
    TeamMember,
    UserRole,
    json_list_contains,
)

#: Owner states in which a conversation waits in its team's queue (agents of that team see it).
WAITING: Final = (OwnerState.QUEUED, OwnerState.OFFERED)

#: A search that looks like a phone number also matches it with the punctuation removed.
_PHONE_LIKE: Final = re.compile(r"^[+\d\s().-]+$")
_PHONE_PUNCTUATION: Final = ("+", " ", "(", ")", ".", "-")


def conversations_order(backend: str) -> Keyset:
    """How `conversations_page` orders and cuts pages: by last activity, then id."""
    return Keyset(backend, Conversation.updated_at, Conversation.id)


def messages_order(backend: str) -> Keyset:
    """How `conversation_messages` orders and cuts pages: by time, then id."""
    return Keyset(backend, Message.created_at, Message.id)


class PageOrder(Protocol):
    """Keyset pagination over one table's ``(time, id)`` (a `pytake.store.Keyset`)."""

    @property
    def column(self) -> sa.Label[Any]: ...

    def order_by(self, *, descending: bool) -> tuple[sa.ColumnElement[Any], ...]: ...

    def after(self, position: tuple[Any, int], *, descending: bool) -> sa.ColumnElement[bool]: ...

    def cursor(self, key: Any, row_id: int) -> str: ...


@attrs.frozen
class ConversationFilter:
    """What a listing keeps; ``None`` keeps everything."""

    status: str | None = None
    owner: str | None = None
    team_id: int | None = None
    agent_id: int | None = None
    label: str | None = None
    #: Text searched in the customer's name, phone and WhatsApp id.
    q: str | None = None
    #: Only what this agent may see; ``None`` for supervisors and admins.
    viewer: int | None = None


def _visible_to(agent_id: int) -> sa.ColumnElement[bool]:
    my_teams = sa.select(TeamMember.team_id).where(TeamMember.user_id == agent_id)
    return sa.or_(
        Conversation.assigned_agent_id == agent_id,
        sa.and_(Conversation.owner_state.in_(WAITING), Conversation.team_id.in_(my_teams)),
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(q: str) -> sa.ColumnElement[bool]:
    pattern = _like(q)
    clauses = [
        Customer.name.ilike(pattern, escape="\\"),
        Customer.phone.ilike(pattern, escape="\\"),
        Customer.wa_id.ilike(pattern, escape="\\"),
    ]
    digits = re.sub(r"\D", "", q)
    if _PHONE_LIKE.match(q) and digits:
        # "+55 (11) 98765-4321", "98765 4321" and "987654321" all find the same phone.
        clauses.append(_digits_of(Customer.phone).like(f"%{digits}%"))
    return sa.or_(*clauses)


def _digits_of(column: InstrumentedAttribute[str | None]) -> sa.ColumnElement[str | None]:
    """``column`` without the punctuation of phone numbers (portable: nested REPLACE)."""
    expression: sa.ColumnElement[str | None] = column.expression
    for char in _PHONE_PUNCTUATION:
        expression = sa.func.replace(expression, char, "", type_=sa.String())
    return expression


def _has_label(session: Session, label: str) -> sa.ColumnElement[bool]:
    return json_list_contains(session, Conversation.labels, label)


def _conditions(session: Session, f: ConversationFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.viewer is not None:
        where.append(_visible_to(f.viewer))
    if f.status is not None:
        where.append(Conversation.status == f.status)
    if f.owner is not None:
        where.append(Conversation.owner_state == f.owner)
    if f.team_id is not None:
        where.append(Conversation.team_id == f.team_id)
    if f.agent_id is not None:
        where.append(Conversation.assigned_agent_id == f.agent_id)
    if f.label is not None:
        where.append(_has_label(session, f.label))
    if f.q is not None:
        where.append(_search(f.q))
    return where


def _page(
    session: Session,
    query: sa.Select[tuple[Any, ...]],
    order: PageOrder,
    position: tuple[Any, int] | None,
    limit: int,
) -> tuple[list[tuple[Any, ...]], str | None]:
    """Up to ``limit`` rows of ``query`` (a row's first entity has the id, its last column is
    ``order.column``), newest first, after ``position``; and the next page's cursor."""
    query = query.order_by(*order.order_by(descending=True)).limit(limit + 1)
    if position is not None:
        query = query.where(order.after(position, descending=True))
    rows = session.execute(query).all()
    page = [tuple(row) for row in rows[:limit]]
    # One row more than asked for says whether another page follows, without a COUNT.
    more = len(rows) > limit
    next_cursor = order.cursor(page[-1][-1], page[-1][0].id) if more and page else None
    return page, next_cursor


def conversations_page(
    session: Session,
    order: PageOrder,
    f: ConversationFilter,
    position: tuple[Any, int] | None,
    limit: int,
) -> tuple[list[tuple[Conversation, Customer]], str | None]:
    """Up to ``limit`` conversations matching ``f`` with their customers, most recent
    activity first, after ``position``; and the cursor of the next page (``None``: last)."""
    query = (
        sa.select(Conversation, Customer, order.column)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(*_conditions(session, f))
    )
    page, next_cursor = _page(session, query, order, position, limit)
    return [(c, customer) for c, customer, _ in page], next_cursor


def _may_see(session: Session, c: Conversation, principal: Principal) -> bool:
    if principal.role != UserRole.AGENT or c.assigned_agent_id == principal.user_id:
        return True
    if c.owner_state not in WAITING or c.team_id is None:
        return False
    member = session.get(TeamMember, (c.team_id, principal.user_id))
    return member is not None


def _visible(session: Session, conversation_id: int, principal: Principal) -> Conversation | None:
    c = session.get(Conversation, conversation_id)
    if c is None:
        return None
    if not _may_see(session, c, principal):
        raise Forbidden(
            f"conversation {conversation_id} is neither assigned to you "
            "nor waiting in one of your teams"
        )
    return c


def visible_conversation(
    session: Session, conversation_id: int, principal: Principal
) -> tuple[Conversation, Customer] | None:
    """The conversation and its customer; ``None`` if there is no such conversation."""
    c = _visible(session, conversation_id, principal)
    if c is None:
        return None
    customer = session.get(Customer, c.customer_id)
    assert customer is not None  # customer_id is a NOT NULL foreign key
    return c, customer


def conversation_messages(
    session: Session,
    order: PageOrder,
    conversation_id: int,
    principal: Principal,
    position: tuple[Any, int] | None,
    limit: int,
) -> tuple[list[Message], str | None] | None:
    """Up to ``limit`` of the conversation's messages, newest first, after ``position``; and
    the cursor of the next page. ``None`` if there is no such conversation."""
    if _visible(session, conversation_id, principal) is None:
        return None
    query = sa.select(Message, order.column).where(Message.conversation_id == conversation_id)
    page, next_cursor = _page(session, query, order, position, limit)
    return [m for m, _ in page], next_cursor


def conversation_message(
    session: Session, conversation_id: int, message_id: int, principal: Principal
) -> tuple[Conversation, Message | None] | None:
    """The conversation and one of its messages (``None`` if it holds no such message);
    ``None`` if there is no such conversation."""
    c = _visible(session, conversation_id, principal)
    if c is None:
        return None
    message = session.get(Message, message_id)
    if message is not None and message.conversation_id != conversation_id:
        message = None
    return c, message


def team_conversations(
    session: Session, team_ids: Sequence[int], limit: int
) -> tuple[list[tuple[Conversation, Customer]], bool]:
    """The open conversations of ``team_ids`` (waiting longest first), at most ``limit``;
    and whether more were left out."""
    rows = session.execute(
        sa.select(Conversation, Customer)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(Conversation.team_id.in_(team_ids),
               Conversation.status == ConversationStatus.OPEN)
        .order_by(Conversation.opened_at, Conversation.id)
        .limit(limit + 1)
    ).all()
    found = [(c, customer) for c, customer in rows]
    return found[:limit], len(found) > limit


def recomputed_metrics(
    session: Session, conversation_id: int, principal: Principal
) -> tuple[ConversationMetrics, int] | None:
    """The metrics recomputed from the stored event log alone, and how many events it holds.
    ``None`` if there is no such conversation."""
    if _visible(session, conversation_id, principal) is None:
        return None
    e = ConversationEvent.__table__.c
    rows = session.execute(
        sa.select(e.type, e.at, e.payload)
        .where(e.conversation_id == conversation_id)
        .order_by(e.seq)
    ).all()
    log = [RoutingEvent(type=r.type, at=r.at.timestamp(), payload=dict(r.payload or {}))
           for r in rows]
    return compute_metrics(log), len(log)


def conversation_events(
    session: Session, conversation_id: int, principal: Principal, after_seq: int, limit: int
) -> tuple[list[ConversationEvent], bool] | None:
    """Up to ``limit`` events of the conversation's log after ``after_seq``, in ``seq``
    order, and whether more follow. ``None`` if there is no such conversation."""
    if _visible(session, conversation_id, principal) is None:
        return None
    rows = session.scalars(
        sa.select(ConversationEvent)
        .where(
            ConversationEvent.conversation_id == conversation_id,
            ConversationEvent.seq > after_seq,
        )
        .order_by(ConversationEvent.seq)
        .limit(limit + 1)
    ).all()
    return list(rows[:limit]), len(rows) > limit


#: The most past conversations a customer's profile lists (newest first).
PROFILE_CONVERSATIONS: Final = 50


def customer_profile(
    session: Session, customer_id: int, principal: Principal
) -> tuple[Customer, list[tuple[Conversation, dict[str, Any]]]] | None:
    """The customer and their latest conversations (newest first), each with what its flows
    collected (the variables after its last flow step). ``None`` if there is no such
    customer; `Forbidden` for an agent none of whose conversations is theirs to see.

    An agent who may see one of the customer's conversations sees the customer's history:
    the context of whom they are talking to. Opening another of those conversations is still
    checked one by one."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    if principal.role == UserRole.AGENT:
        mine = session.scalar(
            sa.select(Conversation.id)
            .where(Conversation.customer_id == customer_id, _visible_to(principal.user_id))
            .limit(1)
        )
        if mine is None:
            raise Forbidden(f"customer {customer_id} has no conversation assigned to you "
                            "or waiting in one of your teams")
    conversations = list(session.scalars(
        sa.select(Conversation)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.opened_at.desc(), Conversation.id.desc())
        .limit(PROFILE_CONVERSATIONS)
    ))
    ids = [c.id for c in conversations]
    last_steps = (
        sa.select(sa.func.max(FlowExecution.id))
        .where(FlowExecution.conversation_id.in_(ids))
        .group_by(FlowExecution.conversation_id)
    )
    collected: dict[int, Any] = {}
    if ids:
        rows = session.execute(
            sa.select(FlowExecution.conversation_id, FlowExecution.variables)
            .where(FlowExecution.id.in_(last_steps))
        ).all()
        collected = {row.conversation_id: row.variables for row in rows}
    return customer, [(c, dict(collected.get(c.id) or {})) for c in conversations]

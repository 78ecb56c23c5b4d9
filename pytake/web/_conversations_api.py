"""The REST read side of conversations: listings, one conversation, its messages and events.

Routes (answers are JSON; ``docs/rest-api.md`` has the shapes):

- ``GET /api/v1/conversations``                   filtered, newest activity first, by cursor
- ``GET /api/v1/conversations/<id>``              one conversation
- ``GET /api/v1/conversations/<id>/messages``     its messages, newest first, by cursor
- ``GET /api/v1/conversations/<id>/events``       its event log (notes included), by ``seq``

Who sees what: supervisors and admins see every conversation; an agent sees those assigned
to them and those waiting (``queued`` or ``offered``) in a team they are a member of. An
agent asking for another conversation gets 403.

All reads run in read-only transactions on the database's worker threads (`Database.run`).
"""

from __future__ import annotations

import re
from typing import Any, Final

import attrs
import sqlalchemy as sa
from quart import Blueprint, Response, jsonify
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session
from werkzeug.exceptions import NotFound

from pytake.identity import Forbidden, Principal
from pytake.routing import ConversationEvent as RoutingEvent
from pytake.routing import compute_metrics
from pytake.store import (
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Customer,
    Database,
    Message,
    OwnerState,
    TeamMember,
    UserRole,
)
from pytake.web._auth_routes import current_principal, require_role
from pytake.web._rest_support import Keyset, int_arg, iso, optional_id_arg, str_arg

__all__ = ["create_conversations_blueprint"]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
DEFAULT_EVENTS_LIMIT: Final = 100
MAX_EVENTS_LIMIT: Final = 500
#: Owner states in which a conversation waits in its team's queue (agents of that team see it).
WAITING: Final = (OwnerState.QUEUED, OwnerState.OFFERED)

_STATUSES: Final = frozenset(s.value for s in ConversationStatus)
_OWNERS: Final = frozenset(o.value for o in OwnerState)
#: A search that looks like a phone number also matches it with the punctuation removed.
_PHONE_LIKE: Final = re.compile(r"^[+\d\s().-]+$")
_PHONE_PUNCTUATION: Final = ("+", " ", "(", ")", ".", "-")


# --- queries (run on worker threads) ---------------------------------------------------------


@attrs.frozen
class _Filter:
    status: str | None = None
    owner: str | None = None
    team_id: int | None = None
    agent_id: int | None = None
    label: str | None = None
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


def _has_label(backend: str, label: str) -> sa.ColumnElement[bool]:
    if backend == "postgresql":
        # JSONB containment: labels @> '["vip"]' (a GIN index on labels would serve it).
        return sa.type_coerce(Conversation.labels, JSONB).contains([label])
    # SQLite: the labels column is JSON text; look at its elements, not at its text.
    each = sa.func.json_each(Conversation.labels).table_valued("value").alias("label")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == label))


def _conditions(backend: str, f: _Filter) -> list[sa.ColumnElement[bool]]:
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
        where.append(_has_label(backend, f.label))
    if f.q is not None:
        where.append(_search(f.q))
    return where


def _conversation_json(c: Conversation, customer: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "phone": customer.phone,
            "wa_id": customer.wa_id,
        },
        "business_phone_number_id": c.business_phone_number_id,
        "status": str(c.status),
        "owner": str(c.owner_state),
        "team_id": c.team_id,
        "assigned_agent_id": c.assigned_agent_id,
        "priority": c.priority,
        "labels": list(c.labels or []),
        "last_customer_message_at": iso(c.last_customer_message_at),
        "opened_at": iso(c.opened_at),
        "resolved_at": iso(c.resolved_at),
        "last_activity_at": iso(c.updated_at),
    }


def _list(
    session: Session, keyset: Keyset, f: _Filter, position: tuple[Any, int] | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    query = (
        sa.select(Conversation, Customer, keyset.column)
        .join(Customer, Customer.id == Conversation.customer_id)
        .where(*_conditions(keyset.backend, f))
        .order_by(*keyset.order_by(descending=True))
        .limit(limit + 1)
    )
    if position is not None:
        query = query.where(keyset.after(position, descending=True))
    rows = session.execute(query).all()
    page = rows[:limit]
    items = [_conversation_json(c, customer) for c, customer, _ in page]
    more = len(rows) > limit
    next_cursor = keyset.cursor(page[-1][2], page[-1][0].id) if more and page else None
    return items, next_cursor


def _may_see(session: Session, c: Conversation, principal: Principal) -> bool:
    if principal.role != UserRole.AGENT or c.assigned_agent_id == principal.user_id:
        return True
    if c.owner_state not in WAITING or c.team_id is None:
        return False
    member = session.get(TeamMember, (c.team_id, principal.user_id))
    return member is not None


def _visible(session: Session, conversation_id: int, principal: Principal) -> Conversation:
    """The conversation, or 404 if there is none, or `Forbidden` if the agent may not see it."""
    c = session.get(Conversation, conversation_id)
    if c is None:
        raise NotFound(f"conversation {conversation_id} not found")
    if not _may_see(session, c, principal):
        raise Forbidden(
            f"conversation {conversation_id} is neither assigned to you "
            "nor waiting in one of your teams"
        )
    return c


def _one(session: Session, conversation_id: int, principal: Principal) -> dict[str, Any]:
    c = _visible(session, conversation_id, principal)
    customer = session.get(Customer, c.customer_id)
    assert customer is not None  # customer_id is a NOT NULL foreign key
    return _conversation_json(c, customer)


def _message_json(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "whatsapp_message_id": m.whatsapp_message_id,
        "direction": str(m.direction),
        "type": m.type,
        "payload": m.payload,
        "status": str(m.status),
        "sent_by_user_id": m.sent_by_user_id,
        "created_at": iso(m.created_at),
        "whatsapp_timestamp": iso(m.whatsapp_timestamp),
        "sent_at": iso(m.sent_at),
        "delivered_at": iso(m.delivered_at),
        "read_at": iso(m.read_at),
        "played_at": iso(m.played_at),
        "failed_at": iso(m.failed_at),
        "error_code": m.error_code,
        "error_details": m.error_details,
    }


def _messages(
    session: Session,
    keyset: Keyset,
    conversation_id: int,
    principal: Principal,
    position: tuple[Any, int] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    _visible(session, conversation_id, principal)
    query = (
        sa.select(Message, keyset.column)
        .where(Message.conversation_id == conversation_id)
        .order_by(*keyset.order_by(descending=True))
        .limit(limit + 1)
    )
    if position is not None:
        query = query.where(keyset.after(position, descending=True))
    rows = session.execute(query).all()
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = keyset.cursor(page[-1][1], page[-1][0].id) if more and page else None
    return [_message_json(m) for m, _ in page], next_cursor


def _metrics(session: Session, conversation_id: int, principal: Principal) -> dict[str, Any]:
    _visible(session, conversation_id, principal)
    e = ConversationEvent.__table__.c
    rows = session.execute(
        sa.select(e.type, e.at, e.payload)
        .where(e.conversation_id == conversation_id)
        .order_by(e.seq)
    ).all()
    log = [RoutingEvent(type=r.type, at=r.at.timestamp(), payload=dict(r.payload or {}))
           for r in rows]
    result = attrs.asdict(compute_metrics(log))
    result["agents"] = list(result["agents"])
    result["events"] = len(log)
    return result


def _events(
    session: Session, conversation_id: int, principal: Principal, after_seq: int, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    _visible(session, conversation_id, principal)
    rows = session.scalars(
        sa.select(ConversationEvent)
        .where(
            ConversationEvent.conversation_id == conversation_id,
            ConversationEvent.seq > after_seq,
        )
        .order_by(ConversationEvent.seq)
        .limit(limit + 1)
    ).all()
    events = [
        {"id": e.id, "seq": e.seq, "type": e.type, "payload": e.payload, "at": iso(e.at)}
        for e in rows[:limit]
    ]
    return events, len(rows) > limit


# --- the blueprint -------------------------------------------------------------------------


def create_conversations_blueprint(db: Database) -> Blueprint:
    """The ``/api/v1/conversations`` read routes over ``db``. Needs the auth blueprint."""
    bp = Blueprint("conversations_api", __name__)
    conversations_keyset = Keyset(db.backend, Conversation.updated_at, Conversation.id)
    messages_keyset = Keyset(db.backend, Message.created_at, Message.id)

    @bp.get("/api/v1/conversations")
    @require_role()
    async def list_conversations() -> Response:
        """Conversations matching the filters, most recent activity first."""
        principal = current_principal()
        f = _Filter(
            status=str_arg("status", _STATUSES),
            owner=str_arg("owner", _OWNERS),
            team_id=optional_id_arg("team"),
            agent_id=optional_id_arg("agent"),
            label=str_arg("label"),
            q=str_arg("q"),
            viewer=principal.user_id if principal.role == UserRole.AGENT else None,
        )
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        cursor = str_arg("cursor")
        position = conversations_keyset.parse(cursor) if cursor else None
        items, next_cursor = await db.run(
            _list, conversations_keyset, f, position, limit, readonly=True
        )
        return jsonify({"conversations": items, "next_cursor": next_cursor})

    @bp.get("/api/v1/conversations/<int:conversation_id>")
    @require_role()
    async def get_conversation(conversation_id: int) -> Response:
        """One conversation."""
        item = await db.run(_one, conversation_id, current_principal(), readonly=True)
        return jsonify(item)

    @bp.get("/api/v1/conversations/<int:conversation_id>/messages")
    @require_role()
    async def list_messages(conversation_id: int) -> Response:
        """A conversation's messages, newest first; ``before`` continues with older ones."""
        principal = current_principal()
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        before = str_arg("before")
        position = messages_keyset.parse(before, "before") if before else None
        items, next_cursor = await db.run(
            _messages, messages_keyset, conversation_id, principal, position, limit, readonly=True
        )
        return jsonify({"messages": items, "next_cursor": next_cursor})

    @bp.get("/api/v1/conversations/<int:conversation_id>/events")
    @require_role()
    async def list_events(conversation_id: int) -> Response:
        """A conversation's event log in ``seq`` order, after ``after_seq``."""
        principal = current_principal()
        after_seq = int_arg("after_seq", 0, 2**62)
        limit = int_arg("limit", DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT, minimum=1)
        events, more = await db.run(
            _events, conversation_id, principal, after_seq, limit, readonly=True
        )
        return jsonify({"events": events, "has_more": more})

    @bp.get("/api/v1/conversations/<int:conversation_id>/metrics")
    @require_role()
    async def conversation_metrics(conversation_id: int) -> Response:
        """First response, wait and handle times, transfers and resolution, recomputed from
        the stored event log (nothing else is consulted)."""
        principal = current_principal()
        metrics = await db.run(_metrics, conversation_id, principal, readonly=True)
        return jsonify(metrics)

    return bp

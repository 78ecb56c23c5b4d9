"""The REST read side of conversations: listings, one conversation, its messages and events.

Routes (answers are JSON; ``docs/rest-api.md`` has the shapes):

- ``GET /api/v1/conversations``                   filtered, newest activity first, by cursor
- ``GET /api/v1/conversations/<id>``              one conversation
- ``GET /api/v1/conversations/<id>/messages``     its messages, newest first, by cursor
- ``GET /api/v1/conversations/<id>/events``       its event log (notes included), by ``seq``
- ``GET /api/v1/customers/<id>``                  a customer, past conversations, what flows got

Who sees what: supervisors and admins see every conversation; an agent sees those assigned
to them and those waiting (``queued`` or ``offered``) in a team they are a member of. An
agent asking for another conversation gets 403.

All reads run in read-only transactions on the database's worker threads (`Database.run`);
the queries and who may see what are `pytake.conversations`'; this module reads the request,
answers a conversation that does not exist with 404, and renders the rows as JSON.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import attrs
from quart import Blueprint, Response, jsonify
from werkzeug.exceptions import NotFound

from pytake.conversations import (
    ConversationFilter,
    conversation_events,
    conversation_messages,
    conversations_order,
    conversations_page,
    customer_profile,
    messages_order,
    recomputed_metrics,
    visible_conversation,
)
from pytake.store import (
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Customer,
    Database,
    Message,
    OwnerState,
    UserRole,
)
from pytake.web import _schemas as schemas
from pytake.web._audit_trail import personal_data
from pytake.web._auth_routes import current_principal
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import cursor_arg, int_arg, iso, optional_id_arg, str_arg

__all__ = ["create_conversations_blueprint"]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
DEFAULT_EVENTS_LIMIT: Final = 100
MAX_EVENTS_LIMIT: Final = 500

_STATUSES: Final = frozenset(s.value for s in ConversationStatus)
_OWNERS: Final = frozenset(o.value for o in OwnerState)


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


def _event_json(e: ConversationEvent) -> dict[str, Any]:
    return {"id": e.id, "seq": e.seq, "type": e.type, "payload": e.payload, "at": iso(e.at)}


T = TypeVar("T")


def _found(result: T | None, conversation_id: int) -> T:
    if result is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return result


# --- the blueprint -------------------------------------------------------------------------


def create_conversations_blueprint(db: Database) -> Blueprint:
    """The ``/api/v1/conversations`` read routes over ``db``. Needs the auth blueprint."""
    bp = Blueprint("conversations_api", __name__)
    conversations_keyset = conversations_order(db.backend)
    messages_keyset = messages_order(db.backend)

    @bp.get("/api/v1/conversations")
    @documented(query=schemas.CONVERSATIONS_QUERY, response=schemas.CONVERSATIONS)
    @requires(Permission.CONVERSATIONS_READ)
    @personal_data("conversations.list")
    async def list_conversations() -> Response:
        """Conversations matching the filters, most recent activity first."""
        principal = current_principal()
        f = ConversationFilter(
            status=str_arg("status", _STATUSES),
            owner=str_arg("owner", _OWNERS),
            team_id=optional_id_arg("team"),
            agent_id=optional_id_arg("agent"),
            label=str_arg("label"),
            q=str_arg("q"),
            viewer=principal.user_id if principal.role == UserRole.AGENT else None,
        )
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        position = cursor_arg(conversations_keyset)
        rows, next_cursor = await db.run(
            conversations_page, conversations_keyset, f, position, limit, readonly=True
        )
        items = [_conversation_json(c, customer) for c, customer in rows]
        return jsonify({"conversations": items, "next_cursor": next_cursor})

    @bp.get("/api/v1/conversations/<int:conversation_id>")
    @documented(response=schemas.CONVERSATION)
    @requires(Permission.CONVERSATIONS_READ)
    @personal_data("conversation.read")
    async def get_conversation(conversation_id: int) -> Response:
        """One conversation."""
        found = await db.run(
            visible_conversation, conversation_id, current_principal(), readonly=True
        )
        return jsonify(_conversation_json(*_found(found, conversation_id)))

    @bp.get("/api/v1/customers/<int:customer_id>")
    @documented(response=schemas.CUSTOMER_PROFILE)
    @requires(Permission.CONVERSATIONS_READ)
    @personal_data("customer.read")
    async def get_customer(customer_id: int) -> Response:
        """A customer and their latest 50 conversations (newest first), each with what its
        flows collected; for an agent, a customer of one of their conversations."""
        found = await db.run(customer_profile, customer_id, current_principal(), readonly=True)
        if found is None:
            raise NotFound(f"customer {customer_id} not found")
        customer, conversations = found
        return jsonify({
            "id": customer.id,
            "name": customer.name,
            "phone": customer.phone,
            "wa_id": customer.wa_id,
            "business_phone_number_id": customer.business_phone_number_id,
            "created_at": iso(customer.created_at),
            "conversations": [{
                "id": c.id, "status": str(c.status), "owner": str(c.owner_state),
                "team_id": c.team_id, "assigned_agent_id": c.assigned_agent_id,
                "labels": list(c.labels or []), "opened_at": iso(c.opened_at),
                "resolved_at": iso(c.resolved_at), "collected": collected,
            } for c, collected in conversations],
        })

    @bp.get("/api/v1/conversations/<int:conversation_id>/messages")
    @documented(query=schemas.MESSAGES_QUERY, response=schemas.MESSAGES)
    @requires(Permission.CONVERSATIONS_READ)
    @personal_data("conversation.messages.read")
    async def list_messages(conversation_id: int) -> Response:
        """A conversation's messages, newest first; ``before`` continues with older ones."""
        principal = current_principal()
        limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT, minimum=1)
        position = cursor_arg(messages_keyset, "before")
        found = await db.run(
            conversation_messages, messages_keyset, conversation_id, principal, position, limit,
            readonly=True,
        )
        messages, next_cursor = _found(found, conversation_id)
        items = [_message_json(m) for m in messages]
        return jsonify({"messages": items, "next_cursor": next_cursor})

    @bp.get("/api/v1/conversations/<int:conversation_id>/events")
    @documented(query=schemas.EVENTS_QUERY, response=schemas.EVENTS)
    @requires(Permission.CONVERSATIONS_READ)
    @personal_data("conversation.events.read")
    async def list_events(conversation_id: int) -> Response:
        """A conversation's event log in ``seq`` order, after ``after_seq``."""
        principal = current_principal()
        after_seq = int_arg("after_seq", 0, 2**62)
        limit = int_arg("limit", DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT, minimum=1)
        found = await db.run(
            conversation_events, conversation_id, principal, after_seq, limit, readonly=True
        )
        events, more = _found(found, conversation_id)
        return jsonify({"events": [_event_json(e) for e in events], "has_more": more})

    @bp.get("/api/v1/conversations/<int:conversation_id>/metrics")
    @documented(response=schemas.CONVERSATION_METRICS)
    @requires(Permission.CONVERSATIONS_READ)
    async def conversation_metrics(conversation_id: int) -> Response:
        """First response, wait and handle times, transfers and resolution, recomputed from
        the stored event log (nothing else is consulted)."""
        principal = current_principal()
        found = await db.run(recomputed_metrics, conversation_id, principal, readonly=True)
        metrics, count = _found(found, conversation_id)
        result = attrs.asdict(metrics)
        result["agents"] = list(result["agents"])
        result["events"] = count
        return jsonify(result)

    return bp

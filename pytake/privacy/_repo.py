"""The SQL of customers' data requests: finding customers, reading everything held about one,
anonymising or erasing it, and the ``data_requests`` rows that prove what was done.

Every function takes a `Session` and runs inside `pytake.store.Database.run` (one
transaction).  Where a customer's data sits, table by table (docs/privacy.md has the list):

- by key: ``customers``; ``conversations`` and, through them, ``messages``,
  ``conversation_events``, ``flow_executions`` and the ``outbox`` rows of those messages;
- by actor address (``<business number id>:<customer id>``): ``actor_snapshots``,
  ``actor_journal``, ``dead_letters`` of the conversation actor, and ``agent_events`` (each
  names its conversation);
- by conversation id: ``webhook_deliveries`` (their event's ``data.conversation_id``);
- by the customer's ids (wa_id, BSUID, phone, every ``from`` their messages came with):
  ``inbox`` bodies, ``outbox`` rows without a message (read receipts, typing), other
  ``dead_letters``.

The ids are personal data: they are used to search and never written anywhere, and the
reports hold counts only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..contracts import conversation_address
from ..messaging import MEDIA_MESSAGE_TYPES, media_reference
from ..store import (
    Actor,
    ActorJournalEntry,
    ActorSnapshotRecord,
    AgentEvent,
    Conversation,
    ConversationEvent,
    Customer,
    DataRequest,
    DataRequestKind,
    DataRequestState,
    DeadLetterRecord,
    FlowExecution,
    InboxEntry,
    Message,
    MessageDirection,
    OutboxEntry,
    WebhookDelivery,
    bytes_contain,
    record_audit,
    utcnow,
)
from ._redact import mentions, scrub, strip_body

__all__ = [
    "CustomerMatch",
    "RequestRow",
    "Subject",
    "anonymise_rows",
    "customer_record",
    "delete_snapshot",
    "erase_rows",
    "fail_request",
    "find_customers",
    "finish_request",
    "finished_since",
    "latest_request",
    "request_page",
    "request_row",
    "resume_request",
    "running_requests",
    "start_request",
    "subject_of",
    "touch_request",
]

#: The conversation actors' kind (their snapshots, journal rows, dead letters).
CONVERSATION_KIND: Final = "conversation"
#: Inbox rows read at once while looking for a customer's bodies.
_BATCH: Final = 200
#: The agent event that tells an agent a conversation ended for a data request: kept, it
#: names only the conversation's ids (the agent's feed keeps its numbering).
_NOTICE_REASONS: Final = ("erased", "anonymised")


# --- who a request is about ----------------------------------------------------------------


@attrs.frozen
class Subject:
    """A customer as a data request finds them.  ``ids`` are personal (their wa_id, BSUID,
    phone and every ``from`` their messages came with): used to search, never written."""

    customer_id: int
    business_phone_number_id: str
    #: the ConversationActor's id
    address: str
    conversation_ids: tuple[int, ...]
    ids: frozenset[str]
    media_ids: frozenset[str]
    anonymised: bool


def subject_of(session: Session, customer_id: int) -> Subject | None:
    """The customer ``customer_id`` with what finds their data; ``None`` if there is none."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    conversations = tuple(session.scalars(
        sa.select(Conversation.id).where(Conversation.customer_id == customer_id)
        .order_by(Conversation.id)))
    ids = {customer.wa_id, customer.bsuid, customer.phone}
    media: set[str] = set()
    if conversations:
        theirs = _in(Message.conversation_id, conversations)
        for key in ("from", "from_user_id"):
            ids.update(session.scalars(
                sa.select(Message.payload[key].as_string())
                .where(theirs, Message.direction == MessageDirection.INBOUND).distinct()))
        # Both directions: what the customer sent, and files agents sent them.
        rows = session.execute(
            sa.select(Message.type, Message.payload)
            .where(theirs, Message.type.in_(MEDIA_MESSAGE_TYPES)))
        for type_, payload in rows:
            ref = media_reference(type_, payload)
            if ref is not None:
                media.add(ref["id"])
    return Subject(
        customer_id=customer.id,
        business_phone_number_id=customer.business_phone_number_id,
        address=conversation_address(customer.business_phone_number_id, customer.id),
        conversation_ids=conversations,
        ids=frozenset(i for i in ids if i),
        media_ids=frozenset(media),
        anonymised=customer.anonymized_at is not None,
    )


def _in(column: Any, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    return column.in_(list(values)) if values else sa.false()


# --- finding customers ---------------------------------------------------------------------


@attrs.frozen
class CustomerMatch:
    id: int
    business_phone_number_id: str
    name: str | None
    phone: str | None
    wa_id: str | None
    bsuid: str | None
    created_at: datetime
    anonymized_at: datetime | None
    conversations: int
    last_activity_at: datetime | None


def find_customers(session: Session, q: str, before: int | None,
                   limit: int) -> list[CustomerMatch]:
    """Customers whose phone or wa_id holds the digits of ``q`` (three or more), whose BSUID
    is ``q``, or whose name holds ``q`` (case-insensitive); newest first, ids below
    ``before``; at most ``limit``."""
    q = q.strip()
    digits = re.sub(r"\D", "", q)
    found: list[sa.ColumnElement[bool]] = [Customer.name.icontains(q, autoescape=True),
                                          Customer.bsuid == q]
    if len(digits) >= 3:
        found += [Customer.phone.contains(digits, autoescape=True),
                  Customer.wa_id.contains(digits, autoescape=True)]
    activity = (
        sa.select(Conversation.customer_id,
                  sa.func.count(Conversation.id).label("conversations"),
                  sa.func.max(Conversation.updated_at).label("last_activity_at"))
        .group_by(Conversation.customer_id).subquery())
    query = (
        sa.select(Customer, activity.c.conversations, activity.c.last_activity_at)
        .outerjoin(activity, activity.c.customer_id == Customer.id)
        .where(sa.or_(*found))
        .order_by(Customer.id.desc()).limit(limit))
    if before is not None:
        query = query.where(Customer.id < before)
    out = []
    for customer, count, last in session.execute(query):
        out.append(CustomerMatch(
            id=customer.id, business_phone_number_id=customer.business_phone_number_id,
            name=customer.name, phone=customer.phone, wa_id=customer.wa_id,
            bsuid=customer.bsuid, created_at=customer.created_at,
            anonymized_at=customer.anonymized_at, conversations=int(count or 0),
            last_activity_at=_aware(last)))
    return out


def _aware(value: Any) -> datetime | None:
    """A time read through an aggregate (which loses the column's type on SQLite)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


# --- everything held about a customer (export) ---------------------------------------------


def customer_record(session: Session, subject: Subject) -> dict[str, Any]:
    """Everything the database holds about ``subject``, as JSON (the export's
    ``customer.json``)."""
    customer = session.get(Customer, subject.customer_id)
    assert customer is not None
    conversations = []
    for conversation in session.scalars(
            sa.select(Conversation).where(Conversation.customer_id == subject.customer_id)
            .order_by(Conversation.id)):
        cid = conversation.id
        messages = session.scalars(sa.select(Message).where(Message.conversation_id == cid)
                                   .order_by(Message.created_at, Message.id))
        events = session.scalars(
            sa.select(ConversationEvent).where(ConversationEvent.conversation_id == cid)
            .order_by(ConversationEvent.seq))
        steps = session.scalars(
            sa.select(FlowExecution).where(FlowExecution.conversation_id == cid)
            .order_by(FlowExecution.id))
        conversations.append({
            **_columns(conversation, "id", "business_phone_number_id", "status",
                       "owner_state", "team_id", "assigned_agent_id", "priority", "labels",
                       "last_customer_message_at", "opened_at", "resolved_at", "updated_at"),
            "messages": [_columns(m, "id", "whatsapp_message_id", "direction", "type",
                                  "payload", "status", "sent_by_user_id", "created_at",
                                  "whatsapp_timestamp", "sent_at", "delivered_at", "read_at",
                                  "played_at", "failed_at", "error_code", "error_details")
                         for m in messages],
            "events": [_columns(e, "seq", "type", "payload", "at") for e in events],
            "flow_steps": [_columns(s, "flow_version_id", "node_key", "step_type",
                                    "variables", "at") for s in steps],
        })
    snapshot = session.get(ActorSnapshotRecord, (CONVERSATION_KIND, subject.address))
    return {
        "customer": _columns(customer, "id", "business_phone_number_id", "wa_id", "bsuid",
                             "phone", "name", "attributes", "created_at", "updated_at",
                             "anonymized_at"),
        "conversations": conversations,
        "agent_events": [_columns(e, "agent_id", "seq", "type", "payload", "at")
                         for e in session.scalars(
                             sa.select(AgentEvent).where(_about(subject))
                             .order_by(AgentEvent.id))],
        "webhook_bodies": [
            {"id": row.id, "received_at": _json(row.received_at),
             "body": row.body.decode("utf-8", "replace")}
            for row in _inbox_rows(session, subject)],
        "outbound_requests": [_columns(o, "id", "recipient", "payload", "state",
                                       "created_at")
                              for o in session.scalars(_outbox(subject))],
        "webhook_deliveries": [_columns(d, "webhook_id", "event_type", "payload", "attempt",
                                        "succeeded", "at")
                               for d in session.scalars(
                                   sa.select(WebhookDelivery).where(_deliveries(subject))
                                   .order_by(WebhookDelivery.id))],
        "conversation_state": None if snapshot is None else snapshot.data,
    }


def _columns(row: Any, *names: str) -> dict[str, Any]:
    return {name: _json(getattr(row, name)) for name in names}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- where the rest of them is -------------------------------------------------------------


def _about(subject: Subject) -> sa.ColumnElement[bool]:
    """Agent events about the customer's conversation, but the notice that ended it."""
    notice = sa.and_(AgentEvent.type == "conversation.resolved",
                     AgentEvent.payload["reason"].as_string().in_(_NOTICE_REASONS))
    return sa.and_(AgentEvent.payload["conversation"].as_string() == subject.address,
                   sa.not_(notice))


def _deliveries(subject: Subject) -> sa.ColumnElement[bool]:
    path = WebhookDelivery.payload[("data", "conversation_id")].as_string()
    return _in(path, [str(c) for c in subject.conversation_ids])


def _outbox(subject: Subject) -> sa.Select[Any]:
    """The outbox rows of no message (read receipts, typing) sent to the customer."""
    return sa.select(OutboxEntry).where(
        OutboxEntry.message_id.is_(None),
        OutboxEntry.business_phone_number_id == subject.business_phone_number_id,
        _in(OutboxEntry.recipient, sorted(subject.ids)))


def _inbox_rows(session: Session, subject: Subject) -> Iterable[Any]:
    """The inbox rows whose body mentions the customer, one batch read at a time."""
    if not subject.ids:
        return
    # Each candidate is checked here (a ``_`` in an id may match more than itself).
    like = sa.or_(*(bytes_contain(session, InboxEntry.body, i.encode())
                    for i in sorted(subject.ids)))
    after = 0
    while True:
        ids = list(session.scalars(sa.select(InboxEntry.id).where(InboxEntry.id > after, like)
                                   .order_by(InboxEntry.id).limit(_BATCH)))
        if not ids:
            return
        for row in session.execute(sa.select(InboxEntry.id, InboxEntry.body,
                                             InboxEntry.received_at)
                                   .where(InboxEntry.id.in_(ids)).order_by(InboxEntry.id)):
            if mentions(row.body, subject.ids):
                yield row
        after = ids[-1]


def _dead_letters(session: Session, subject: Subject) -> list[int]:
    """Dead letters of the customer's conversation actor, and any naming them."""
    needles = sorted({*subject.ids, subject.address})
    address = re.compile(re.escape(subject.address) + r"(?!\d)")
    candidates = session.execute(
        sa.select(DeadLetterRecord.id, DeadLetterRecord.kind, DeadLetterRecord.actor_id,
                  DeadLetterRecord.message, DeadLetterRecord.error,
                  DeadLetterRecord.traceback)
        .where(sa.or_(
            sa.and_(DeadLetterRecord.kind == CONVERSATION_KIND,
                    DeadLetterRecord.actor_id == subject.address),
            *(column.contains(n, autoescape=True) for n in needles
              for column in (DeadLetterRecord.message, DeadLetterRecord.error))))).all()
    found = []
    for row in candidates:
        text = "\n".join((row.message, row.error, row.traceback))
        if ((row.kind == CONVERSATION_KIND and row.actor_id == subject.address)
                or mentions(text, subject.ids) or address.search(text)):
            found.append(row.id)
    return found


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def _agent_events(session: Session, subject: Subject, reason: str) -> dict[str, int]:
    """Delete the agent events about ``subject``, but an agent's newest event: its seq is
    what the agent's numbering resumes from, so that row stays, rewritten as the notice
    that the conversation ended (which a desk replaying it acts on)."""
    about = session.execute(sa.select(AgentEvent.id, AgentEvent.agent_id, AgentEvent.seq)
                            .where(_about(subject))).all()
    agents = sorted({r.agent_id for r in about})
    newest = dict(session.execute(
        sa.select(AgentEvent.agent_id, sa.func.max(AgentEvent.seq))
        .where(_in(AgentEvent.agent_id, agents)).group_by(AgentEvent.agent_id)).all())
    kept = [r.id for r in about if newest.get(r.agent_id) == r.seq]
    gone = [r.id for r in about if r.id not in kept]
    last = subject.conversation_ids[-1] if subject.conversation_ids else None
    session.execute(sa.update(AgentEvent).where(_in(AgentEvent.id, kept)).values(
        type="conversation.resolved", effect_key=None,
        payload={"conversation": subject.address, "conversation_id": last,
                 "reason": reason}))
    deleted = _count(session.execute(sa.delete(AgentEvent).where(_in(AgentEvent.id, gone))))
    return {"deleted": deleted, "rewritten": len(kept)}


def _raw_stores(session: Session, subject: Subject, reason: str) -> dict[str, Any]:
    """Delete (or rewrite) what the engine's own stores hold about ``subject``; the counts."""
    counts: dict[str, Any] = {}
    deleted = rewritten = 0
    for row in list(_inbox_rows(session, subject)):
        body = strip_body(row.body, subject.ids)
        if body is None:
            session.execute(sa.delete(InboxEntry).where(InboxEntry.id == row.id))
            deleted += 1
        elif body != row.body:
            # The signature covered the old bytes: a rewritten body has none.
            session.execute(sa.update(InboxEntry).where(InboxEntry.id == row.id)
                            .values(body=body, signature=None))
            rewritten += 1
    counts["inbox"] = {"deleted": deleted, "rewritten": rewritten}
    receipts = [o.id for o in session.scalars(_outbox(subject))]
    counts["outbox_without_message"] = _count(session.execute(
        sa.delete(OutboxEntry).where(_in(OutboxEntry.id, receipts))))
    counts["dead_letters"] = _count(session.execute(
        sa.delete(DeadLetterRecord).where(_in(DeadLetterRecord.id,
                                              _dead_letters(session, subject)))))
    counts["actor_journal"] = _count(session.execute(
        sa.delete(ActorJournalEntry).where(ActorJournalEntry.kind == CONVERSATION_KIND,
                                           ActorJournalEntry.actor_id == subject.address)))
    counts["actor_snapshots"] = delete_snapshot(session, subject.address)
    counts["agent_events"] = _agent_events(session, subject, reason)
    counts["webhook_deliveries"] = _count(session.execute(
        sa.delete(WebhookDelivery).where(_deliveries(subject))))
    return counts


def _messages(subject: Subject) -> sa.ColumnElement[bool]:
    return _in(Message.conversation_id, subject.conversation_ids)


def erase_rows(session: Session, subject: Subject) -> dict[str, Any]:
    """Delete every row about ``subject``, the customer's own row last; the counts."""
    counts = _raw_stores(session, subject, "erased")
    conversations = subject.conversation_ids
    message_ids = sa.select(Message.id).where(_messages(subject)).scalar_subquery()
    counts["outbox"] = _count(session.execute(
        sa.delete(OutboxEntry).where(OutboxEntry.message_id.in_(message_ids))))
    counts["flow_executions"] = _count(session.execute(
        sa.delete(FlowExecution).where(_in(FlowExecution.conversation_id, conversations))))
    counts["conversation_events"] = _count(session.execute(
        sa.delete(ConversationEvent).where(
            _in(ConversationEvent.conversation_id, conversations))))
    counts["messages"] = _count(session.execute(sa.delete(Message).where(_messages(subject))))
    counts["conversations"] = _count(session.execute(
        sa.delete(Conversation).where(_in(Conversation.id, conversations))))
    counts["customers"] = _count(session.execute(
        sa.delete(Customer).where(Customer.id == subject.customer_id)))
    return counts


def anonymise_rows(session: Session, subject: Subject) -> dict[str, Any]:
    """Replace ``subject``'s personal fields and what they wrote, keeping the rows that
    conversations' metrics and the aggregates count (conversations, messages by type and
    time, events, flow steps); delete the engine's raw copies; the counts."""
    counts = _raw_stores(session, subject, "anonymised")
    message_ids = sa.select(Message.id).where(_messages(subject)).scalar_subquery()
    counts["outbox"] = _count(session.execute(
        sa.delete(OutboxEntry).where(OutboxEntry.message_id.in_(message_ids))))
    # wamids too: Meta's encode the customer's number.
    counts["messages"] = _count(session.execute(
        sa.update(Message).where(_messages(subject))
        .values(payload={}, error_details=None, whatsapp_message_id=None)))
    events = 0
    for event in session.scalars(sa.select(ConversationEvent).where(
            _in(ConversationEvent.conversation_id, subject.conversation_ids))):
        cleaned = scrub(event.payload or {})
        if cleaned != event.payload:
            event.payload = cleaned
            events += 1
    counts["conversation_events"] = events
    counts["flow_executions"] = _count(session.execute(
        sa.update(FlowExecution)
        .where(_in(FlowExecution.conversation_id, subject.conversation_ids))
        .values(variables={})))
    counts["conversations"] = 0  # kept, with their metrics
    customer = session.get(Customer, subject.customer_id)
    assert customer is not None
    customer.wa_id = customer.bsuid = customer.phone = customer.name = None
    customer.attributes = {}
    customer.anonymized_at = customer.anonymized_at or utcnow()
    counts["customers"] = 1
    return counts


# --- the requests ---------------------------------------------------------------------------


@attrs.frozen
class RequestRow:
    """A ``data_requests`` row as callers see it."""

    id: int
    kind: str
    customer_id: int
    state: str
    requested_by_user_id: int | None
    requested_via: str
    attempts: int
    report: dict[str, Any]
    error: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """The request as the API and ``pytake customers requests --json`` show it."""
        return {
            "id": self.id, "kind": self.kind, "customer_id": self.customer_id,
            "state": self.state, "requested_by_user_id": self.requested_by_user_id,
            "requested_via": self.requested_via, "attempts": self.attempts,
            "report": self.report, "error": self.error,
            "started_at": _iso(self.started_at), "updated_at": _iso(self.updated_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _row(r: DataRequest) -> RequestRow:
    return RequestRow(r.id, str(r.kind), r.customer_id, str(r.state), r.requested_by_user_id,
                      r.requested_via, r.attempts, dict(r.report or {}), r.error, r.started_at,
                      r.updated_at, r.finished_at)


def start_request(session: Session, kind: DataRequestKind, customer_id: int,
                  user_id: int | None, via: str) -> RequestRow:
    """A new ``running`` request (committed before its first step)."""
    row = DataRequest(kind=kind, customer_id=customer_id, state=DataRequestState.RUNNING,
                      requested_by_user_id=user_id, requested_via=via, report={})
    session.add(row)
    session.flush()
    return _row(row)


def resume_request(session: Session, request_id: int) -> RequestRow | None:
    """Count another attempt of a ``running`` request; ``None`` if it is not running."""
    row = session.get(DataRequest, request_id, with_for_update=True)
    if row is None or row.state != DataRequestState.RUNNING:
        return None
    row.attempts += 1
    session.flush()
    return _row(row)


def touch_request(session: Session, request_id: int, report: dict[str, Any]) -> None:
    """Record the steps done so far (a running request's progress)."""
    session.execute(sa.update(DataRequest).where(
        DataRequest.id == request_id, DataRequest.state == DataRequestState.RUNNING)
        .values(report=report, updated_at=utcnow()))


def finish_request(session: Session, request_id: int, report: dict[str, Any],
                   actor: Actor, action: str) -> RequestRow | None:
    """Mark a running request ``done`` with its report and record the audit row (counts
    only); ``None`` (nothing written) if another run finished it first."""
    row = session.get(DataRequest, request_id, with_for_update=True)
    if row is None or row.state != DataRequestState.RUNNING:
        return None
    row.state = DataRequestState.DONE
    row.report = report
    row.error = None
    row.finished_at = utcnow()
    record_audit(session, action, actor, target_type="customer", target_id=row.customer_id,
                 details={"request": row.id, **_totals(report)})
    session.flush()
    return _row(row)


def _totals(report: dict[str, Any]) -> dict[str, int]:
    """The report's counts summed per store, for the audit row."""
    totals: dict[str, int] = {}
    for store in ("postgresql", "redis", "media"):
        section = report.get(store)
        if isinstance(section, dict):
            totals[store] = sum(_number(v) for v in section.values())
    return totals


def _number(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_number(v) for v in value.values())
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def fail_request(session: Session, request_id: int, error: str,
                 report: dict[str, Any] | None = None) -> RequestRow | None:
    """Mark a running request ``failed`` with ``error`` (no personal data: a step and an
    exception's type and message about storage)."""
    row = session.get(DataRequest, request_id, with_for_update=True)
    if row is None or row.state != DataRequestState.RUNNING:
        return None
    row.state = DataRequestState.FAILED
    row.error = error[:2000]
    if report is not None:
        row.report = report
    row.finished_at = utcnow()
    session.flush()
    return _row(row)


def running_requests(session: Session) -> list[RequestRow]:
    return [_row(r) for r in session.scalars(
        sa.select(DataRequest).where(DataRequest.state == DataRequestState.RUNNING)
        .order_by(DataRequest.id))]


def request_row(session: Session, request_id: int) -> RequestRow | None:
    row = session.get(DataRequest, request_id)
    return None if row is None else _row(row)


def latest_request(session: Session, customer_id: int, kind: DataRequestKind,
                   state: DataRequestState) -> RequestRow | None:
    row = session.scalars(
        sa.select(DataRequest).where(DataRequest.customer_id == customer_id,
                                     DataRequest.kind == kind, DataRequest.state == state)
        .order_by(DataRequest.id.desc()).limit(1)).first()
    return None if row is None else _row(row)


def request_page(session: Session, before: int | None, limit: int,
                 customer_id: int | None = None) -> list[RequestRow]:
    """Requests newest first, ids below ``before``, at most ``limit``."""
    query = sa.select(DataRequest)
    if customer_id is not None:
        query = query.where(DataRequest.customer_id == customer_id)
    if before is not None:
        query = query.where(DataRequest.id < before)
    query = query.order_by(DataRequest.id.desc())
    return [_row(r) for r in session.scalars(query.limit(limit))]


def finished_since(session: Session, since: datetime) -> list[RequestRow]:
    """Anonymisations and erasures finished at or after ``since``."""
    return [_row(r) for r in session.scalars(
        sa.select(DataRequest).where(DataRequest.state == DataRequestState.DONE,
                                     DataRequest.kind != DataRequestKind.EXPORT,
                                     DataRequest.finished_at >= since)
        .order_by(DataRequest.id))]


def delete_snapshot(session: Session, address: str) -> int:
    """Delete the stored snapshot of the conversation actor ``address``."""
    return _count(session.execute(
        sa.delete(ActorSnapshotRecord).where(ActorSnapshotRecord.kind == CONVERSATION_KIND,
                                             ActorSnapshotRecord.actor_id == address)))

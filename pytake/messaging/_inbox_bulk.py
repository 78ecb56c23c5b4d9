"""Set-based processing of plain inbound messages on PostgreSQL.

Processing a message one statement at a time costs a round trip and a statement build per
customer lookup, conversation lookup, insert, window update and journal row.  For the common
case (new messages from known or new customers, nothing to re-key or modify), this module
does each step once per batch with psycopg directly: ``= ANY(array)`` lookups and pipelined,
prepared ``executemany`` inserts.  Anything unusual (system messages, reactions, edits,
revokes, customers whose ids or name changed) stays on the per-message path in ``_inbox``.
The effects are the same as the per-message path's, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from ..contracts import InboundReceived
from ..store import execute_each, execute_returning, journal_many_in
from ..whatsapp import ButtonReply, InboundMessage, ListReply, TemplateButton

#: types that do not restart the customer-service window (not sent by the user)
NOT_FROM_USER = frozenset({"system"})


def customer_keys(m: InboundMessage) -> tuple[str | None, str | None, str | None]:
    """The sender's (wa_id, BSUID, profile name), each ``None`` when absent."""
    wa_id = m.sender or (m.contact.wa_id if m.contact else "") or None
    bsuid = m.sender_user_id or (m.contact.user_id if m.contact else "") or None
    name = m.contact.name if m.contact and m.contact.name else None
    return wa_id, bsuid, name


def process(
    connection: Any, messages: Sequence[InboundMessage], address: Any
) -> list[tuple[int | None, int, int, int | None, InboundReceived | None]] | None:
    """Store ``messages``; ``None`` if one needs the per-message path (nothing was written).

    Per message: (message row id, or ``None`` for a duplicate wamid; conversation id;
    customer id; journal id; the journaled message)."""
    keys = [customer_keys(m) for m in messages]
    numbers = sorted({m.phone_number_id for m in messages})
    wa_ids = sorted({k[0] for k in keys if k[0]})
    bsuids = sorted({k[1] for k in keys if k[1]})
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, business_phone_number_id, wa_id, bsuid, name FROM customers "
            "WHERE business_phone_number_id = ANY(%s) AND (wa_id = ANY(%s) OR bsuid = ANY(%s)) "
            "ORDER BY id",
            (numbers, wa_ids, bsuids),
        )
        by_wa: dict[tuple[str, str], tuple[Any, ...]] = {}
        by_bsuid: dict[tuple[str, str], tuple[Any, ...]] = {}
        for row in cur.fetchall():
            if row[2]:
                by_wa.setdefault((row[1], row[2]), row)
            if row[3]:
                by_bsuid.setdefault((row[1], row[3]), row)
        customer_of: list[int | None] = []
        new_customers: dict[tuple[str, str | None, str | None], list[int]] = {}
        for i, (m, (wa_id, bsuid, name)) in enumerate(zip(messages, keys, strict=True)):
            row = (by_wa.get((m.phone_number_id, wa_id)) if wa_id else None) or (
                by_bsuid.get((m.phone_number_id, bsuid)) if bsuid else None
            )
            if row is None:
                new_customers.setdefault((m.phone_number_id, wa_id, bsuid), []).append(i)
                customer_of.append(None)
                continue
            if (wa_id and not row[2]) or (bsuid and not row[3]) or (name and name != row[4]):
                return None  # an identity merge or rename: the careful path
            customer_of.append(int(row[0]))
        if new_customers:
            # Several new customers can only share a key if one message has both ids and
            # another only one of them: leave that to the careful path.
            seen_wa = [k[1] for k in new_customers if k[1]]
            seen_b = [k[2] for k in new_customers if k[2]]
            if len(seen_wa) != len(set(seen_wa)) or len(seen_b) != len(set(seen_b)):
                return None
            params = []
            for number, wa_id, bsuid in new_customers:
                first = messages[new_customers[(number, wa_id, bsuid)][0]]
                params.append((number, wa_id, bsuid, wa_id, customer_keys(first)[2]))
            created = execute_returning(
                cur,
                "INSERT INTO customers (business_phone_number_id, wa_id, bsuid, phone, name) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                params,
            )
            for (key, indexes), new_id in zip(new_customers.items(), created, strict=True):
                assert new_id is not None, key
                for i in indexes:
                    customer_of[i] = new_id
        customers = [c for c in customer_of if c is not None]
        assert len(customers) == len(messages)
        cur.execute(
            "SELECT customer_id, id FROM conversations WHERE customer_id = ANY(%s) "
            "AND status = 'open'",
            (sorted(set(customers)),),
        )
        conversation_of = {int(c): int(i) for c, i in cur.fetchall()}
        missing = [c for c in dict.fromkeys(customers) if c not in conversation_of]
        if missing:
            number_of = {c: m.phone_number_id for c, m in zip(customers, messages, strict=True)}
            opened = execute_returning(
                cur,
                "INSERT INTO conversations (customer_id, business_phone_number_id) "
                "VALUES (%s, %s) RETURNING id",
                [(c, number_of[c]) for c in missing],
            )
            for c, new_id in zip(missing, opened, strict=True):
                assert new_id is not None
                conversation_of[c] = new_id
        message_ids = execute_returning(
            cur,
            "INSERT INTO messages (conversation_id, whatsapp_message_id, direction, type, "
            "payload, status, whatsapp_timestamp, created_at) VALUES (%s, %s, 'in', %s, %s, "
            "'received', %s, now()) ON CONFLICT (whatsapp_message_id) DO NOTHING RETURNING id",
            [
                (conversation_of[c], m.wamid, m.type, Jsonb(m.raw), epoch_time(m.timestamp))
                for c, m in zip(customers, messages, strict=True)
            ],
        )
        newest: dict[int, int] = {}
        for c, m, mid in zip(customers, messages, message_ids, strict=True):
            if mid is not None and m.type not in NOT_FROM_USER:
                conv = conversation_of[c]
                newest[conv] = max(newest.get(conv, 0), m.timestamp)
        if newest:
            execute_each(
                cur,
                "UPDATE conversations SET last_customer_message_at = %s, updated_at = now() "
                "WHERE id = %s AND (last_customer_message_at IS NULL "
                "OR last_customer_message_at < %s)",
                # In id order, like every writer of conversations: no deadlock between them.
                [(epoch_time(ts), conv, epoch_time(ts)) for conv, ts in sorted(newest.items())],
            )
        received: list[InboundReceived | None] = []
        journal_rows = []
        for c, m, mid in zip(customers, messages, message_ids, strict=True):
            if mid is None:
                received.append(None)
                continue
            msg = inbound_received(m, mid, conversation_of[c], c)
            received.append(msg)
            journal_rows.append(("conversation", address(m.phone_number_id, c), msg))
        journal_ids: list[int] = journal_many_in(cur, journal_rows) if journal_rows else []
    out: list[tuple[int | None, int, int, int | None, InboundReceived | None]] = []
    it = iter(journal_ids)
    for c, mid, journaled in zip(customers, message_ids, received, strict=True):
        journal_id = next(it) if journaled is not None else None
        out.append((mid, conversation_of[c], c, journal_id, journaled))
    return out


def epoch_time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _words_and_choice(content: object) -> tuple[str, str]:
    """What the customer wrote, and the id of what they tapped: a tap carries no text body,
    only the title they saw, and flows route it by its id."""
    if isinstance(content, ButtonReply | ListReply):
        return content.title, content.id
    if isinstance(content, TemplateButton):
        return content.text, content.payload
    return getattr(content, "body", "") or "", ""


def inbound_received(
    m: InboundMessage, message_id: int, conversation_id: int, customer_id: int
) -> InboundReceived:
    """What a ConversationActor is told about a newly stored customer message."""
    text, reply_id = _words_and_choice(m.content)
    return InboundReceived(
        message_id=message_id,
        wamid=m.wamid,
        type=m.type,
        timestamp=m.timestamp,
        conversation_id=conversation_id,
        customer_id=customer_id,
        opens_window=m.type not in NOT_FROM_USER,
        text=text[:200],
        reply_id=reply_id,
        phone_number_id=m.phone_number_id,
        reply_to=m.customer_id,
        error_codes=tuple(e.code for e in m.errors),
    )

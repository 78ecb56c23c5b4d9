"""The modules' rows, read and written: ``modules`` and ``module_configurations`` (for
`ModuleConfigs`), ``webhooks`` and ``webhook_deliveries`` (for the built-in ``webhook``
module), and any table's column of sealed secrets (for ``_sealed``'s rotation).

The functions take a `Session` and run inside `pytake.store.Database.run`; the transaction is
the caller's. They hold no rules: what a configuration may hold and how its secrets are
sealed is ``_configs``'s; which subscription exists, what an administrator may change and
what the audit log says is ``builtin.webhook``'s. Secrets arrive here encrypted already.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.store import (
    Base,
    ModuleConfiguration,
    ModuleRecord,
    WebhookDelivery,
    WebhookSubscription,
    upsert,
    utcnow,
)

__all__ = [
    "ConfigRow",
    "active_subscriptions",
    "add_delivery",
    "add_subscription",
    "change_subscription",
    "config_row",
    "config_rows",
    "delete_config",
    "delete_subscription",
    "delivery_row",
    "delivery_rows",
    "last_attempt",
    "module_enabled",
    "replace_sealed",
    "save_config",
    "sealed_rows",
    "set_module_enabled",
    "set_subscription_active",
    "subscription_row",
    "subscription_rows",
    "sync_module_records",
]

_modules = ModuleRecord.__table__
_configs = ModuleConfiguration.__table__


# --- modules and their configurations --------------------------------------------------------


@attrs.frozen
class ConfigRow:
    """A stored configuration: the plain fields, the sealed secrets, when it last changed."""

    config: dict[str, Any]
    secrets_encrypted: bytes | None
    updated_at: datetime


def sync_module_records(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or refresh the ``modules`` rows (``name``, ``version``, ``manifest``); an
    existing row keeps its ``enabled`` switch, which is the administrator's."""
    stmt = upsert(session, _modules)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "version": stmt.excluded.version,
            "manifest": stmt.excluded.manifest,
            "updated_at": sa.func.now(),
        },
    )
    session.execute(stmt, rows)


def _ensure_module(session: Session, name: str, version: str, manifest: dict[str, Any]) -> int:
    """The id of module ``name``'s row, inserted if the module was never recorded (a change
    may come before `sync_module_records` ran on this database)."""
    stmt = upsert(session, _modules).values(
        name=name, version=version, manifest=manifest
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    module_id: int = session.execute(
        sa.select(ModuleRecord.id).where(ModuleRecord.name == name)
    ).scalar_one()
    return module_id


def set_module_enabled(
    session: Session, name: str, version: str, manifest: dict[str, Any], enabled: bool
) -> None:
    """Store the administrator's switch of module ``name``."""
    _ensure_module(session, name, version, manifest)
    session.execute(
        sa.update(ModuleRecord).where(ModuleRecord.name == name).values(enabled=enabled)
    )


def module_enabled(session: Session, name: str) -> bool:
    """The switch of module ``name``; on for a module not recorded yet (new modules start
    enabled)."""
    value = session.execute(
        sa.select(ModuleRecord.enabled).where(ModuleRecord.name == name)
    ).scalar_one_or_none()
    return value is None or bool(value)


def save_config(
    session: Session,
    name: str,
    version: str,
    manifest: dict[str, Any],
    tenant_key: str,
    config: dict[str, Any],
    blob: bytes | None,
) -> datetime:
    """Store the whole configuration of module ``name`` for ``tenant_key`` (in place of any
    before it); when it was stored, as the database says."""
    module_id = _ensure_module(session, name, version, manifest)
    stmt = upsert(session, _configs).values(
        module_id=module_id, tenant_key=tenant_key, config=config, secrets_encrypted=blob
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["module_id", "tenant_key"],
        set_={
            "config": stmt.excluded.config,
            "secrets_encrypted": stmt.excluded.secrets_encrypted,
            "updated_at": sa.func.now(),
        },
    )
    session.execute(stmt)
    updated_at: datetime = session.execute(
        sa.select(ModuleConfiguration.updated_at).where(
            ModuleConfiguration.module_id == module_id,
            ModuleConfiguration.tenant_key == tenant_key,
        )
    ).scalar_one()
    return updated_at


def _config_query() -> sa.Select[tuple[str, str, dict[str, Any], bytes | None, datetime]]:
    return sa.select(
        ModuleRecord.name,
        ModuleConfiguration.tenant_key,
        ModuleConfiguration.config,
        ModuleConfiguration.secrets_encrypted,
        ModuleConfiguration.updated_at,
    ).join(ModuleRecord, ModuleRecord.id == ModuleConfiguration.module_id)


def config_row(session: Session, name: str, tenant_key: str) -> ConfigRow | None:
    """Module ``name``'s configuration for ``tenant_key``, if one is stored."""
    row = session.execute(
        _config_query().where(
            ModuleRecord.name == name, ModuleConfiguration.tenant_key == tenant_key
        )
    ).first()
    if row is None:
        return None
    return ConfigRow(dict(row.config or {}), row.secrets_encrypted, row.updated_at)


def config_rows(session: Session, name: str | None) -> list[tuple[str, str, ConfigRow]]:
    """``(module, tenant, row)`` of every stored configuration (of module ``name``, if
    given), by module and tenant; also of modules no longer installed."""
    query = _config_query().order_by(ModuleRecord.name, ModuleConfiguration.tenant_key)
    if name is not None:
        query = query.where(ModuleRecord.name == name)
    return [
        (r.name, r.tenant_key, ConfigRow(dict(r.config or {}), r.secrets_encrypted, r.updated_at))
        for r in session.execute(query)
    ]


def delete_config(session: Session, name: str, tenant_key: str) -> bool:
    """Remove module ``name``'s configuration for ``tenant_key``; whether there was one."""
    module_id = session.execute(
        sa.select(ModuleRecord.id).where(ModuleRecord.name == name)
    ).scalar_one_or_none()
    if module_id is None:
        return False
    result = session.execute(
        sa.delete(ModuleConfiguration).where(
            ModuleConfiguration.module_id == module_id,
            ModuleConfiguration.tenant_key == tenant_key,
        )
    )
    return bool(getattr(result, "rowcount", 0))


# --- outbound webhooks -----------------------------------------------------------------------


def subscription_row(session: Session, webhook_id: int) -> WebhookSubscription | None:
    """The ``webhooks`` row ``webhook_id``, if there is one."""
    return session.get(WebhookSubscription, webhook_id)


def add_subscription(
    session: Session, fields: Mapping[str, Any], seal: Callable[[int], str]
) -> WebhookSubscription:
    """Store a subscription with ``fields``; its stored secret is ``seal(id)``.

    The sealed secret is bound to the row's id, so the row is written first without one.
    It is read back afterwards for what the database filled in (``active``, the times)."""
    row = WebhookSubscription(**fields, secret="")
    session.add(row)
    session.flush()
    row.secret = seal(row.id)
    session.flush()
    session.refresh(row)
    return row


def change_subscription(
    session: Session, row: WebhookSubscription, changes: Mapping[str, Any]
) -> None:
    """Set ``changes`` on a loaded subscription and mark it changed now; flushed, so a
    refused value fails here, in the request that made it."""
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()


def delete_subscription(session: Session, webhook_id: int) -> bool:
    """Remove subscription ``webhook_id`` (its delivery log goes with it: ON DELETE
    CASCADE); whether there was one."""
    result = session.execute(
        sa.delete(WebhookSubscription).where(WebhookSubscription.id == webhook_id)
    )
    return bool(getattr(result, "rowcount", 0))


def set_subscription_active(session: Session, webhook_id: int, active: bool) -> None:
    """Pause or resume subscription ``webhook_id`` (nothing if there is none)."""
    session.execute(
        sa.update(WebhookSubscription)
        .where(WebhookSubscription.id == webhook_id)
        .values(active=active, updated_at=utcnow())
    )


def subscription_rows(
    session: Session, after_id: int | None, limit: int | None
) -> list[WebhookSubscription]:
    """Up to ``limit`` (None: all) subscriptions with ids above ``after_id``, by id."""
    query = sa.select(WebhookSubscription).order_by(WebhookSubscription.id).limit(limit)
    if after_id is not None:
        query = query.where(WebhookSubscription.id > after_id)
    return list(session.scalars(query))


def active_subscriptions(session: Session) -> list[tuple[int, str, list[str], str]]:
    """``(id, url, event patterns, sealed secret)`` of every active subscription, by id:
    what deliveries need, without the rest of the rows."""
    rows = session.execute(
        sa.select(
            WebhookSubscription.id,
            WebhookSubscription.url,
            WebhookSubscription.events,
            WebhookSubscription.secret,
        )
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    )
    return [(r.id, r.url, list(r.events or []), r.secret) for r in rows]


def add_delivery(session: Session, row: Mapping[str, Any]) -> WebhookDelivery:
    """Log one attempt (the columns of ``webhook_deliveries`` but ``at``, which is now);
    flushed, so it has its id."""
    delivery = WebhookDelivery(**row, at=utcnow())
    session.add(delivery)
    session.flush()
    return delivery


def delivery_row(session: Session, delivery_id: int) -> WebhookDelivery | None:
    """The logged attempt ``delivery_id``, if there is one."""
    return session.get(WebhookDelivery, delivery_id)


def delivery_rows(
    session: Session,
    webhook_id: int | None,
    event_id: str | None,
    before_id: int | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Up to ``limit`` logged attempts (of one subscription, of one event, with ids below
    ``before_id``: each when given), newest first."""
    # Ids grow with every row written, so id order is the order attempts were logged in.
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    if event_id is not None:
        query = query.where(WebhookDelivery.event_id == event_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query))


def last_attempt(session: Session, webhook_id: int, event_id: str) -> int | None:
    """The highest attempt number logged for an event and a subscription, ``None`` if
    none is."""
    last = session.scalar(
        sa.select(sa.func.max(WebhookDelivery.attempt)).where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.event_id == event_id,
        )
    )
    return None if last is None else int(last)


# --- columns of sealed secrets (any table) ---------------------------------------------------


def _table(model: type[Base]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def sealed_rows(session: Session, model: type[Base], column: str, key: str,
                fields: Sequence[Any], after: Any, limit: int) -> list[Any]:
    """Up to ``limit`` rows of ``model`` whose ``column`` holds a value, by primary key
    ``key`` after ``after`` (``None``: from the first): ``pk``, ``value`` and ``fields``
    (attributes of ``model`` or of tables its foreign keys name, joined)."""
    table = _table(model)
    pk, value = table.c[key], table.c[column]
    stmt = sa.select(pk.label("pk"), value.label("value"), *fields).select_from(table)
    for other in {f.class_ for f in fields} - {model}:
        stmt = stmt.join(other)  # on the foreign key between them
    stmt = stmt.where(value.is_not(None))
    if after is not None:
        stmt = stmt.where(pk > after)
    return list(session.execute(stmt.order_by(pk).limit(limit)).all())


def replace_sealed(session: Session, model: type[Base], column: str, key: str, pk: Any,
                   old: Any, new: Any) -> bool:
    """Put ``new`` in ``column`` of row ``pk`` if it still holds ``old`` (compare-and-set);
    whether it did. The row's ``updated_at``, if any, is kept: nobody changed the secret."""
    table = _table(model)
    changes: dict[Any, Any] = {table.c[column]: new}
    if "updated_at" in table.c:
        changes[table.c.updated_at] = table.c.updated_at  # not its onupdate
    result = session.execute(
        sa.update(table).where(table.c[key] == pk, table.c[column] == old).values(changes))
    return bool(getattr(result, "rowcount", 0))

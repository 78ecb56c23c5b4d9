"""Settings that change without a restart: overrides stored in ``runtime_settings``.

`LIVE_SETTINGS` names the settings PyTake reads where it uses them, so that a new value
applies to the next conversation, message or disconnection; every other setting is read at
start-up (listening address, database, secrets, pools...) and needs a restart.
`RuntimeSettings` holds the effective `pytake.config.Settings` (the environment's, with the
overrides on top), checks changes with the settings' own validators, stores them, re-reads the
table every `REFRESH_INTERVAL` seconds (changes made through another node) and at once after
a change made through this one, and tells its listeners (the engine applies the values).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.config import Settings
from pytake.errors import ConfigError
from pytake.store._audit import SYSTEM, Actor, record_audit
from pytake.store._database import Database
from pytake.store._models_numbers import RuntimeSetting

__all__ = ["LIVE_SETTINGS", "REFRESH_INTERVAL", "RuntimeSettings"]

log = logging.getLogger("pytake.store")

#: The settings that may change while PyTake runs (see docs/configuration.md).
LIVE_SETTINGS: Final = (
    "routing_default_team",
    "routing_reopen_window",
    "routing_burst_gap",
    "flows_default",
    "flows_keywords",
    "agent_offline_grace",
    "whatsapp_inbox_backlog_limit",
)
#: Seconds between two reads of the overrides (changes made through other nodes).
REFRESH_INTERVAL: Final = 2.0

_FIELDS: Final = attrs.fields_dict(Settings)


def _typed(name: str, value: Any) -> Any:
    """``value`` (from JSON) as the setting's type; `ConfigError` naming it otherwise."""
    kind = _FIELDS[name].type
    if kind is str and isinstance(value, str):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    names: dict[Any, str] = {str: "string", int: "whole number", float: "number"}
    what = names.get(kind, str(kind))
    raise ConfigError(f"{name} must be a {what}", key=name)


class RuntimeSettings:
    """The effective settings: ``base`` (the environment, files) with the stored overrides.

    ``current`` is read at use time by whoever holds this object; `on_change` listeners are
    called with the new `Settings` whenever the overrides change (on the event loop).
    """

    def __init__(self, db: Database, base: Settings, *,
                 interval: float = REFRESH_INTERVAL) -> None:
        self.db = db
        self.base = base
        self.current = base
        self.overrides: dict[str, Any] = {}
        self.interval = interval
        self._listeners: list[Callable[[Settings], None]] = []
        self._lock = trio.Lock()

    def on_change(self, listener: Callable[[Settings], None]) -> None:
        self._listeners.append(listener)

    def values(self) -> dict[str, dict[str, Any]]:
        """Each live setting: its ``value`` now, the environment's (``default``), and whether
        it is ``overridden``."""
        return {
            name: {
                "value": getattr(self.current, name),
                "default": getattr(self.base, name),
                "overridden": name in self.overrides,
            }
            for name in LIVE_SETTINGS
        }

    def check(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``changes`` checked: live settings only, of their type, accepted by their
        validators together with the other overrides (``None`` drops an override).  Raises
        `ConfigError` with ``key`` naming the setting."""
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in LIVE_SETTINGS:
                why = ("needs a restart" if name in _FIELDS
                       else "is not a setting")
                raise ConfigError(f"{name} {why}; live settings: {', '.join(LIVE_SETTINGS)}",
                                  key=name)
            clean[name] = None if value is None else _typed(name, value)
        merged = {**self.overrides, **clean}
        attrs.evolve(self.base, **{k: v for k, v in merged.items() if v is not None})
        return clean

    async def change(self, changes: Mapping[str, Any], actor: Actor = SYSTEM) -> None:
        """Store ``changes`` (see `check`) and apply them on this node at once; ``actor``
        is who made them, for the audit log."""
        clean = self.check(changes)
        if clean:
            await self.db.run(_store, clean, actor)
        await self.refresh()

    async def refresh(self) -> None:
        """Read the overrides; apply them if they changed."""
        async with self._lock:
            stored = await self.db.run(_read)
            overrides: dict[str, Any] = {}
            for name, value in stored.items():
                if name not in LIVE_SETTINGS:
                    continue  # a setting a newer version made live, or one no longer live
                try:
                    overrides[name] = _typed(name, value)
                    attrs.evolve(self.base, **{name: overrides[name]})
                except ConfigError as exc:
                    overrides.pop(name, None)
                    log.error("runtime setting %s ignored: %s", name, exc)
            if overrides == self.overrides:
                return
            self.overrides = overrides
            self.current = attrs.evolve(self.base, **overrides)
            for listener in self._listeners:
                listener(self.current)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.refresh()  # before anything reads a setting
        task_status.started()
        while True:
            await trio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception as exc:  # the database away: keep the values we have
                log.warning("reading runtime settings failed (%s); keeping the last", exc)


def _read(session: Session) -> dict[str, Any]:
    rows = session.execute(sa.select(RuntimeSetting.name, RuntimeSetting.value))
    # Not dict(rows): a result has keys(), so dict() would take it for a mapping.
    return {name: value for name, value in rows}


def _store(session: Session, changes: dict[str, Any], actor: Actor) -> None:
    user_id = actor.user_id
    before = {name: value for name, value in _read(session).items() if name in changes}
    record_audit(session, "settings.change", actor, target_type="settings", target_id=None,
                 details={name: {"from": before.get(name), "to": value}
                          for name, value in changes.items()})
    for name, value in changes.items():
        row = session.get(RuntimeSetting, name)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(RuntimeSetting(name=name, value=value, updated_by=user_id))
        else:
            row.value = value
            row.updated_by = user_id

"""`ModuleConfigs`: each module's configuration per tenant, secrets encrypted at rest.

Storage (``pytake.store``): a ``modules`` row per module PyTake has registered (name, version,
manifest, the administrator's ``enabled`` switch) and a ``module_configurations`` row per
(module, ``tenant_key``). A row's ``config`` holds the plain fields as JSON; the fields the
manifest marks ``secret`` are encrypted together with a `SecretBox` into
``secrets_encrypted``, bound to that module and tenant. Only the fields an administrator set
are stored: defaults come from the manifest when the configuration is loaded, so a module
upgrade that changes a default applies to every configuration that did not override it.

What callers may rely on:

- `ModuleConfigs.load` gives the configuration a call needs: validated, defaults filled in,
  secrets decrypted. It raises `ModuleConfigError` if there is none (and the module has
  required fields), if it no longer matches the manifest, or if its secrets were encrypted
  with a different ``PYTAKE_SECRET_KEY`` (the message says exactly that).
- `ModuleConfigs.get` and `ModuleConfigs.list` never return a secret: a secret that is set
  reads ``"***"``. Saving ``"***"`` back keeps the stored secret, so an edit form can round-
  trip a listing.
- Nothing here logs a configuration.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import attrs
import trio

from pytake.errors import ModuleConfigError
from pytake.modules._contract import MASK, Manifest
from pytake.modules._registry import ModuleRegistry
from pytake.modules._repo import (
    ConfigRow,
    config_row,
    config_rows,
    delete_config,
    module_enabled,
    save_config,
    set_module_enabled,
    sync_module_records,
)
from pytake.modules._secrets import SecretBox
from pytake.store import Database

__all__ = ["DEFAULT_TENANT", "TENANT_KEY", "ConfigView", "ModuleConfigs", "secrets_context"]

#: The tenant of a deployment that has only one (a single business number).
DEFAULT_TENANT: Final = "default"
#: What a tenant key given by an administrator may look like (a business phone number id,
#: ``default``, a name).
TENANT_KEY: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
K = TypeVar("K")
V = TypeVar("V")

#: Seconds `ModuleConfigs.load` reuses a configuration it read.
CONFIG_TTL: Final = 5.0


@attrs.frozen(kw_only=True)
class ConfigView:
    """A stored configuration as listings show it: secrets masked (``"***"``)."""

    module: str
    tenant_key: str
    #: The fields an administrator set, secrets masked.
    config: dict[str, Any]
    #: Names of the secret fields that are set.
    secrets_set: tuple[str, ...]
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        """As the REST API and ``pytake modules --json`` show it."""
        return {
            "module": self.module,
            "tenant": self.tenant_key,
            "config": self.config,
            "secrets_set": list(self.secrets_set),
            "updated_at": self.updated_at.astimezone(UTC).isoformat(),
        }


def secrets_context(module: str, tenant_key: str) -> str:
    """What a configuration's sealed secrets are bound to (its module and tenant)."""
    return f"module_configurations/{module}/{tenant_key}"


class ModuleConfigs:
    """Module configurations in ``database``, for the modules of ``registry``.

    ``secrets`` encrypts secret fields; it may be ``None`` (no ``PYTAKE_SECRET_KEY``) as long
    as no configuration has secrets: storing or loading one then raises `ModuleConfigError`
    saying that the key is not set.
    """

    def __init__(
        self, database: Database, registry: ModuleRegistry, secrets: SecretBox | None
    ) -> None:
        self._db = database
        self._registry = registry
        self._box = secrets
        # (module, tenant) -> (good until, configuration or the error loading it gave)
        self._loaded: dict[tuple[str, str], tuple[float, dict[str, Any] | ModuleConfigError]] = {}
        self._switches: dict[str, tuple[float, bool]] = {}  # module -> (good until, enabled)
        # Bumped after every change made here, so a read that started before it is not cached.
        self._generation: dict[str, int] = {}

    async def _reused(
        self, cache: dict[K, tuple[float, V]], key: K, module: str,
        read: Callable[[], Awaitable[V]],
    ) -> V:
        """``read()``'s value, kept in ``cache`` for `CONFIG_TTL` seconds unless a change to
        ``module`` was made here while it was read."""
        now = trio.current_time()
        hit = cache.get(key)
        if hit is None or hit[0] <= now:
            generation = self._generation.get(module, 0)
            hit = (now + CONFIG_TTL, await read())
            if self._generation.get(module, 0) == generation:
                cache[key] = hit
        return hit[1]

    def _forget(self, module: str) -> None:
        self._generation[module] = self._generation.get(module, 0) + 1
        self._switches.pop(module, None)
        for key in [k for k in self._loaded if k[0] == module]:
            del self._loaded[key]

    def _manifest(self, module: str) -> Manifest:
        return self._registry.get(module).manifest

    def _require_box(self, module: str, tenant_key: str) -> SecretBox:
        if self._box is None:
            raise ModuleConfigError(
                f"{module}/{tenant_key}: PYTAKE_SECRET_KEY is not set, so the module's "
                "secrets cannot be encrypted or read; set it (at least 32 bytes, the same on "
                "every node)",
                module=module,
            )
        return self._box

    # -- the modules table --------------------------------------------------------------------

    async def sync_records(self) -> None:
        """Record every registered module (name, version, manifest) in the ``modules`` table.

        New modules start enabled; the ``enabled`` switch of known ones is kept.
        """
        rows = [
            {"name": m.name, "version": m.version, "manifest": m.manifest.to_json()}
            for m in self._registry
        ]
        if rows:
            await self._db.run(sync_module_records, rows)

    async def set_enabled(self, module: str, enabled: bool) -> None:
        """Turn the administrator's switch of ``module`` on or off (off: flows calling it
        take their ``error`` edge)."""
        manifest = self._manifest(module)
        version = self._registry.get(module).version
        await self._db.run(set_module_enabled, module, version, manifest.to_json(), enabled)
        self._forget(module)

    async def is_enabled(self, module: str) -> bool:
        """Whether flows may call ``module``: true unless an administrator switched it off.
        Reused for `CONFIG_TTL` seconds, as configurations are."""
        async def read() -> bool:
            return await self._db.run(module_enabled, module, readonly=True)

        return await self._reused(self._switches, module, module, read)

    # -- configurations -----------------------------------------------------------------------

    async def save(
        self, module: str, config: Mapping[str, Any], *, tenant_key: str = DEFAULT_TENANT
    ) -> ConfigView:
        """Store ``config`` as the whole configuration of ``module`` for ``tenant_key``.

        It is validated first (`ModuleConfigError` naming the field). A secret given as
        ``"***"`` keeps the value stored before; ``None`` leaves a field unset.
        """
        manifest = self._manifest(module)
        given = {k: v for k, v in config.items() if v is not None}
        kept = [k for k in manifest.secret_fields if given.get(k) == MASK]
        if kept:
            stored = await self._stored_secrets(module, tenant_key)
            for key in kept:
                if key in stored:
                    given[key] = stored[key]
                else:
                    raise ModuleConfigError(
                        f"{module}/{tenant_key}: secret field {key!r} is masked ('***') but "
                        "no value is stored for it",
                        module=module,
                        field=key,
                    )
        manifest.validate_config(given, module=module)
        plain, secret = manifest.split_secrets(given)
        blob: bytes | None = None
        if secret:
            box = self._require_box(module, tenant_key)
            blob = box.encrypt_json(secret, context=secrets_context(module, tenant_key))
        version = self._registry.get(module).version
        updated_at = await self._db.run(
            save_config, module, version, manifest.to_json(), tenant_key, plain, blob
        )
        self._forget(module)
        return ConfigView(
            module=module,
            tenant_key=tenant_key,
            config=manifest.mask(given),
            secrets_set=tuple(sorted(secret)),
            updated_at=updated_at,
        )

    async def update(
        self, module: str, changes: Mapping[str, Any], *, tenant_key: str = DEFAULT_TENANT
    ) -> ConfigView:
        """Change some fields of the stored configuration (``None`` unsets a field) and store
        the result, validated; starts from an empty configuration if there is none."""
        current = await self._stored(module, tenant_key)
        merged = dict(current)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            elif not (value == MASK and key in self._manifest(module).secret_fields):
                merged[key] = value
        return await self.save(module, merged, tenant_key=tenant_key)

    async def load(self, module: str, *, tenant_key: str = DEFAULT_TENANT) -> dict[str, Any]:
        """The configuration a call of ``module`` gets: validated, with defaults, secrets in
        clear. Keep it out of logs.

        Reused for `CONFIG_TTL` seconds (a database read and a decryption per module call
        cost more than most calls): a change made through this object applies at once, one
        made on another node within that time."""
        async def read() -> dict[str, Any] | ModuleConfigError:
            try:
                return await self._load(module, tenant_key)
            except ModuleConfigError as exc:
                return exc  # reused too: raised afresh below

        found = await self._reused(self._loaded, (module, tenant_key), module, read)
        if isinstance(found, ModuleConfigError):
            raise ModuleConfigError(str(found), module=found.module, field=found.field)
        return copy.deepcopy(found)

    async def _load(self, module: str, tenant_key: str) -> dict[str, Any]:
        manifest = self._manifest(module)
        row = await self._db.run(config_row, module, tenant_key, readonly=True)
        if row is None:
            try:
                return manifest.validate_config({}, module=module)
            except ModuleConfigError as exc:
                raise ModuleConfigError(
                    f"{module}: no configuration is stored for tenant {tenant_key!r} "
                    f"({exc})",
                    module=module,
                    field=exc.field,
                ) from None
        values = {**row.config, **self._decrypt(module, tenant_key, row)}
        return manifest.validate_config(values, module=module)

    async def get(
        self, module: str, *, tenant_key: str = DEFAULT_TENANT
    ) -> ConfigView | None:
        """The stored configuration, secrets masked; ``None`` if there is none.

        Works without (or with the wrong) secret key too: every secret field then reads as set.
        """
        manifest = self._manifest(module)
        row = await self._db.run(config_row, module, tenant_key, readonly=True)
        return None if row is None else self._view(manifest, module, tenant_key, row)

    async def list(self, module: str | None = None) -> list[ConfigView]:
        """Every stored configuration (of ``module``, or of every registered module), secrets
        masked, by module and tenant."""
        rows = await self._db.run(config_rows, module, readonly=True)
        views = []
        for name, tenant_key, row in rows:
            if name not in self._registry:
                continue  # a module that is no longer installed
            views.append(self._view(self._manifest(name), name, tenant_key, row))
        return views

    async def delete(self, module: str, *, tenant_key: str = DEFAULT_TENANT) -> bool:
        """Remove the configuration; ``False`` if there was none."""
        deleted = await self._db.run(delete_config, module, tenant_key)
        self._forget(module)
        return deleted

    # -- helpers ------------------------------------------------------------------------------

    async def _stored(self, module: str, tenant_key: str) -> dict[str, Any]:
        row = await self._db.run(config_row, module, tenant_key, readonly=True)
        if row is None:
            return {}
        return {**row.config, **self._decrypt(module, tenant_key, row)}

    async def _stored_secrets(self, module: str, tenant_key: str) -> dict[str, Any]:
        row = await self._db.run(config_row, module, tenant_key, readonly=True)
        return {} if row is None else self._decrypt(module, tenant_key, row)

    def _decrypt(self, module: str, tenant_key: str, row: ConfigRow) -> dict[str, Any]:
        if row.secrets_encrypted is None:
            return {}
        box = self._require_box(module, tenant_key)
        try:
            value = box.decrypt_json(
                row.secrets_encrypted,
                context=secrets_context(module, tenant_key),
                what=f"the secrets of module configuration {module}/{tenant_key}",
            )
        except ModuleConfigError as exc:
            raise ModuleConfigError(str(exc), module=module) from None
        if not isinstance(value, dict):
            raise ModuleConfigError(
                f"the secrets of module configuration {module}/{tenant_key} are not an object",
                module=module,
            )
        return value

    def _view(self, manifest: Manifest, module: str, tenant_key: str, row: ConfigRow) -> ConfigView:
        secret_names: tuple[str, ...] = ()
        if row.secrets_encrypted is not None:
            # Which secrets are set is not secret (their values are): read the names from
            # the blob when the key allows, else show every secret field as set.
            try:
                secret_names = tuple(sorted(self._decrypt(module, tenant_key, row)))
            except ModuleConfigError:
                secret_names = tuple(sorted(manifest.secret_fields))
        config = dict(row.config)
        for name in secret_names:
            config[name] = MASK
        return ConfigView(
            module=module,
            tenant_key=tenant_key,
            config=config,
            secrets_set=secret_names,
            updated_at=row.updated_at,
        )


"""``pytake modules``: see the installed modules and configure them per tenant.

``pytake modules list`` prints every installed module (name, version, whether it is enabled,
its configuration fields and actions); ``show MODULE`` prints the configuration stored for a
tenant, secrets masked (``"***"``); ``configure MODULE --set KEY=VALUE ...`` changes it
(``--replace`` stores exactly what is given), reading secrets from stdin with ``--set-secret
KEY`` (or from an environment variable with ``--set-secret-env KEY=VAR``) so that they stay
out of shell history; ``remove MODULE`` deletes it; ``enable`` / ``disable`` flip the
administrator's switch. Secrets are encrypted with ``PYTAKE_SECRET_KEY``. See docs/modules.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import trio

from pytake.cli._common import (
    CommandError,
    add_actions,
    add_database_options,
    command_settings,
    run_on_database,
)

if TYPE_CHECKING:
    from types import TracebackType

    from pytake.cli._common import Subcommands
    from pytake.config import Settings
    from pytake.modules import ConfigView, Manifest, ModuleConfigs, ModuleLike, ModuleRegistry
    from pytake.store import Database

T = TypeVar("T")

_TEXT_TYPES: Final = ("string", "url")

_CONFIGURE_DESCRIPTION = """\
Change the configuration of MODULE for a tenant, validate it against the module's manifest and
store it (secret fields encrypted with PYTAKE_SECRET_KEY); print the result, secrets masked.

By default only the fields given change (the others stay as stored); with --replace what is
given becomes the whole configuration. VALUE is read as JSON when it parses (5, 2.5, true,
{"X-Tenant": "acme"}, null), else as text; for a text or URL field it is always the text.
null unsets a field; "***" for a secret keeps the stored one.

Secrets on the command line end up in shell history and in the process list: give them with
--set-secret KEY, which reads the value from one line of stdin (asked for without echo on a
terminal; several --set-secret read one line each, in order), or --set-secret-env KEY=VAR,
which reads the environment variable VAR:

  printf '%s\\n' "$TOKEN" | pytake modules configure rest_api --set-secret bearer_token
"""


def register(subcommands: Subcommands) -> None:
    actions = add_actions(
        subcommands, "modules", help="list installed modules and configure them",
        description="See the installed modules and configure them per tenant (a business "
        "phone number id, or 'default'); docs/modules.md, section Command line.",
    )
    listing = actions.add_parser(
        "list",
        help="list the installed modules, their configuration fields and actions",
        description="List every installed module: name, version, whether it is enabled, its "
        "configuration fields (which are required, which secret), its actions and the "
        "tenants it has a configuration for.",
    )
    listing.add_argument("--json", action="store_true", help="print the modules as JSON")

    show = actions.add_parser(
        "show",
        help="print a tenant's configuration of a module, secrets masked",
        description="Print the configuration stored for MODULE and the tenant, secrets "
        "masked ('***'); exit 1 if there is none.",
    )
    configure = actions.add_parser(
        "configure",
        help="set fields of a module's configuration (secrets from stdin)",
        description=_CONFIGURE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    given = configure.add_mutually_exclusive_group()
    given.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set field KEY to VALUE (repeatable)",
    )
    given.add_argument(
        "--file",
        metavar="JSON_FILE",
        help="take the fields from a JSON object in this file",
    )
    configure.add_argument(
        "--set-secret",
        action="append",
        default=[],
        metavar="KEY",
        help="set field KEY to one line read from stdin (repeatable, one line each)",
    )
    configure.add_argument(
        "--set-secret-env",
        action="append",
        default=[],
        metavar="KEY=VAR",
        help="set field KEY to the value of environment variable VAR (repeatable)",
    )
    configure.add_argument(
        "--replace",
        action="store_true",
        help="store exactly the fields given, unsetting the others",
    )
    remove = actions.add_parser(
        "remove",
        help="delete a tenant's configuration of a module",
        description="Delete the configuration stored for MODULE and the tenant; exit 1 if "
        "there is none.",
    )
    enable = actions.add_parser(
        "enable",
        help="turn a module's switch on",
        description="Turn the administrator's switch of MODULE on.",
    )
    disable = actions.add_parser(
        "disable",
        help="turn a module's switch off",
        description="Turn the administrator's switch of MODULE off.",
    )
    for action in (show, configure, remove, enable, disable):
        action.add_argument("module", metavar="MODULE", help="the module's name (rest_api)")
    for action in (show, configure, remove):
        action.add_argument(
            "--tenant",
            help="whose configuration: a business phone number id, or 'default' (the "
            "default) for every number without its own",
        )
    for action in (show, configure):
        action.add_argument(
            "--json", action="store_true", help="print the configuration as JSON"
        )
    for action in (listing, show, configure, remove, enable, disable):
        add_database_options(action)
    listing.set_defaults(handler=run_list)
    show.set_defaults(handler=run_show)
    configure.set_defaults(handler=run_configure)
    remove.set_defaults(handler=run_remove)
    enable.set_defaults(handler=run_enable)
    disable.set_defaults(handler=run_disable)


# --- the modules and the database ----------------------------------------------------------


class _Modules:
    """The settings, the installed modules, and a way to work on their configurations.

    A context manager: the registry is closed at the end.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from pytake.modules import ModuleRegistry

        self.settings: Settings = command_settings(args)
        self.registry: ModuleRegistry = ModuleRegistry.discover()
        for skipped in self.registry.skipped:
            print(f"pytake: module skipped: {skipped.entry_point}: {skipped.reason}",
                  file=sys.stderr)

    def __enter__(self) -> _Modules:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        trio.run(self.registry.aclose)

    def module(self, name: str) -> ModuleLike:
        """The installed module ``name``; a `CommandError` listing the installed ones if none."""
        if name not in self.registry:
            installed = ", ".join(self.registry.names()) or "none"
            raise CommandError(f"unknown module {name!r} (installed modules: {installed})")
        return self.registry.get(name)

    def run(self, work: Callable[[ModuleConfigs], Awaitable[T]], *, write: bool) -> T:
        """``await work(configs)`` against the database.

        A command that writes migrates the database first if it is behind (as ``pytake db
        upgrade`` would); one that only reads asks for that instead.
        """
        from pytake.modules import ModuleConfigs, SecretBox

        key = self.settings.secret_key_list

        def configs(db: Database) -> Awaitable[T]:
            return work(ModuleConfigs(db, self.registry, SecretBox(key) if key else None))

        return run_on_database(self.settings.database_url, configs, write=write)


def _tenant(args: argparse.Namespace) -> str:
    # Imported here: pytake.modules is heavy, and --help does not need it.
    from pytake.modules import DEFAULT_TENANT, TENANT_KEY

    tenant: str = DEFAULT_TENANT if args.tenant is None else args.tenant
    if not TENANT_KEY.match(tenant):
        raise CommandError(
            f"--tenant: {tenant!r} is not a tenant key (1 to 100 letters, digits or . _ : -)"
        )
    return tenant


# --- output --------------------------------------------------------------------------------


def _print_view(view: ConfigView, as_json: bool) -> None:
    if as_json:
        print(json.dumps(view.to_json(), ensure_ascii=False, indent=2))
        return
    print(f"module:  {view.module}")
    print(f"tenant:  {view.tenant_key}")
    print(f"updated: {view.to_json()['updated_at']}")
    print(f"secrets: {', '.join(view.secrets_set) or 'none set'}")
    if not view.config:
        print("config:  (empty: every field has its default)")
        return
    print("config:")
    width = max(len(key) for key in view.config)
    for key, value in view.config.items():
        print(f"  {key.ljust(width)}  {json.dumps(value, ensure_ascii=False)}")


def _field_notes(field: Any) -> str:
    notes = [field.type]
    if field.required:
        notes.append("required")
    if field.secret:
        notes.append("secret")
    if field.default is not None:
        notes.append(f"default {json.dumps(field.default, ensure_ascii=False)}")
    if field.choices:
        notes.append(f"one of {'|'.join(field.choices)}")
    return ", ".join(notes)


def _print_module(item: dict[str, Any], manifest: Manifest) -> None:
    print(f"{item['name']}  {item['version']}  enabled: {'yes' if item['enabled'] else 'no'}")
    if manifest.description:
        print(f"  {manifest.description}")
    if manifest.config:
        print("  configuration:")
        width = max(len(f.name) for f in manifest.config)
        for field in manifest.config:
            about = f" - {field.description}" if field.description else ""
            print(f"    {field.name.ljust(width)}  ({_field_notes(field)}){about}")
    else:
        print("  configuration: none")
    print("  actions:")
    width = max(len(a.name) for a in manifest.actions)
    for action in manifest.actions:
        about = f"{action.description} " if action.description else ""
        print(f"    {action.name.ljust(width)}  {about}(outcomes: {', '.join(action.outcomes)})")
    if manifest.permissions:
        print(f"  permissions: {', '.join(manifest.permissions)}")
    print(f"  configured for: {', '.join(item['tenants']) or 'no tenant'}")


# --- commands ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    with _Modules(args) as modules:

        async def gather(configs: ModuleConfigs) -> list[dict[str, Any]]:
            tenants: dict[str, list[str]] = {}
            for view in await configs.list():
                tenants.setdefault(view.module, []).append(view.tenant_key)
            return [
                {
                    "name": module.name,
                    "version": module.version,
                    "enabled": await configs.is_enabled(module.name),
                    "tenants": tenants.get(module.name, []),
                    "manifest": module.manifest.to_json(),
                }
                for module in modules.registry
            ]

        items = modules.run(gather, write=False)
        if args.json:
            skipped = [
                {"entry_point": s.entry_point, "distribution": s.distribution, "reason": s.reason}
                for s in modules.registry.skipped
            ]
            print(json.dumps({"modules": items, "skipped": skipped}, ensure_ascii=False,
                             indent=2))
            return 0
        if not items:
            print("pytake: no module is installed")
            return 0
        for index, item in enumerate(items):
            if index:
                print()
            _print_module(item, modules.registry.get(item["name"]).manifest)
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _Modules(args) as modules:
        name = modules.module(args.module).name
        tenant = _tenant(args)

        async def fetch(configs: ModuleConfigs) -> ConfigView | None:
            return await configs.get(name, tenant_key=tenant)

        view = modules.run(fetch, write=False)
    if view is None:
        raise CommandError(
            f"no configuration of module {name} is stored for tenant {tenant!r}; "
            f"set one with 'pytake modules configure {name} --tenant {tenant} --set KEY=VALUE'"
        )
    if view.secrets_set and not modules.settings.secret_key_list:
        print("pytake: note: PYTAKE_SECRET_KEY is not set, so every secret field reads as set",
              file=sys.stderr)
    _print_view(view, args.json)
    return 0


def _pair(option: str, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise CommandError(f"{option} expects KEY=VALUE, got {text!r}")
    return key.strip(), value


def _parse_value(manifest: Manifest, key: str, text: str) -> Any:
    """``text`` as JSON when it parses, else as text; a text or URL field keeps the text
    (``--set api_key_header=123`` means the string ``"123"``), ``null`` aside."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    field = next((f for f in manifest.config if f.name == key), None)
    if field is not None and field.type in _TEXT_TYPES and not isinstance(value, str | None):
        return text
    return value


def _secret_value(manifest: Manifest, key: str, text: str) -> Any:
    """A secret as given: the text itself for a text field, JSON for an object field."""
    field = next((f for f in manifest.config if f.name == key), None)
    if field is None or field.type in _TEXT_TYPES:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text  # the manifest's validation says what is wrong, without echoing it


def _read_secret(key: str) -> str:
    if sys.stdin is None:
        raise CommandError(f"--set-secret {key}: no stdin to read the value from")
    if sys.stdin.isatty():
        value = getpass.getpass(f"{key}: ")
    else:
        value = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not value:
        raise CommandError(f"--set-secret {key}: no value on stdin (one line per --set-secret)")
    return value


def _changes(args: argparse.Namespace, manifest: Manifest) -> dict[str, Any]:
    """The fields the options give, in order; a field given twice is refused."""
    changes: dict[str, Any] = {}

    def put(key: str, value: Any, option: str) -> None:
        if key in changes:
            raise CommandError(f"{option}: field {key!r} is given more than once")
        changes[key] = value

    if args.file is not None:
        from pytake.cli._flows import _read

        document, unreadable = _read(Path(args.file))
        if unreadable is not None:
            raise CommandError(f"{args.file}: {unreadable}")
        if not isinstance(document, dict):
            raise CommandError(f"{args.file}: expected a JSON object of configuration fields")
        for key, value in document.items():
            put(key, value, args.file)
    for text in args.set:
        key, raw = _pair("--set", text)
        value = _parse_value(manifest, key, raw)
        if key in manifest.secret_fields and value not in (None, "", "***"):
            print(f"pytake: warning: --set {key} puts a secret on the command line (shell "
                  "history, process list); prefer --set-secret", file=sys.stderr)
        put(key, value, "--set")
    for text in args.set_secret_env:
        key, variable = _pair("--set-secret-env", text)
        found = os.environ.get(variable.strip())
        if not found:
            raise CommandError(f"--set-secret-env {key}: environment variable "
                               f"{variable.strip()!r} is not set or empty")
        put(key, _secret_value(manifest, key, found), "--set-secret-env")
    for key in args.set_secret:
        if not key or "=" in key:
            raise CommandError(f"--set-secret takes a field name (the value comes from "
                               f"stdin), got {key!r}")
        put(key, _secret_value(manifest, key, _read_secret(key)), "--set-secret")
    return changes


def run_configure(args: argparse.Namespace) -> int:
    with _Modules(args) as modules:
        module = modules.module(args.module)
        tenant = _tenant(args)
        if not (args.set or args.file or args.set_secret or args.set_secret_env):
            raise CommandError(
                "nothing to configure: give --set KEY=VALUE, --file JSON_FILE, --set-secret "
                f"KEY or --set-secret-env KEY=VAR (fields of {module.name}: "
                f"{', '.join(f.name for f in module.manifest.config) or 'none'})"
            )
        # Read and checked before the database is touched, so a typo costs nothing.
        changes = _changes(args, module.manifest)

        async def store(configs: ModuleConfigs) -> ConfigView:
            if args.replace:
                return await configs.save(module.name, changes, tenant_key=tenant)
            return await configs.update(module.name, changes, tenant_key=tenant)

        # A ModuleConfigError (a field at fault, no PYTAKE_SECRET_KEY for a secret) is reported
        # in one line with its message, which names the field and never a secret's value.
        view = modules.run(store, write=True)
    how = "replaced" if args.replace else "updated"
    print(f"pytake: {how} the configuration of {view.module} for tenant {tenant!r}",
          file=sys.stderr)
    _print_view(view, args.json)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with _Modules(args) as modules:
        name = modules.module(args.module).name
        tenant = _tenant(args)

        async def delete(configs: ModuleConfigs) -> bool:
            return await configs.delete(name, tenant_key=tenant)

        removed = modules.run(delete, write=True)
    if not removed:
        raise CommandError(f"no configuration of module {name} is stored for tenant "
                           f"{tenant!r}; nothing was removed")
    print(f"pytake: removed the configuration of {name} for tenant {tenant!r}")
    return 0


def _switch(args: argparse.Namespace, on: bool) -> int:
    with _Modules(args) as modules:
        name = modules.module(args.module).name

        async def flip(configs: ModuleConfigs) -> None:
            await configs.set_enabled(name, on)

        modules.run(flip, write=True)
    print(f"pytake: module {name} {'enabled' if on else 'disabled'}")
    return 0


def run_enable(args: argparse.Namespace) -> int:
    return _switch(args, True)


def run_disable(args: argparse.Namespace) -> int:
    return _switch(args, False)

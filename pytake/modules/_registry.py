"""`ModuleRegistry`: the modules PyTake found, by name, and the flow node types they add.

Modules are found through the ``pytake.modules`` entry-point group: a package declares

.. code-block:: toml

    [project.entry-points."pytake.modules"]
    acme_erp = "acme_pytake.erp:ErpModule"

and, once installed next to PyTake, its module is there at the next start. The built-ins are
declared the same way in PyTake's own ``pyproject.toml``. An entry point names a module class
(instantiated without arguments), a zero-argument factory, or a module instance; its name must
be the module's ``name``.

A module that fails to import, to instantiate or to pass the checks (name, version,
manifest, an ``async execute``) is logged and skipped, and listed in `ModuleRegistry.skipped`:
one broken plugin never stops PyTake. When two entry points claim the same name, PyTake's own
wins over third parties, then the first by distribution name; the other is skipped.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final

import attrs

from pytake.errors import ModuleError, UnknownModule
from pytake.modules._contract import Manifest, ModuleLike, ModuleServices, Param, _check_name

__all__ = ["ENTRY_POINT_GROUP", "ModuleRegistry", "NodeType", "SkippedModule"]

log = logging.getLogger("pytake.modules")

#: The entry-point group modules are declared in.
ENTRY_POINT_GROUP: Final = "pytake.modules"
_OWN_DISTRIBUTION: Final = "pytake"


@attrs.frozen(kw_only=True)
class NodeType:
    """A flow node type contributed by a module action: ``type`` is ``<module>.<action>``.

    The flow validator accepts a node of this type when its fields match ``inputs``; the
    node's exits are ``outcomes`` (``error`` always among them); ``outputs`` are the
    variables it sets.
    """

    type: str
    module: str
    action: str
    version: str
    description: str
    inputs: tuple[Param, ...]
    outputs: tuple[Param, ...]
    outcomes: tuple[str, ...]
    idempotent: bool
    permissions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The node type as JSON (for the flow builder)."""
        return {
            "type": self.type,
            "module": self.module,
            "action": self.action,
            "version": self.version,
            "description": self.description,
            "inputs": [attrs.asdict(p) for p in self.inputs],
            "outputs": [attrs.asdict(p) for p in self.outputs],
            "outcomes": list(self.outcomes),
            "idempotent": self.idempotent,
            "permissions": list(self.permissions),
        }


@attrs.frozen(kw_only=True)
class SkippedModule:
    """An entry point that did not become a module, and why."""

    entry_point: str
    distribution: str | None
    reason: str


def check_module(module: object) -> ModuleLike:
    """``module`` if it keeps the contract; `ModuleError` saying what is wrong if not."""
    name = getattr(module, "name", None)
    if not isinstance(name, str):
        raise ModuleError(f"{module!r} has no string attribute 'name'")
    _check_name("module name", name)
    if not isinstance(getattr(module, "version", None), str) or not module.version:  # type: ignore[attr-defined]
        raise ModuleError(f"module {name!r} has no string attribute 'version'", module=name)
    if not isinstance(getattr(module, "manifest", None), Manifest):
        raise ModuleError(f"module {name!r}: 'manifest' is not a Manifest", module=name)
    if not inspect.iscoroutinefunction(getattr(module, "execute", None)):
        raise ModuleError(f"module {name!r}: 'execute' is not an async method", module=name)
    if not module.manifest.actions:  # type: ignore[attr-defined]
        raise ModuleError(f"module {name!r} declares no action", module=name)
    assert isinstance(module, ModuleLike)
    return module


def _instantiate(obj: object) -> object:
    if isinstance(obj, ModuleLike) and not isinstance(obj, type):
        return obj
    if callable(obj):
        return obj()
    raise ModuleError(f"{obj!r} is neither a module, a module class nor a factory")


def _distribution(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return None if dist is None else str(dist.name)


def _order(ep: EntryPoint) -> tuple[int, str, str]:
    dist = _distribution(ep) or ""
    return (0 if dist == _OWN_DISTRIBUTION else 1, dist, ep.name)


class ModuleRegistry:
    """Modules by name. Build it with `discover` (entry points) or from ``modules``.

    ``services`` is handed to each module's ``bind`` hook when it is registered. Close the
    registry with `aclose` (it closes every module that has an ``aclose``).
    """

    def __init__(
        self, modules: Iterable[object] = (), *, services: ModuleServices | None = None
    ) -> None:
        self.services = services if services is not None else ModuleServices()
        self._modules: dict[str, ModuleLike] = {}
        self._origins: dict[str, str] = {}
        self._skipped: list[SkippedModule] = []
        for module in modules:
            self.register(module)

    @classmethod
    def discover(
        cls,
        *,
        services: ModuleServices | None = None,
        entry_points: Iterable[EntryPoint] | None = None,
    ) -> ModuleRegistry:
        """A registry with every module declared in the ``pytake.modules`` entry-point group
        (or in ``entry_points``, for tests); broken ones are logged and skipped."""
        registry = cls(services=services)
        found = list(entry_points) if entry_points is not None else _group_entry_points()
        for ep in sorted(found, key=_order):
            registry._load(ep)
        return registry

    def _load(self, ep: EntryPoint) -> None:
        dist = _distribution(ep)
        label = f"{ep.name} = {ep.value}"
        try:
            module = check_module(_instantiate(ep.load()))
            if module.name != ep.name:
                raise ModuleError(
                    f"entry point name {ep.name!r} differs from the module's name "
                    f"{module.name!r}",
                    module=module.name,
                )
            self.register(module, origin=dist or "?")
        except Exception as exc:  # a third party's code: anything may go wrong in it
            known = isinstance(exc, ModuleError)
            reason = str(exc) if known else f"{type(exc).__name__}: {exc}"
            log.error(
                "module entry point %r from %s skipped: %s",
                label,
                dist or "an unknown distribution",
                reason,
                exc_info=not known,
            )
            self._skipped.append(SkippedModule(entry_point=label, distribution=dist, reason=reason))
            return
        log.info("module %s %s registered (from %s)", module.name, module.version, dist or "?")

    def register(self, module: object, *, origin: str = "code") -> None:
        """Add ``module``; `ModuleError` if it breaks the contract or its name is taken."""
        checked = check_module(module)
        if checked.name in self._modules:
            raise ModuleError(
                f"module name {checked.name!r} is already registered "
                f"(from {self._origins[checked.name]})",
                module=checked.name,
            )
        bind = getattr(checked, "bind", None)
        if callable(bind):
            bind(self.services)
        self._modules[checked.name] = checked
        self._origins[checked.name] = origin

    # -- lookups ------------------------------------------------------------------------------

    def get(self, name: str) -> ModuleLike:
        """The module called ``name``; `pytake.errors.UnknownModule` if there is none."""
        try:
            return self._modules[name]
        except KeyError:
            raise UnknownModule(name, list(self._modules)) from None

    def names(self) -> list[str]:
        """Registered module names, sorted."""
        return sorted(self._modules)

    @property
    def skipped(self) -> tuple[SkippedModule, ...]:
        """Entry points that were skipped by `discover`, with the reason."""
        return tuple(self._skipped)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __iter__(self) -> Iterator[ModuleLike]:
        return iter([self._modules[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._modules)

    def node_types(self) -> dict[str, NodeType]:
        """One node type per action of every module, by type name (``rest_api.call``)."""
        result: dict[str, NodeType] = {}
        for module in self:
            manifest = module.manifest
            for action in manifest.actions:
                node = NodeType(
                    type=f"{module.name}.{action.name}",
                    module=module.name,
                    action=action.name,
                    version=module.version,
                    description=action.description or manifest.description,
                    inputs=action.inputs,
                    outputs=action.outputs,
                    outcomes=action.outcomes,
                    idempotent=action.idempotent,
                    permissions=manifest.permissions,
                )
                result[node.type] = node
        return result

    def node_type(self, type_name: str) -> NodeType:
        """The node type ``<module>.<action>``; `ModuleError` (or `UnknownModule`) if none."""
        module_name, _, action = type_name.partition(".")
        module = self.get(module_name)
        module.manifest.action(action, module=module_name)
        return self.node_types()[type_name]

    async def aclose(self) -> None:
        """Close every module that has an ``aclose``; errors are logged, not raised."""
        for module in self._modules.values():
            close = getattr(module, "aclose", None)
            if close is None:
                continue
            try:
                await close()
            except Exception:
                log.exception("module %s failed to close", module.name)


def _group_entry_points() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))

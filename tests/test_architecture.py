"""The package's shape, as ``pytake/__init__.py`` and ``pytake/errors.py`` describe it: layers
that only import downwards, public faces between packages, and one exception tree."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import pytake
from pytake.errors import PyTakeError

ROOT = Path(pytake.__file__).parent


def layers() -> list[set[str]]:
    """The layers written in ``pytake/__init__.py``'s docstring, bottom up."""
    doc = pytake.__doc__ or ""
    # A bullet (and its continuation lines) names its layer's packages before its colon.
    bullets = re.findall(r"^- (``pytake\..*?)(?=^- |^\s*$)", doc, re.M | re.S)
    found = [set(re.findall(r"``pytake\.(\w+)``", b.split(":", 1)[0])) for b in bullets]
    assert found, "pytake/__init__.py lists no layers"
    return found


def _package(module: str) -> str:
    """``pytake.store._bulk`` -> ``store``."""
    return module.split(".")[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every pytake import in ``path``, also inside functions and
    ``TYPE_CHECKING`` blocks: a layer is a promise about the code, not about run time."""
    module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("pytake.") or target == "pytake":
                names = [f"{target}.{a.name}" for a in node.names]
                found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("pytake")]
    return found


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def edges() -> list[tuple[str, int, str]]:
    """(file, line, imported module) of every import from one top-level package (or module)
    of pytake into another."""
    out = []
    for path in _sources():
        rel = path.relative_to(ROOT)
        if len(rel.parts) == 1 and rel.name in ("__init__.py", "__main__.py"):
            continue
        own = rel.parts[0].removesuffix(".py")
        for line, target in _imports(path):
            parts = target.split(".")
            if len(parts) < 2 or parts[1].startswith("__"):  # pytake.__version__
                continue
            if parts[1] != own:
                out.append((str(rel), line, target))
    return out


def layer_of(name: str, table: list[set[str]]) -> int:
    for index, layer in enumerate(table):
        if name in layer:
            return index
    raise AssertionError(f"pytake.{name} is in no layer of pytake/__init__.py")


def test_every_package_is_in_a_layer() -> None:
    table = layers()
    for path in ROOT.iterdir():
        name = path.name.removesuffix(".py")
        if name.startswith("__") or (path.is_dir() and not (path / "__init__.py").exists()):
            continue
        layer_of(name, table)


def test_imports_only_run_down_the_layers() -> None:
    table = layers()
    back = []
    for file, line, target in edges():
        own, other = file.split("/")[0].removesuffix(".py"), target.split(".")[1]
        if layer_of(other, table) >= layer_of(own, table):
            back.append(f"{file}:{line} imports {target} "
                        f"(layer {layer_of(other, table)} from layer {layer_of(own, table)})")
    assert back == []


def test_no_package_imports_another_packages_private_modules() -> None:
    private = [f"{file}:{line} imports {target}" for file, line, target in edges()
               if any(p.startswith("_") and not p.startswith("__")
                      for p in target.split(".")[2:-1])]
    assert private == []


def test_a_back_edge_is_caught(tmp_path: Path) -> None:
    # The check itself must be able to fail: store importing conversations is a back edge.
    table = layers()
    assert layer_of("conversations", table) >= layer_of("store", table)


def _public_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(pytake.__path__, "pytake."):
        # The public faces: a module whose path has no underscore part.
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.endswith(".env") or ".migrations." in info.name:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if inspect.isclass(value) and issubclass(value, BaseException):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_public_exception_is_a_pytake_error_drawn_in_the_tree() -> None:
    tree = (importlib.import_module("pytake.errors").__doc__ or "").split("```")[1]
    drawn = set(re.findall(r"[├└]── (\w+)", tree)) | {"PyTakeError"}
    exceptions = _public_exceptions()
    assert exceptions, "found no exception classes"
    outside = sorted(k for k, v in exceptions.items() if not issubclass(v, PyTakeError))
    undrawn = sorted(k for k, v in exceptions.items() if v.__name__ not in drawn)
    assert outside == [] and undrawn == []


@pytest.mark.parametrize("name", ["errors", "contracts", "whatsapp"])
def test_leaf_packages_import_nothing_above_them(name: str) -> None:
    table = layers()
    mine = layer_of(name, table)
    above = [target for file, _, target in edges()
             if file.split("/")[0].removesuffix(".py") == name
             and layer_of(target.split(".")[1], table) >= mine]
    assert above == []


#: A comparison of database dialects or backends, the kind that belongs in store/_dialect.py.
_DIALECT_TEST = re.compile(
    r"dialect\.name|\.backend\s*[!=]=|[!=]=\s*[\"'](postgresql|sqlite)[\"']"
)


def dialect_branches(sources: list[Path]) -> list[str]:
    """``file:line`` of every dialect comparison in ``sources`` outside ``pytake/store``."""
    found = []
    for path in sources:
        if path.is_relative_to(ROOT / "store"):
            continue
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _DIALECT_TEST.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_dialect_differences_live_in_the_store() -> None:
    assert dialect_branches(_sources()) == []


def test_a_dialect_branch_elsewhere_is_caught(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text('if session.get_bind().dialect.name == "postgresql":\n    pass\n')
    assert len(dialect_branches([stray])) == 1


#: What a module may take from SQLAlchemy without touching the database itself: the session's
#: type for annotations and the errors a caller may translate.
_SQLALCHEMY_NAMES_ANYWHERE = {"sqlalchemy.orm.Session", "sqlalchemy.exc"}
#: Calls on a session (or connection) that read or write rows.
_DATABASE_CALLS = {"execute", "scalar", "scalars", "get", "add", "add_all", "delete", "flush",
                   "merge", "refresh", "begin_nested"}


def _may_touch_the_database(path: Path) -> bool:
    """The store, and one ``_repo`` module (or ``_repo/`` package) per domain package."""
    if not path.is_relative_to(ROOT):
        return path.stem == "_repo"
    rel = path.relative_to(ROOT)
    return rel.parts[0] == "store" or "_repo" in {p.removesuffix(".py") for p in rel.parts}


def database_access(sources: list[Path]) -> list[str]:
    """``file:line`` of every SQL statement built, or session call made, outside the store and
    the domain packages' ``_repo`` modules."""
    found = []
    for path in sources:
        if _may_touch_the_database(path):
            continue
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported = [f"{node.module}.{a.name}" for a in node.names]
            else:
                imported = []
            for full in imported:
                if full.split(".")[0] == "sqlalchemy" and not any(
                    full == allowed or full.startswith(allowed + ".")
                    for allowed in _SQLALCHEMY_NAMES_ANYWHERE
                ):
                    found.append(f"{name}:{node.lineno}: imports {full}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _DATABASE_CALLS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("session", "connection", "conn")):
                found.append(f"{name}:{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return found


def test_database_access_lives_in_the_store_and_the_repositories() -> None:
    assert database_access(_sources()) == []


def test_database_access_elsewhere_is_caught(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text("import sqlalchemy as sa\n\ndef f(session):\n"
                     "    return session.execute(sa.text('select 1'))\n")
    assert len(database_access([stray])) == 2

"""A wheel built from the checkout carries the built web app, and PyTake installed from it
serves that app (not the checkout's ``ui/dist``, which a user of the wheel does not have)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from pytake.web._app_files import find_app_dir

ROOT = Path(__file__).resolve().parent.parent


def test_a_wheel_carries_the_web_app_and_serves_it(tmp_path: Path) -> None:
    built = find_app_dir()
    assert built is not None, "the web app is not built: run `make ui` (make test builds it)"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                    "-w", str(tmp_path / "wheel")], check=True, timeout=300)
    (wheel,) = (tmp_path / "wheel").glob("pytake-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("pytake/web/app/index.html") == (built / "index.html").read_bytes()
    assets = {f"pytake/web/app/{p.relative_to(built).as_posix()}"
              for p in built.rglob("*") if p.is_file() and p.name != ".stamp"}
    assert assets <= names, sorted(assets - names)
    assert not [n for n in names if n.startswith(("ui/", "pytake/web/app/.stamp"))]

    # Installed from the wheel, away from the checkout: the app is the wheel's.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(wheel)], check=True, timeout=300)
    found = subprocess.run(
        [sys.executable, "-c", "import pytake.web._app_files as f; print(f.find_app_dir())"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True,
        text=True, check=True, timeout=60)
    assert Path(found.stdout.strip()) == site / "pytake" / "web" / "app"

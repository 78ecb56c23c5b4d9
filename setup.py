"""Builds carry the web app: ``ui/dist`` (``make ui``) is copied into the package as
``pytake/web/app``, where ``pytake serve`` looks for it, so a wheel serves the app without
the checkout. Everything else about the package is in ``pyproject.toml``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUILT_APP = ROOT / "ui" / "dist"


class BuildWithApp(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves ui/dist from the checkout itself
        target = Path(self.build_lib) / "pytake" / "web" / "app"
        if (BUILT_APP / "index.html").is_file():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(BUILT_APP, target, ignore=shutil.ignore_patterns(".stamp"))
        else:
            print("warning: ui/dist is not built (`make ui`): this build has no web app",
                  file=sys.stderr)


setup(cmdclass={"build_py": BuildWithApp})

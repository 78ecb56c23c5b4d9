"""The web app's REST types come from the server's OpenAPI document: ``ui/openapi.json`` must
be the document the code serves today, and ``ui/src/lib/api/schema.d.ts`` is generated from it
(``npm run check:api`` in ``make test`` fails when that file is stale).  Print the document
again with ``.venv/bin/python -m tests.test_ui_api_types``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.web import create_app
from pytake.web._openapi import build_document

SAVED = Path(__file__).resolve().parent.parent / "ui" / "openapi.json"


def current_document() -> dict[str, Any]:
    # Building the app reads no database; the URL only has to be a valid one.
    url = f"sqlite:///{tempfile.gettempdir()}/pytake-openapi-document.db"
    settings = load_settings(environ={"PYTAKE_DATABASE_URL": url,
                                      "PYTAKE_SECRET_KEY": "d" * 48})
    return build_document(create_app(Engine(settings)))


def rendered(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_web_apps_copy_of_the_openapi_document_is_current() -> None:
    assert SAVED.read_text() == rendered(current_document()), (
        "ui/openapi.json differs from the API the server serves: run "
        "`.venv/bin/python -m tests.test_ui_api_types`, then `cd ui && npm run gen:api`")


if __name__ == "__main__":
    SAVED.write_text(rendered(current_document()))
    print(f"wrote {SAVED}")

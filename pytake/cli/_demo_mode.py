"""Demo mode's WhatsApp side, in one place: ``pytake serve --demo`` points PyTake at the Cloud
API stand-in with these settings, and ``pytake demo`` serves that stand-in and signs its
customers' webhooks with them, so the two agree without anyone typing a secret.

They are demo values, not secrets: demo mode never runs with a real access token
(``pytake serve --demo`` refuses when one is configured).
"""

from __future__ import annotations

import os
import sys
from typing import Final

#: The server ``make run`` serves, which ``pytake demo`` talks to by default.
DEMO_SERVER: Final = "http://127.0.0.1:8000"
#: The stand-in's port (``pytake demo --port``, ``pytake serve --demo-port``).
DEMO_STANDIN_PORT: Final = 8089
#: The Bearer token PyTake sends and the stand-in accepts.
DEMO_ACCESS_TOKEN: Final = "demo-token"
#: The app secret the simulated customers sign their webhooks with and PyTake checks.
DEMO_APP_SECRET: Final = "demo-secret"


def demo_api_base(port: int = DEMO_STANDIN_PORT) -> str:
    """The Cloud API base URL of the stand-in ``pytake demo`` serves on ``port``."""
    return f"http://127.0.0.1:{port}"


def demo_whatsapp_settings(port: int = DEMO_STANDIN_PORT) -> dict[str, object]:
    """The three WhatsApp settings demo mode replaces, as `pytake.config.load_settings`
    overrides."""
    return {
        "whatsapp_api_base": demo_api_base(port),
        "whatsapp_access_token": DEMO_ACCESS_TOKEN,
        "whatsapp_app_secret": DEMO_APP_SECRET,
    }


def pytake_command() -> str:
    """How the user ran ``pytake``, to name in advice: ``.venv/bin/pytake`` when run so from
    the current directory (``make run`` does), else ``pytake``."""
    invoked = sys.argv[0] if sys.argv else ""
    if os.path.basename(invoked) != "pytake" or "/" not in invoked:
        return "pytake"
    relative = os.path.relpath(invoked)
    return relative if not relative.startswith("..") else "pytake"

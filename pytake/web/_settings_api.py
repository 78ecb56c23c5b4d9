"""Runtime settings over REST (``settings:manage``: administrators).

- ``GET   /api/v1/settings``  the settings that may change live: value, default, overridden
- ``PATCH /api/v1/settings``  ``{"name": value, ...}``; ``null`` goes back to the default

Only `pytake.store.LIVE_SETTINGS` are shown or changed (none of them is a secret); the others
need a restart and answer 422 naming the setting, as does a value its validator refuses.  A
change applies on this node before the answer and on the others within a few seconds
(`pytake.store.RuntimeSettings`).
"""

from __future__ import annotations

from typing import Final

from quart import Blueprint, Response, jsonify

from pytake.errors import ConfigError
from pytake.store import LIVE_SETTINGS, RuntimeSettings
from pytake.web import _schemas as schemas
from pytake.web._auth_routes import acting
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import read_json_object

__all__ = ["create_settings_blueprint"]

MAX_BODY_BYTES: Final = 16 * 1024


def create_settings_blueprint(runtime: RuntimeSettings) -> Blueprint:
    """The runtime settings routes over ``runtime``."""
    bp = Blueprint("settings_api", __name__)

    @bp.errorhandler(ConfigError)
    async def invalid(exc: ConfigError) -> Response:
        return problem(422, str(exc), code="invalid", field=exc.key)

    def render() -> Response:
        return jsonify({"settings": runtime.values(), "live": list(LIVE_SETTINGS)})

    @bp.get("/api/v1/settings")
    @documented(response=schemas.SETTINGS)
    @requires(Permission.SETTINGS_MANAGE)
    async def get_settings() -> Response:
        return render()

    @bp.patch("/api/v1/settings")
    @documented(request=schemas.SETTINGS_CHANGE, response=schemas.SETTINGS)
    @requires(Permission.SETTINGS_MANAGE)
    async def change_settings() -> Response:
        body = await read_json_object(MAX_BODY_BYTES)
        await runtime.change(body, acting())
        return render()

    return bp

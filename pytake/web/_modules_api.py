"""Module administration over REST (admin only): what is installed, and each module's
configuration per tenant, secrets encrypted at rest and never shown.

- ``GET    /api/v1/modules``                              installed modules, manifests, switch
- ``POST   /api/v1/modules/<name>/enable`` / ``disable``  the administrator's switch
- ``GET    /api/v1/modules/<name>/configs``               every tenant's configuration
- ``GET    /api/v1/modules/<name>/configs/<tenant>``      one configuration (404 if none)
- ``PUT    /api/v1/modules/<name>/configs/<tenant>``      store the whole configuration
- ``PATCH  /api/v1/modules/<name>/configs/<tenant>``      change some fields (``null`` unsets)
- ``DELETE /api/v1/modules/<name>/configs/<tenant>``      remove it

A tenant is a business phone number id, or ``default`` for every number without its own.
Secrets read ``"***"``; sending ``"***"`` back keeps the stored secret, so an edit form can
round-trip what it was shown.  An invalid configuration is refused with 422 naming the field;
a secret field without ``PYTAKE_SECRET_KEY`` likewise, saying that the key is not set.
"""

from __future__ import annotations

from typing import Any, Final

from quart import Blueprint, Response, jsonify, request
from quart.typing import ResponseReturnValue

from pytake.errors import ModuleConfigError, UnknownModule
from pytake.modules import TENANT_KEY, ModuleConfigs, ModuleRegistry
from pytake.web import _schemas as schemas
from pytake.web._openapi import PAGE_QUERY, documented
from pytake.web._permissions import Permission, requires
from pytake.web._rest_support import keyed_page, read_json_object

__all__ = ["create_modules_blueprint"]

#: Largest configuration body accepted.
MAX_BODY_BYTES: Final = 64 * 1024


def _refuse(status: int, code: str, reason: str, **extra: Any) -> Response:
    response = jsonify({"error": reason, "code": code, **extra})
    response.status_code = status
    return response


def create_modules_blueprint(registry: ModuleRegistry, configs: ModuleConfigs) -> Blueprint:
    bp = Blueprint("modules", __name__)

    def known(name: str) -> Response | None:
        try:
            registry.get(name)
        except UnknownModule as exc:
            return _refuse(404, "not_found", str(exc))
        return None

    def bad_tenant(tenant: str) -> Response | None:
        if TENANT_KEY.match(tenant):
            return None
        return _refuse(400, "invalid", "tenant must be 1 to 100 letters, digits or . _ : -")

    def invalid(exc: ModuleConfigError) -> Response:
        return _refuse(422, "invalid", str(exc), field=exc.field)

    @bp.get("/api/v1/modules")
    @documented(query=PAGE_QUERY, response=schemas.MODULES)
    @requires(Permission.MODULES_MANAGE)
    async def list_modules() -> Response:
        """Installed modules by name, with their manifests and switches, a page at a time."""
        page, next_cursor = keyed_page(registry, lambda m: (m.name,))
        return jsonify({"next_cursor": next_cursor, "modules": [
            {
                "name": module.name,
                "version": module.version,
                "enabled": await configs.is_enabled(module.name),
                "manifest": module.manifest.to_json(),
            }
            for module in page
        ]})

    async def switch(name: str, on: bool) -> Response:
        if (refused := known(name)) is not None:
            return refused
        await configs.set_enabled(name, on)
        return jsonify({"name": name, "enabled": on})

    @bp.post("/api/v1/modules/<name>/enable")
    @documented(response=schemas.SWITCH, path=schemas.MODULE_PATH)
    @requires(Permission.MODULES_MANAGE)
    async def enable(name: str) -> Response:
        return await switch(name, True)

    @bp.post("/api/v1/modules/<name>/disable")
    @documented(response=schemas.SWITCH, path=schemas.MODULE_PATH)
    @requires(Permission.MODULES_MANAGE)
    async def disable(name: str) -> Response:
        return await switch(name, False)

    @bp.get("/api/v1/modules/<name>/configs")
    @documented(query=PAGE_QUERY, response=schemas.CONFIGS, path=schemas.MODULE_PATH)
    @requires(Permission.MODULES_MANAGE)
    async def list_configs(name: str) -> Response:
        """A module's configuration for every tenant, by tenant, a page at a time."""
        if (refused := known(name)) is not None:
            return refused
        views, next_cursor = keyed_page(await configs.list(name), lambda v: (v.tenant_key,))
        return jsonify({"configs": [v.to_json() for v in views], "next_cursor": next_cursor})

    @bp.get("/api/v1/modules/<name>/configs/<tenant>")
    @documented(response=schemas.CONFIG, path=schemas.MODULE_PATH)
    @requires(Permission.MODULES_MANAGE)
    async def get_config(name: str, tenant: str) -> Response:
        if (refused := known(name) or bad_tenant(tenant)) is not None:
            return refused
        view = await configs.get(name, tenant_key=tenant)
        if view is None:
            return _refuse(404, "not_found", f"no configuration of {name} for tenant {tenant!r}")
        return jsonify(view.to_json())

    @bp.route("/api/v1/modules/<name>/configs/<tenant>", methods=["PUT", "PATCH"])
    @documented(request=schemas.OBJECT, response=schemas.CONFIG, path=schemas.MODULE_PATH)
    @requires(Permission.MODULES_MANAGE)
    async def store_config(name: str, tenant: str) -> Response:
        """PUT stores the whole configuration, PATCH changes the fields given."""
        if (refused := known(name) or bad_tenant(tenant)) is not None:
            return refused
        body = await read_json_object(MAX_BODY_BYTES)
        store = configs.save if request.method == "PUT" else configs.update
        try:
            view = await store(name, body, tenant_key=tenant)
        except ModuleConfigError as exc:
            return invalid(exc)
        return jsonify(view.to_json())

    @bp.delete("/api/v1/modules/<name>/configs/<tenant>")
    @documented(status=204, path=schemas.MODULE_PATH)
    @requires(Permission.MODULES_MANAGE)
    async def delete_config(name: str, tenant: str) -> ResponseReturnValue:
        if (refused := known(name) or bad_tenant(tenant)) is not None:
            return refused
        if not await configs.delete(name, tenant_key=tenant):
            return _refuse(404, "not_found", f"no configuration of {name} for tenant {tenant!r}")
        return "", 204

    return bp

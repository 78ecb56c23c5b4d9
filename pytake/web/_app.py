"""The app factory, and serving the app on Hypercorn's trio worker."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import hypercorn.trio
import trio
from hypercorn.config import Config as HypercornConfig
from quart_trio import QuartTrio

from pytake.config import Settings
from pytake.web._agent_ws import create_agent_ws_blueprint
from pytake.web._app_files import create_app_files_blueprint, find_app_dir
from pytake.web._audit_api import create_audit_blueprint
from pytake.web._audit_trail import install_audit_trail
from pytake.web._auth_routes import create_auth_blueprint
from pytake.web._canned_api import create_canned_blueprint
from pytake.web._commands_api import create_commands_blueprint
from pytake.web._conversations_api import create_conversations_blueprint
from pytake.web._customers_api import create_customers_blueprint
from pytake.web._desk import AgentDesk
from pytake.web._errors import register_error_handlers
from pytake.web._flows_api import create_flows_blueprint
from pytake.web._headers import install_headers, with_hsts
from pytake.web._media_api import create_media_blueprint, uploads_allowed
from pytake.web._modules_api import create_modules_blueprint
from pytake.web._numbers_api import create_numbers_blueprint
from pytake.web._openapi import create_openapi_blueprint
from pytake.web._ops import OpsEngine, create_ops_blueprint
from pytake.web._ops_live import create_ops_live_blueprint
from pytake.web._ratelimit import install_rate_limits
from pytake.web._second_factor_api import create_second_factor_blueprint
from pytake.web._settings_api import create_settings_blueprint
from pytake.web._setup_api import SetupGate, create_setup_blueprint
from pytake.web._teams_api import create_teams_blueprint
from pytake.web._templates_api import create_templates_blueprint
from pytake.web._tls import tls_context
from pytake.web._users_api import create_users_blueprint
from pytake.web._webhook import PATH as WEBHOOK_PATH
from pytake.web._webhook import LeanRoutes, webhook_for
from pytake.web._webhooks_api import create_webhooks_blueprint

#: ``app.extensions`` key under which later blueprints find the engine.
ENGINE_EXTENSION = "pytake.engine"
#: Where `create_app` keeps the `SetupGate` (``pytake serve`` prints its code).
SETUP_EXTENSION = "pytake.setup"


def create_app(engine: OpsEngine) -> QuartTrio:
    """Build the web app around a (running or not yet running) engine.

    The app never starts or stops the engine: whoever owns the engine runs it beside the app
    (see ``pytake serve``), so the same app can be served in tests on an ephemeral port.
    """
    # No static folder until the front end is built: otherwise Quart serves /static/<path>.
    app = QuartTrio("pytake.web", static_folder=None)
    app.extensions[ENGINE_EXTENSION] = engine
    app.register_blueprint(create_ops_blueprint(engine))
    # The document walks the URL map when asked, so it lists blueprints registered later.
    app.register_blueprint(create_openapi_blueprint())
    register_error_handlers(app)
    settings = getattr(engine, "settings", None)
    install_headers(app, str(getattr(settings, "cors_origins", "")).split(","))
    install_rate_limits(app, engine)  # per address and user, by route class (docs/auth.md)
    identity = getattr(engine, "identity", None)
    if identity is not None:
        app.register_blueprint(create_auth_blueprint(identity))
        app.register_blueprint(
            create_users_blueprint(identity, getattr(engine, "sockets", None)))
        app.register_blueprint(create_second_factor_blueprint(identity))
        gate = SetupGate(str(getattr(settings, "setup_code", "") or ""))
        app.extensions[SETUP_EXTENSION] = gate
        app.register_blueprint(create_setup_blueprint(identity, gate))
        if getattr(engine, "agent_services", None) is not None:
            full: Any = engine
            desk = AgentDesk(full.router, full.conversations, full.teams,
                             full.agent_services.directory)
            install_audit_trail(app, full.db)
            app.register_blueprint(create_agent_ws_blueprint(full, desk))
            app.register_blueprint(create_conversations_blueprint(full.db))
            app.register_blueprint(create_commands_blueprint(desk, full.router))
            app.register_blueprint(create_flows_blueprint(
                full.db, full.flows, full.modules.node_types, full.modules,
            ))
            app.register_blueprint(create_teams_blueprint(
                full.db, on_team_changed=full.team_changed, presence=full.presence,
            ))
            app.register_blueprint(create_modules_blueprint(
                full.modules.registry, full.modules.configs,
            ))
            app.register_blueprint(create_numbers_blueprint(full.numbers))
            app.register_blueprint(create_settings_blueprint(full.runtime))
            app.register_blueprint(create_webhooks_blueprint(full.modules.registry))
            app.register_blueprint(create_canned_blueprint(full.db))
            app.register_blueprint(create_templates_blueprint(full.templates))
            app.register_blueprint(create_media_blueprint(full.db, full.media))
            app.register_blueprint(create_customers_blueprint(full.privacy))
            app.register_blueprint(create_audit_blueprint(full.db))
            app.register_blueprint(create_ops_live_blueprint(full.ops, full.identity))
            app.request_class = uploads_allowed(app.request_class)
    # Last: its catch-all path must not shadow a blueprint registered after it.
    app.register_blueprint(create_app_files_blueprint(
        find_app_dir(str(getattr(settings, "ui_dir", "") or ""))))
    if getattr(engine, "inbox", None) is not None:
        # The webhook is the hot path: served as raw ASGI in front of the framework.
        webhook = webhook_for(engine)
        lean = LeanRoutes(app.asgi_app, {WEBHOOK_PATH: webhook})  # type: ignore[arg-type]
        app.asgi_app = lean  # type: ignore[method-assign,assignment]
    # Outermost, so that every answer has it; only those served over TLS (`serve` with a
    # certificate), never over plain HTTP.
    hsts_max_age = getattr(settings, "hsts_max_age", None)
    app.asgi_app = with_hsts(  # type: ignore[method-assign,assignment]
        app.asgi_app,  # type: ignore[arg-type]
        Settings().hsts_max_age if hsts_max_age is None else int(hsts_max_age),
    )
    return app


async def serve(
    app: QuartTrio,
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    access_log: bool = True,
    certfile: str | None = None,
    keyfile: str | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns, then finish in-flight requests.

    With ``certfile`` and ``keyfile`` (PEM files, both or neither) the port speaks only TLS
    (HTTPS and WSS; `tls_context` says which versions), and a file that cannot be used
    raises `ConfigError` before anything listens.  ``task_status.started`` receives the URLs
    actually bound (useful with port 0), ``https://`` ones over TLS.
    """
    if (certfile is None) != (keyfile is None):
        raise ValueError("serve() takes certfile and keyfile together, or neither")
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    if certfile is not None and keyfile is not None:
        context = tls_context(certfile, keyfile)
        # The files make Hypercorn open TLS sockets; the context is ours, checked above.
        config.certfile, config.keyfile = certfile, keyfile
        config.create_ssl_context = lambda: context  # type: ignore[method-assign]
    # Route Hypercorn's logs through the standard logging set up by the CLI, instead of the
    # handlers Hypercorn would install on stdout/stderr by itself.
    # One log line per request costs the event loop a few percent under load; operators
    # get request counts and latencies from /metrics, and the lines with log_level=debug.
    config.accesslog = logging.getLogger("hypercorn.access") if access_log else None
    config.errorlog = logging.getLogger("hypercorn.error")
    # Don't advertise the server software to the internet.
    config.include_server_header = False
    # Hypercorn never closes the listening sockets it creates; keep them to close them, so
    # that a server stopped inside a long-lived process leaves no socket to the collector.
    created: list[Any] = []
    create_sockets = config.create_sockets

    def keep_sockets() -> Any:
        sockets = create_sockets()
        created.append(sockets)
        return sockets

    config.create_sockets = keep_sockets  # type: ignore[method-assign]
    try:
        await hypercorn.trio.serve(
            app,
            config,
            shutdown_trigger=shutdown_trigger,
            task_status=task_status,
        )
    finally:
        for sockets in created:
            for sock in (*sockets.secure_sockets, *sockets.insecure_sockets,
                         *sockets.quic_sockets):
                sock.close()

"""Module calls for running flows: the registry (entry points), stored configurations and
the runner, behind one call that always answers a `ModuleResult` (never raises)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

from ..errors import ModuleConfigError, UnknownModule
from ..httpclient import pooled_client
from ..modules import (
    DEFAULT_TENANT,
    ModuleConfigs,
    ModuleContext,
    ModuleRegistry,
    ModuleRunner,
    ModuleServices,
    PrometheusModuleMetrics,
    SecretBox,
)
from ..store import Database
from ._ports import ModuleResult

log = logging.getLogger("pytake.flows")


class ModuleCalls:
    """``await calls(module, action, inputs, timeout, context)`` for `FlowPorts`.

    Configurations are looked up for the business number (the tenant), then for the
    default tenant.  Without ``PYTAKE_SECRET_KEY`` a configuration with secrets can be neither
    stored nor read (the module call fails saying so); plain ones work.
    """

    def __init__(self, db: Database, secret_key: str | Sequence[str],
                 metrics_registry: Any = None) -> None:
        # One key, or the current one and older ones (the ``secret_key_list`` setting).
        self.box = SecretBox(secret_key) if secret_key else None
        # One pooled client for every module call and flow HTTP node: a new client costs
        # tens of milliseconds of CPU (it loads the CA bundle), more than the call itself.
        self.http = pooled_client(trust_env=False, timeout=30.0)
        self.registry = ModuleRegistry.discover(
            services=ModuleServices(database=db, secrets=self.box, http_client=self.http)
        )
        #: The configurations, also for the admin API and CLI: one object, so a change saved
        #: through it applies to the next call at once (it caches what it reads).
        self.configs = ModuleConfigs(db, self.registry, self.box)
        metrics = PrometheusModuleMetrics(metrics_registry) if metrics_registry else None
        self.runner = ModuleRunner(metrics=metrics)

    async def aclose(self) -> None:
        await self.http.aclose()

    def node_types(self) -> Any:
        return self.registry.node_types()

    def webhook_delivery(self) -> Callable[[Any], Awaitable[Any]] | None:
        """The outbound webhook module's ``deliver``, or ``None`` when it cannot run (not
        installed, or no ``PYTAKE_SECRET_KEY`` to read subscription secrets with)."""
        if self.box is None:
            return None
        try:
            module = self.registry.get("webhook")
        except UnknownModule:
            return None
        deliver: Callable[..., Awaitable[Any]] | None = getattr(module, "deliver", None)
        policy_from: Callable[[dict[str, Any]], Any] | None = getattr(
            module, "policy_from_config", None)
        if deliver is None or policy_from is None:
            return deliver
        configured_deliver = deliver

        async def deliver_with_policy(event: Any) -> Any:
            # The configuration's retries and timeout, read per event: an administrator's
            # change applies to the next event without a restart.
            try:
                config = await self.configs.load("webhook", tenant_key=DEFAULT_TENANT)
            except ModuleConfigError:
                config = {}
            return await configured_deliver(event, policy=policy_from(config))

        return deliver_with_policy

    async def _config(self, module: str, tenant: str) -> dict[str, Any]:
        try:
            return await self.configs.load(module, tenant_key=tenant)
        except ModuleConfigError:
            if tenant == DEFAULT_TENANT:
                raise
            return await self.configs.load(module, tenant_key=DEFAULT_TENANT)

    async def __call__(self, module: str, action: str, inputs: dict[str, Any],
                       timeout: float | None, context: dict[str, Any]) -> ModuleResult:
        try:
            found = self.registry.get(module)
            if not await self.configs.is_enabled(module):
                return ModuleResult("error", error=f"module {module} is disabled by an "
                                                   "administrator")
            config = await self._config(module, str(context.get("tenant") or DEFAULT_TENANT))
        except (UnknownModule, ModuleConfigError) as exc:
            return ModuleResult("error", error=str(exc))
        call = ModuleContext(
            action=action, inputs=inputs, config=config,
            customer=dict(context.get("customer") or {}),
            variables=dict(context.get("variables") or {}),
            conversation_id=context.get("conversation_id"),
            conversation_key=str(context.get("conversation") or ""),
            tenant_key=str(context.get("tenant") or DEFAULT_TENANT),
        )
        with trio.move_on_after(timeout if timeout is not None else float("inf")) as scope:
            response = await self.runner.call(found, call)
        if scope.cancelled_caught:
            return ModuleResult("error", error=f"{module}.{action} took longer than {timeout} s")
        return ModuleResult(response.outcome, dict(response.outputs),
                            tuple(dict(m) for m in response.messages), response.error or "")

"""Modules: plugins that flows call, found through entry points, run so that they cannot hurt.

How the package is layered, bottom up (import everything from here, never from its modules):

- ``_contract``  the contract, pure data: `Manifest` (configuration schema, actions with
                 inputs/outputs/outcomes, permissions), `ModuleContext`, `ModuleResponse`,
                 the `Module` base class
- ``_template``  dotted paths into JSON (``data.items.0.id``), placeholders in a module's own
                 configured templates (flow inputs arrive rendered by ``pytake.flows``)
- ``_registry``  `ModuleRegistry`: discovery from the ``pytake.modules`` entry-point group,
                 broken plugins skipped; one flow node type (`NodeType`) per action
- ``_secrets``   `SecretBox`: AES-256-GCM with keys derived from the secret keys
                 (``PYTAKE_SECRET_KEYS``), the current one sealing, any configured one reading
- ``_repo``      the SQL: ``modules`` and ``module_configurations`` rows, the ``webhook``
                 module's subscriptions and delivery log
- ``_configs``   `ModuleConfigs`: configurations per module and tenant in the database,
                 secret fields encrypted, masked in listings
- ``_runner``    `ModuleRunner`: timeout, retries where safe, a circuit breaker per module and
                 tenant; every failure is an ``error`` outcome, never an exception
- ``builtin``    the shipped modules: ``rest_api``, ``webhook``, ``crm_lookup``, ``boleto``
- ``_sealed``    `SEALED_COLUMNS`: every column of sealed secrets (configurations, number
                 tokens, TOTP keys, webhook secrets); `rotate_secrets` re-seals them all under
                 the current key (``pytake secrets rotate``), `count_key_ids` counts them
- ``sim``        local stand-ins for the APIs the built-ins call (tests, demos)

A flow executor's whole use of it::

    registry = ModuleRegistry.discover(services=ModuleServices(database=db, secrets=box))
    configs = ModuleConfigs(db, registry, box)
    runner = ModuleRunner(metrics=PrometheusModuleMetrics(prometheus_registry))

    module = registry.get("boleto")       # node types: registry.node_types()["boleto.second_copy"]
    config = await configs.load("boleto", tenant_key=phone_number_id)
    response = await runner.call(module, ModuleContext(action="second_copy", inputs=...,
                                 config=config, customer=..., variables=..., tenant_key=...))
    response.outcome, response.outputs, response.messages, response.customer_attributes

See docs/modules.md.
"""

from pytake.errors import ModuleConfigError, ModuleError, UnknownModule
from pytake.modules._configs import DEFAULT_TENANT, ConfigView, ModuleConfigs
from pytake.modules._contract import (
    ERROR,
    KNOWN_PERMISSIONS,
    MASK,
    NOT_FOUND,
    OK,
    VALUE_TYPES,
    Action,
    ConfigField,
    Manifest,
    Module,
    ModuleContext,
    ModuleLike,
    ModuleResponse,
    ModuleServices,
    Param,
    reply_document,
    reply_text,
)
from pytake.modules._registry import (
    ENTRY_POINT_GROUP,
    ModuleRegistry,
    NodeType,
    SkippedModule,
    check_module,
)
from pytake.modules._runner import (
    BreakerPolicy,
    CircuitBreaker,
    CircuitState,
    CountingMetrics,
    ModuleMetrics,
    ModuleRunner,
    NullMetrics,
    PrometheusModuleMetrics,
    RetryPolicy,
)
from pytake.modules._sealed import (
    SEALED_COLUMNS,
    SealedColumn,
    SealedCount,
    count_key_ids,
    rotate_secrets,
)
from pytake.modules._secrets import SecretBox
from pytake.modules._template import TemplateError, lookup, render

from ._configs import CONFIG_TTL, TENANT_KEY
from ._feed import EventFeed
from ._template import MISSING

__all__ = [
    "CONFIG_TTL",
    "DEFAULT_TENANT",
    "ENTRY_POINT_GROUP",
    "ERROR",
    "KNOWN_PERMISSIONS",
    "MASK",
    "MISSING",
    "NOT_FOUND",
    "OK",
    "SEALED_COLUMNS",
    "TENANT_KEY",
    "VALUE_TYPES",
    "Action",
    "BreakerPolicy",
    "CircuitBreaker",
    "CircuitState",
    "ConfigField",
    "ConfigView",
    "CountingMetrics",
    "EventFeed",
    "Manifest",
    "Module",
    "ModuleConfigError",
    "ModuleConfigs",
    "ModuleContext",
    "ModuleError",
    "ModuleLike",
    "ModuleMetrics",
    "ModuleRegistry",
    "ModuleResponse",
    "ModuleRunner",
    "ModuleServices",
    "NodeType",
    "NullMetrics",
    "Param",
    "PrometheusModuleMetrics",
    "RetryPolicy",
    "SealedColumn",
    "SealedCount",
    "SecretBox",
    "SkippedModule",
    "TemplateError",
    "UnknownModule",
    "check_module",
    "count_key_ids",
    "lookup",
    "render",
    "reply_document",
    "reply_text",
    "rotate_secrets",
]

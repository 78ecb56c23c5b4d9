"""The module system's core: the contract and manifests, discovery through entry points, the
placeholder renderer, and the runner's timeout, retries and circuit breaker on MockClock."""

from __future__ import annotations

import logging
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path
from random import Random
from typing import Any, ClassVar

import attrs
import pytest
import trio
from prometheus_client import CollectorRegistry

from pytake.errors import ModuleConfigError, ModuleError, UnknownModule
from pytake.modules import (
    ENTRY_POINT_GROUP,
    MASK,
    MISSING,
    NOT_FOUND,
    Action,
    BreakerPolicy,
    CircuitBreaker,
    CircuitState,
    ConfigField,
    CountingMetrics,
    Manifest,
    Module,
    ModuleContext,
    ModuleRegistry,
    ModuleResponse,
    ModuleRunner,
    Param,
    PrometheusModuleMetrics,
    RetryPolicy,
    TemplateError,
    lookup,
    render,
    reply_document,
    reply_text,
)
from pytake.supervisor import Backoff

BUILTINS = {"rest_api", "webhook", "crm_lookup", "boleto"}


# --- a module to drive the runner --------------------------------------------------------------


class ScriptedModule(Module):
    """Does what its script says, one step per call: ``ok``, ``not_found``, ``raise``,
    ``hang``, ``fail`` (transient), ``refuse`` (permanent), ``garbage``, ``undeclared``,
    ``leak`` (raises with the secret in the message), or a number of seconds to sleep."""

    name: ClassVar[str] = "scripted"
    version: ClassVar[str] = "1.0.0"
    manifest: ClassVar[Manifest] = Manifest(
        description="test double",
        config=(ConfigField(name="token", secret=True),),
        actions=(
            Action(
                name="get",
                inputs=(
                    Param(name="id", required=True),
                    Param(name="n", type="integer", default=1),
                ),
                outcomes=("ok", NOT_FOUND),
                idempotent=True,
            ),
            Action(name="post", idempotent=False),
            Action(name="quick", idempotent=True, timeout=2.0),
        ),
        permissions=("network:outbound",),
    )

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[float] = []
        self.contexts: list[ModuleContext] = []

    async def execute(self, context: ModuleContext) -> ModuleResponse:
        self.calls.append(trio.current_time())
        self.contexts.append(context)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, int | float):
            await trio.sleep(step)
            return ModuleResponse.success({"slept": step})
        if step == "ok":
            return ModuleResponse.success({"id": context.inputs.get("id")})
        if step == "not_found":
            return ModuleResponse.success(outcome=NOT_FOUND)
        if step == "raise":
            raise ConnectionError("upstream went away")
        if step == "leak":
            raise ValueError(f"bad token {context.config['token']}")
        if step == "hang":
            await trio.sleep_forever()
        if step == "fail":
            return ModuleResponse.failure("upstream answered 503")
        if step == "refuse":
            return ModuleResponse.failure("upstream answered 400", transient=False)
        if step == "garbage":
            return {"outcome": "ok"}  # type: ignore[return-value]
        if step == "undeclared":
            return ModuleResponse.success(outcome="maybe")
        raise AssertionError(step)


def ctx(action: str = "get", tenant: str = "default", **inputs: Any) -> ModuleContext:
    if action == "get":
        inputs.setdefault("id", "42")
    return ModuleContext(action=action, inputs=inputs, tenant_key=tenant,
                         config={"token": "s3cr3t-t0ken-value"})  # fmt: skip


def runner(**kwargs: Any) -> ModuleRunner:
    kwargs.setdefault(
        "retry", RetryPolicy(attempts=3, backoff=Backoff(initial=1.0, maximum=10.0, jitter=0))
    )
    kwargs.setdefault("breaker", BreakerPolicy(failure_threshold=3, cooldown=30.0))
    kwargs.setdefault("random", Random(7))
    return ModuleRunner(**kwargs)


# --- contract and manifest ---------------------------------------------------------------------


def test_manifest_validates_a_configuration_naming_the_field() -> None:
    manifest = Manifest(
        config=(
            ConfigField(name="base_url", type="url", required=True),
            ConfigField(name="api_key", secret=True),
            ConfigField(name="timeout", type="number", default=5.0),
            ConfigField(name="mode", choices=("a", "b"), default="a"),
        ),
        actions=(Action(name="go"),),
    )
    assert manifest.validate_config({"base_url": "https://x.test"}, module="m") == {
        "base_url": "https://x.test",
        "timeout": 5.0,
        "mode": "a",
    }
    cases = [
        ({}, "base_url", "configuration field 'base_url' is required"),
        ({"base_url": "ftp://x"}, "base_url", "must be an http:// or https:// URL"),
        ({"base_url": "https://x", "timeout": "9"}, "timeout", "must be a number, got '9'"),
        ({"base_url": "https://x", "timeout": True}, "timeout", "must be a number"),
        ({"base_url": "https://x", "mode": "c"}, "mode", "must be one of a, b, got 'c'"),
        ({"base_url": "https://x", "colour": 1}, "colour", "unknown configuration field"),
    ]
    for config, field, message in cases:
        with pytest.raises(ModuleConfigError) as info:
            manifest.validate_config(config, module="m")
        assert info.value.field == field
        assert message in str(info.value)
        assert str(info.value).startswith("m: ")
    # A secret of the wrong type is named, its value never echoed.
    with pytest.raises(ModuleConfigError) as info:
        manifest.validate_config({"base_url": "https://x", "api_key": 123456789}, module="m")
    assert info.value.field == "api_key"
    assert "123456789" not in str(info.value)


def test_manifest_splits_and_masks_secrets_and_round_trips_json() -> None:
    manifest = Manifest(
        config=(ConfigField(name="url"), ConfigField(name="token", secret=True)),
        actions=(Action(name="go", inputs=(Param(name="x", type="integer"),)),),
        permissions=("network:outbound",),
    )
    assert manifest.secret_fields == {"token"}
    assert manifest.split_secrets({"url": "u", "token": "t"}) == ({"url": "u"}, {"token": "t"})
    assert manifest.mask({"url": "u", "token": "t"}) == {"url": "u", "token": MASK}
    assert manifest.mask({"url": "u", "token": ""}) == {"url": "u", "token": ""}
    assert Manifest.from_json(manifest.to_json()) == manifest
    with pytest.raises(ModuleError, match="invalid manifest"):
        Manifest.from_json({"actions": [{"nom": "x"}]})


def test_manifests_refuse_bad_declarations() -> None:
    with pytest.raises(ModuleError, match="duplicate actions go"):
        Manifest(actions=(Action(name="go"), Action(name="go")))
    with pytest.raises(ModuleError, match="not a valid name"):
        Action(name="Go-Now")
    with pytest.raises(ModuleError, match="area:verb"):
        Manifest(actions=(Action(name="go"),), permissions=("everything",))
    with pytest.raises(ModuleError, match="type 'text' is not one of"):
        ConfigField(name="x", type="text")
    with pytest.raises(ModuleError, match="default must be an integer"):
        ConfigField(name="x", type="integer", default="1")
    with pytest.raises(ModuleError, match="duplicate inputs a"):
        Action(name="go", inputs=(Param(name="a"), Param(name="a")))
    # "error" is always an outcome.
    assert Action(name="go", outcomes=("ok", "not_found")).outcomes == ("ok", "not_found", "error")


def test_action_validates_inputs() -> None:
    action = ScriptedModule.manifest.action("get")
    assert action.validate_inputs({"id": "1"}) == {"id": "1", "n": 1}
    with pytest.raises(ModuleError) as info:
        action.validate_inputs({"n": "two", "extra": 1}, module="scripted")
    message = str(info.value)
    assert message.startswith("scripted.get: ")
    assert "unknown input 'extra'" in message
    assert "input 'id' is required" in message
    assert "input 'n' must be an integer" in message
    with pytest.raises(ModuleError, match="has no action 'delete' \\(actions: get, post, quick\\)"):
        ScriptedModule.manifest.action("delete", module="scripted")


def test_context_repr_never_shows_the_configuration() -> None:
    context = ctx()
    assert "s3cr3t" not in repr(context)
    assert context.call_id and context.call_id != ctx().call_id


def test_response_helpers() -> None:
    ok = ModuleResponse.success({"a": 1}, messages=[reply_text("hi")])
    assert ok.ok and not ok.failed and ok.messages == ({"type": "text", "text": "hi"},)
    failure = ModuleResponse.failure("down")
    assert failure.failed and failure.transient and failure.error == "down"
    assert reply_document("https://x/b.pdf", filename="b.pdf") == {
        "type": "document",
        "link": "https://x/b.pdf",
        "filename": "b.pdf",
    }
    with pytest.raises(ValueError):
        ModuleResponse.success(outcome="error")


# --- placeholders and paths --------------------------------------------------------------------


def test_lookup_walks_objects_and_lists() -> None:
    data = {"data": {"items": [{"id": 7}, {"id": 8}]}, "n": None}
    assert lookup(data, "data.items.0.id") == 7
    assert lookup(data, "data.items.-1.id") == 8
    assert lookup(data, "n") is None
    assert lookup(data, "") is data
    for path in ("data.items.2.id", "data.nope", "data.items.x", "n.deeper"):
        assert lookup(data, path) is MISSING


def test_render_is_strict_single_pass_and_escapes_values() -> None:
    scope = {"slip": {"amount": 12.5, "ok": True, "tags": ["a"]}, "who": "{{slip.amount}}"}
    assert render("R$ {{ slip.amount }} {{slip.ok}} {{slip.tags}}", scope) == 'R$ 12.5 true ["a"]'
    assert render("{{who}}", scope) == "{{slip.amount}}"  # inserted, never rendered again
    assert render("/c/{{who}}", scope, escape=lambda v: v.replace("{", "%7B")) == (
        "/c/%7B%7Bslip.amount}}"
    )
    with pytest.raises(TemplateError, match=r"\{\{slip.nope\}\} has no value"):
        render("{{slip.nope}}", scope)


# --- discovery ---------------------------------------------------------------------------------


class GreeterModule(Module):
    name: ClassVar[str] = "greeter"
    version: ClassVar[str] = "0.1"
    manifest: ClassVar[Manifest] = Manifest(
        actions=(Action(name="greet", outputs=(Param(name="greeting"),)),)
    )

    async def execute(self, context: ModuleContext) -> ModuleResponse:
        return ModuleResponse.success({"greeting": "hi"})


class NotAModule:
    name = "not_a_module"


class SyncModule(GreeterModule):
    name: ClassVar[str] = "sync_module"

    def execute(self, context: ModuleContext) -> ModuleResponse:  # type: ignore[override]
        return ModuleResponse.success()


def _ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_builtins_are_discovered_through_entry_points() -> None:
    registry = ModuleRegistry.discover()
    assert set(registry.names()) >= BUILTINS
    assert not [s for s in registry.skipped if s.entry_point.split(" = ")[0] in BUILTINS]
    types = registry.node_types()
    assert {"rest_api.call", "webhook.notify", "crm_lookup.lookup", "boleto.second_copy"} <= set(
        types
    )
    boleto = types["boleto.second_copy"]
    assert boleto.module == "boleto" and boleto.action == "second_copy"
    assert boleto.outcomes == ("ok", "not_found", "invalid_document", "error")
    assert [p.name for p in boleto.inputs] == ["cpf_cnpj"]
    assert {"digitable_line", "amount", "due_date", "pdf_url"} <= {p.name for p in boleto.outputs}
    assert boleto.to_json()["inputs"][0]["required"] is True
    assert registry.node_type("rest_api.call").idempotent
    with pytest.raises(ModuleError, match="has no action 'nope'"):
        registry.node_type("rest_api.nope")
    with pytest.raises(UnknownModule, match="unknown module 'erp' \\(known modules: boleto"):
        registry.get("erp")


def test_broken_entry_points_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    entry_points = [
        _ep("greeter", "tests.test_modules:GreeterModule"),
        _ep("missing_pkg", "no_such_package_for_pytake_tests:Module"),
        _ep("missing_attr", "tests.test_modules:DoesNotExist"),
        _ep("not_a_module", "tests.test_modules:NotAModule"),
        _ep("sync_module", "tests.test_modules:SyncModule"),
        _ep("other_name", "tests.test_modules:GreeterModule"),
        _ep("greeter", "tests.test_modules:GreeterModule"),  # a second claim on the name
    ]
    with caplog.at_level(logging.ERROR, logger="pytake.modules"):
        registry = ModuleRegistry.discover(entry_points=entry_points)
    assert registry.names() == ["greeter"]
    reasons = {s.entry_point.split(" = ")[0]: s.reason for s in registry.skipped}
    assert "ModuleNotFoundError" in reasons["missing_pkg"]
    assert "AttributeError" in reasons["missing_attr"]
    assert "has no string attribute 'version'" in reasons["not_a_module"]
    assert "'execute' is not an async method" in reasons["sync_module"]
    assert "differs from the module's name 'greeter'" in reasons["other_name"]
    assert "already registered" in reasons["greeter"]
    assert len(registry.skipped) == 6
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "missing_pkg" in logged and "skipped" in logged


def test_a_third_party_package_registers_through_its_own_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `pip install acme-pytake` leaves on sys.path: the package and its dist-info.
    package = tmp_path / "acme_pytake"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from pytake.modules import Action, Manifest, Module, ModuleResponse

            class ErpModule(Module):
                name = "acme_erp"
                version = "2.1.0"
                manifest = Manifest(actions=[Action(name="order_status")])

                async def execute(self, context):
                    return ModuleResponse.success({"status": "shipped"})

            raise_on_import = None
            """
        )
    )
    info = tmp_path / "acme_pytake-2.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-pytake\nVersion: 2.1.0\n")
    (info / "entry_points.txt").write_text(
        "[pytake.modules]\n"
        "acme_erp = acme_pytake:ErpModule\n"
        "acme_broken = acme_pytake:Missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = ModuleRegistry.discover()
    assert "acme_erp" in registry
    assert set(registry.names()) >= BUILTINS
    assert "acme_erp.order_status" in registry.node_types()
    skipped = [s for s in registry.skipped if s.entry_point.startswith("acme_broken")]
    assert skipped and skipped[0].distribution == "acme-pytake"


def test_register_refuses_duplicates_and_binds_services() -> None:
    registry = ModuleRegistry([GreeterModule()])
    with pytest.raises(ModuleError, match="already registered"):
        registry.register(GreeterModule())
    module = registry.get("greeter")
    assert isinstance(module, GreeterModule) and module.services is registry.services
    assert len(registry) == 1 and [m.name for m in registry] == ["greeter"]


# --- the circuit breaker (pure) ----------------------------------------------------------------


def test_circuit_breaker_state_machine() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failure_threshold=2, cooldown=10.0))
    assert breaker.allow(0.0)
    breaker.record_failure(0.0)
    assert breaker.state is CircuitState.CLOSED
    breaker.record_success()  # a success resets the count: failures must be consecutive
    breaker.record_failure(1.0)
    breaker.record_failure(2.0)
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allow(11.9) and breaker.retry_in(11.9) == pytest.approx(0.1)
    assert breaker.allow(12.0) and breaker.state is CircuitState.HALF_OPEN
    assert not breaker.allow(12.0)  # one trial at a time
    breaker.release()  # the trial was cancelled: another may go
    assert breaker.allow(12.5)
    breaker.record_failure(13.0)
    assert breaker.state is CircuitState.OPEN and not breaker.allow(22.9)
    assert breaker.allow(23.0)
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED and breaker.failures == 0


# --- the runner, on MockClock ------------------------------------------------------------------


async def test_a_hanging_module_times_out_into_an_error(autojump_clock: Any) -> None:
    metrics = CountingMetrics()
    module = ScriptedModule("hang", "hang", "hang")
    response = await runner(timeout=10.0, metrics=metrics).call(module, ctx("post"))
    assert response.failed and response.transient
    assert response.error == "scripted.post: no answer within 10s"
    assert response.attempts == 1 and response.elapsed == pytest.approx(10.0)
    assert metrics.failures == {("scripted", "timeout"): 1}
    assert metrics.calls == {("scripted", "error"): 1}
    # The action's own timeout wins over the runner's; a timeout of a retry-safe action is
    # retried: 2 s, wait 1 s, 2 s, wait 2 s, 2 s.
    response = await runner(timeout=10.0).call(ScriptedModule(*["hang"] * 3), ctx("quick"))
    assert response.error == "scripted.quick: no answer within 2s"
    assert response.attempts == 3 and response.elapsed == pytest.approx(9.0)


async def test_retry_safe_calls_retry_with_exponential_backoff(autojump_clock: Any) -> None:
    module = ScriptedModule("raise", "fail", "ok")
    response = await runner().call(module, ctx("get"))
    assert response.ok and response.outputs == {"id": "42"}
    assert response.attempts == 3
    assert module.calls == [0.0, 1.0, 3.0]  # waits of 1 s, then 2 s
    assert len({c.call_id for c in module.contexts}) == 1  # one call id across retries


async def test_backoff_jitter_stays_within_its_bounds(autojump_clock: Any) -> None:
    policy = RetryPolicy(attempts=4, backoff=Backoff(initial=1.0, maximum=3.0, jitter=0.5))
    module = ScriptedModule("fail", "fail", "fail", "ok")
    start = trio.current_time()
    run = runner(retry=policy, random=Random(1), breaker=BreakerPolicy(failure_threshold=10))
    response = await run.call(module, ctx("get"))
    assert response.ok
    waits = [b - a for a, b in zip([start, *module.calls], module.calls, strict=False)][1:]
    for wait, base in zip(waits, [1.0, 2.0, 3.0], strict=True):
        assert base * 0.5 <= wait <= base * 1.5


async def test_retries_give_up_after_the_last_attempt(autojump_clock: Any) -> None:
    module = ScriptedModule("fail", "fail", "fail", "ok")
    response = await runner().call(module, ctx("get"))
    assert response.failed and response.error == "upstream answered 503"
    assert response.attempts == 3 and len(module.calls) == 3


async def test_unsafe_and_permanent_failures_are_not_retried(autojump_clock: Any) -> None:
    module = ScriptedModule("raise", "refuse", "ok")
    response = await runner().call(module, ctx("post"))
    assert response.failed and response.attempts == 1
    assert response.error == "scripted.post failed: ConnectionError: upstream went away"
    response = await runner().call(module, ctx("get"))
    assert response.failed and not response.transient and response.attempts == 1
    assert len(module.calls) == 2


async def test_not_found_is_an_answer_not_a_failure(autojump_clock: Any) -> None:
    response = await runner().call(ScriptedModule("not_found"), ctx("get"))
    assert response.outcome == NOT_FOUND and not response.failed and response.attempts == 1


async def test_malformed_answers_become_errors(autojump_clock: Any) -> None:
    metrics = CountingMetrics()
    run = runner(metrics=metrics)
    response = await run.call(ScriptedModule("garbage"), ctx("get"))
    assert response.failed and "expected a ModuleResponse, got dict" in (response.error or "")
    response = await run.call(ScriptedModule("undeclared"), ctx("get"))
    assert "outcome 'maybe' is not one of ok, not_found, error" in (response.error or "")
    assert response.attempts == 1  # a module bug is not retried
    assert metrics.failures[("scripted", "malformed")] == 2


async def test_bad_calls_fail_without_touching_the_module(autojump_clock: Any) -> None:
    module = ScriptedModule()
    run = runner()
    response = await run.call(module, ctx("get", id=None))
    assert response.failed and not response.transient
    assert response.error == "scripted.get: input 'id' is required"
    response = await run.call(module, ctx("delete"))
    assert "has no action 'delete'" in (response.error or "")
    assert module.calls == [] and response.attempts == 0


async def test_secrets_never_appear_in_errors_or_logs(
    autojump_clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = await runner().call(ScriptedModule("leak"), ctx("post"))
    assert response.failed
    assert response.error == "scripted.post failed: ValueError: bad token ***"
    assert "s3cr3t" not in caplog.text and "bad token ***" in caplog.text


async def test_circuit_opens_after_consecutive_failures_and_closes_after_a_trial(
    autojump_clock: Any,
) -> None:
    metrics = CountingMetrics()
    run = runner(metrics=metrics, retry=RetryPolicy(attempts=1))
    module = ScriptedModule("fail", "raise", "hang", "fail", "ok")
    for _ in range(3):
        response = await run.call(module, ctx("get"))
        assert response.failed
    assert run.circuit("scripted") is CircuitState.OPEN
    assert metrics.circuits == {("scripted", "default"): CircuitState.OPEN}
    opened = trio.current_time()

    # Open: refused at once, the module not called.
    response = await run.call(module, ctx("get"))
    assert response.failed and response.transient and response.elapsed == 0
    assert "circuit for tenant 'default' is open, next trial in 30.0s" in (response.error or "")
    assert len(module.calls) == 3 and metrics.failures[("scripted", "circuit_open")] == 1
    # Another tenant has its own circuit.
    assert (await run.call(ScriptedModule(), ctx("get", tenant="other"))).ok

    # After the cool-down one trial goes through; it fails: open again.
    await trio.sleep(opened + 30.0 - trio.current_time())
    response = await run.call(module, ctx("get"))
    assert response.error == "upstream answered 503" and len(module.calls) == 4
    assert run.circuit("scripted") is CircuitState.OPEN
    assert (await run.call(module, ctx("get"))).error.startswith(  # type: ignore[union-attr]
        "scripted: circuit"
    )

    # The next trial succeeds: closed.
    await trio.sleep(30.0)
    assert (await run.call(module, ctx("get"))).ok
    assert run.circuit("scripted") is CircuitState.CLOSED
    assert metrics.circuits[("scripted", "default")] is CircuitState.CLOSED
    assert (await run.call(module, ctx("get"))).ok


async def test_retries_stop_when_the_circuit_opens(autojump_clock: Any) -> None:
    run = runner(
        retry=RetryPolicy(attempts=5, backoff=Backoff(initial=1.0, maximum=1.0, jitter=0)),
        breaker=BreakerPolicy(failure_threshold=2, cooldown=60.0),
    )
    module = ScriptedModule("fail", "fail", "fail", "fail", "fail")
    response = await run.call(module, ctx("get"))
    assert response.attempts == 2 and len(module.calls) == 2
    assert run.circuit("scripted") is CircuitState.OPEN


async def test_half_open_lets_one_trial_through_at_a_time(autojump_clock: Any) -> None:
    run = runner(retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failure_threshold=1))
    module = ScriptedModule("fail", 5.0, "ok")
    await run.call(module, ctx("get"))
    await trio.sleep(30.0)
    results: list[ModuleResponse] = []

    async def call() -> None:
        results.append(await run.call(module, ctx("get")))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call)  # the trial, which takes 5 s
        await trio.sleep(1.0)
        nursery.start_soon(call)  # refused: the trial is under way
    assert "half-open, a trial call is under way" in (results[0].error or "")
    assert results[1].ok and run.circuit("scripted") is CircuitState.CLOSED


async def test_a_cancelled_caller_is_cancelled_and_frees_the_trial(autojump_clock: Any) -> None:
    run = runner(retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failure_threshold=1))
    module = ScriptedModule("fail", "hang", "ok")
    await run.call(module, ctx("get"))
    await trio.sleep(30.0)
    with trio.move_on_after(1.0) as scope:
        await run.call(module, ctx("get"))
    assert scope.cancelled_caught  # the caller's cancellation is not swallowed
    assert (await run.call(module, ctx("get"))).ok  # and the next trial may go


async def test_prometheus_metrics(autojump_clock: Any) -> None:
    registry = CollectorRegistry()
    metrics = PrometheusModuleMetrics(registry)
    run = runner(metrics=metrics, breaker=BreakerPolicy(failure_threshold=1))
    await run.call(ScriptedModule("refuse"), ctx("post"))
    await run.call(ScriptedModule("hang"), ctx("post"))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("pytake_module_call_seconds_count", module="scripted", action="post",
                 outcome="error") == 2  # fmt: skip
    assert value("pytake_module_failures_total", module="scripted", action="post",
                 kind="timeout") == 1  # fmt: skip
    assert value("pytake_module_circuit_open", module="scripted", tenant="default") == 1


def test_policies_check_their_values() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        BreakerPolicy(cooldown=0)
    with pytest.raises(ValueError):
        ModuleRunner(timeout=0)
    assert attrs.evolve(RetryPolicy(), attempts=2).attempts == 2

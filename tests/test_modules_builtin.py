"""The built-in modules against local stand-ins of the APIs they call, failures included:
answers too slow for the timeout, 5xx, malformed JSON, dropped connections."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from random import Random
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa

from pytake.flowrun import ModuleCalls
from pytake.modules import (
    BreakerPolicy,
    ModuleContext,
    ModuleRegistry,
    ModuleResponse,
    ModuleRunner,
    ModuleServices,
    RetryPolicy,
    SecretBox,
)
from pytake.modules.builtin import (
    BoletoModule,
    CrmLookupModule,
    DeliveryPolicy,
    RestApiModule,
    WebhookEvent,
    WebhookModule,
    make_digitable_line,
    verify_signature,
)
from pytake.standins.apis import BillingApiStandIn, CrmApiStandIn, WebhookReceiver, run_app
from pytake.store import Database, WebhookSubscription
from pytake.supervisor import Backoff

CPF = "529.982.247-25"
PHONE = "5511987654321"
KEY = "test-key-" + "x" * 32


def runner(attempts: int = 3) -> ModuleRunner:
    return ModuleRunner(
        timeout=10.0,
        retry=RetryPolicy(attempts=attempts, backoff=Backoff(initial=0.01, maximum=0.02, jitter=0)),
        breaker=BreakerPolicy(failure_threshold=100),
    )


async def call(
    module: Any,
    action: str,
    config: dict[str, Any],
    *,
    attempts: int = 1,
    customer: dict[str, Any] | None = None,
    **inputs: Any,
) -> ModuleResponse:
    context = ModuleContext(
        action=action,
        inputs=inputs,
        config=module.manifest.validate_config(config, module=module.name),
        customer=customer or {},
    )
    return await runner(attempts).call(module, context)


@pytest.fixture
async def crm() -> AsyncIterator[CrmApiStandIn]:
    async with run_app(CrmApiStandIn(token="crm-token")) as standin:
        yield standin


@pytest.fixture
async def billing() -> AsyncIterator[BillingApiStandIn]:
    async with run_app(BillingApiStandIn(token="billing-token", seed=3)) as standin:
        yield standin


FAULTS = {
    "slow": ({"slow_next": 1, "slow_seconds": 5.0}, "did not answer within 1s"),
    "5xx": ({"server_error_next": 1}, "answered HTTP 503"),
    "malformed": ({"malformed_next": 1}, "answered malformed"),
    "dropped": ({"drop_next": 1}, "could not be reached (RemoteProtocolError"),
}


# --- rest_api ------------------------------------------------------------------------------------


def rest_config(crm: CrmApiStandIn, **extra: Any) -> dict[str, Any]:
    return {"base_url": crm.base_url, "bearer_token": "crm-token", "timeout": 1.0, **extra}


async def test_rest_api_extracts_fields_of_the_answer(crm: CrmApiStandIn) -> None:
    crm.add_customer(PHONE, name="Ana", orders=[{"id": "o-1", "total": 99.9}])
    module = RestApiModule()
    response = await call(
        module, "call", rest_config(crm), url=f"/customers/{PHONE}",
        extract={"customer_name": "name", "first_order": "orders.0.id",
                 "total": "orders.0.total"},
    )  # fmt: skip
    assert response.ok, response.error
    assert response.outputs == {"status": 200, "customer_name": "Ana", "first_order": "o-1",
                                "total": 99.9}  # fmt: skip
    request = crm.requests[-1]
    assert request.headers["authorization"] == "Bearer crm-token"
    assert len(request.headers["x-request-id"]) == 32

    response = await call(
        module, "call", rest_config(crm), url=f"{crm.base_url}/customers",
        query={"phone": PHONE}, extract={"id": "data.0.id"},
    )  # fmt: skip
    assert response.outputs == {"status": 200, "id": "cus_1"}
    assert crm.requests[-1].query == {"phone": PHONE}


async def test_rest_api_outcomes_for_404_4xx_and_missing_fields(crm: CrmApiStandIn) -> None:
    module = RestApiModule()
    response = await call(module, "call", rest_config(crm), url="/customers/5500000000000")
    assert response.outcome == "not_found" and response.outputs == {"status": 404}
    response = await call(module, "call", rest_config(crm, bearer_token="wrong"), url="/customers")
    assert response.failed and not response.transient
    assert response.error == f"GET {crm.base_url}/customers answered HTTP 401"
    crm.add_customer(PHONE, name="Ana")
    response = await call(
        module, "call", rest_config(crm), url=f"/customers/{PHONE}", extract={"x": "email"}
    )
    assert response.failed and not response.transient
    assert "answered without 'email' (for variable 'x')" in (response.error or "")


@pytest.mark.parametrize("fault", FAULTS)
async def test_rest_api_failures_become_errors(crm: CrmApiStandIn, fault: str) -> None:
    changes, reason = FAULTS[fault]
    crm.faults.update(changes)
    crm.add_customer(PHONE, name="Ana")
    response = await call(
        RestApiModule(), "call", rest_config(crm), url=f"/customers/{PHONE}",
        extract={"name": "name"},
    )  # fmt: skip
    assert response.failed and response.transient
    assert reason in (response.error or ""), response.error


async def test_rest_api_retries_gets_but_never_posts(crm: CrmApiStandIn) -> None:
    crm.add_customer(PHONE, name="Ana")
    crm.faults.update({"server_error_next": 2})
    module = RestApiModule()
    response = await call(module, "call", rest_config(crm), attempts=3, url=f"/customers/{PHONE}")
    assert response.ok and response.attempts == 3 and len(crm.requests) == 3

    crm.faults.update({"server_error_next": 2})
    response = await call(
        module, "call", rest_config(crm), attempts=3, method="POST", url="/customers",
        body={"phone": PHONE, "tags": ["vip"]},
    )  # fmt: skip
    assert response.failed and response.attempts == 1 and len(crm.requests) == 4
    request = crm.requests[-1]
    assert request.method == "POST" and request.json() == {"phone": PHONE, "tags": ["vip"]}
    assert request.headers["idempotency-key"] == request.headers["x-request-id"]


async def test_rest_api_stays_under_its_base_url(crm: CrmApiStandIn) -> None:
    module = RestApiModule()
    config = rest_config(crm, base_url=crm.base_url + "/customers")
    for url, problem in [
        ("https://elsewhere.test/customers", "is not under the configured base_url"),
        (crm.base_url + "/customersx", "is not under the configured base_url"),
        (crm.base_url + "/admin", "is not under the configured base_url"),
        ("/../admin", "is not under the configured base_url"),
        ("/%2e%2e/admin", "has '.' or '..' segments"),
    ]:
        response = await call(module, "call", config, url=url)
        assert response.failed and not response.transient
        assert problem in (response.error or ""), (url, response.error)
    response = await call(module, "call", {}, url="/customers")
    assert "is relative and no base_url is configured" in (response.error or "")
    assert crm.requests == []
    crm.add_customer(PHONE, name="Ana")
    response = await call(module, "call", config, url=f"{crm.base_url}/customers/{PHONE}")
    assert response.ok
    response = await call(module, "call", rest_config(crm), method="BREW", url="/x")
    assert "method 'BREW' is not one of" in (response.error or "")
    assert len(crm.requests) == 1


# --- crm_lookup ----------------------------------------------------------------------------------


def crm_config(crm: CrmApiStandIn, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": crm.base_url,
        "api_token": "crm-token",
        "result_path": "data",
        "mapping": {"name": "full_name", "email": "email", "tier": "segment.name",
                    "crm_id": "id", "fax": "fax"},
        "timeout": 1.0,
        **extra,
    }  # fmt: skip


async def test_crm_lookup_maps_the_customer_into_attributes(crm: CrmApiStandIn) -> None:
    crm.add_customer(PHONE, full_name="Ana Souza", email="ana@example.com",
                     segment={"name": "gold"})  # fmt: skip
    response = await call(
        CrmLookupModule(), "lookup", crm_config(crm), customer={"phone": "+" + PHONE}
    )
    expected = {"name": "Ana Souza", "email": "ana@example.com", "tier": "gold", "crm_id": "cus_1"}
    assert response.ok and response.customer_attributes == expected  # no "fax": not in the CRM
    assert response.outputs == {"crm": expected}
    assert crm.requests[-1].query == {"phone": PHONE}


async def test_crm_lookup_tries_the_brazilian_ninth_digit(crm: CrmApiStandIn) -> None:
    crm.add_customer(PHONE, full_name="Ana")
    module = CrmLookupModule()
    # WhatsApp reports the number without the ninth digit.
    response = await call(module, "lookup", crm_config(crm), customer={"wa_id": "551187654321"})
    assert response.ok and response.customer_attributes["name"] == "Ana"
    assert [r.query["phone"] for r in crm.requests] == ["551187654321", PHONE]
    response = await call(
        module, "lookup", crm_config(crm, brazil_ninth_digit=False), phone="551187654321"
    )
    assert response.outcome == "not_found"


async def test_crm_lookup_not_found_by_query_and_by_path(crm: CrmApiStandIn) -> None:
    module = CrmLookupModule()
    response = await call(module, "lookup", crm_config(crm), phone="+55 11 91234-5678")
    assert response.outcome == "not_found" and response.customer_attributes == {}
    assert len(crm.requests) == 2  # with and without the ninth digit
    config = crm_config(crm, path="/customers/{{phone}}", phone_format="e164", result_path="")
    response = await call(module, "lookup", config, phone="5511912345678")
    assert response.outcome == "not_found"
    assert crm.requests[-1].path == "/customers/+551112345678"
    crm.add_customer(PHONE, full_name="Ana")
    response = await call(module, "lookup", config, phone=PHONE)
    assert response.ok and response.customer_attributes["name"] == "Ana"


@pytest.mark.parametrize("fault", FAULTS)
async def test_crm_lookup_failures_become_errors(crm: CrmApiStandIn, fault: str) -> None:
    changes, reason = FAULTS[fault]
    crm.faults.update(changes)
    crm.add_customer(PHONE, full_name="Ana")
    response = await call(CrmLookupModule(), "lookup", crm_config(crm), phone=PHONE)
    assert response.failed and response.transient
    assert reason in (response.error or ""), response.error


async def test_crm_lookup_needs_a_phone_and_the_right_token(crm: CrmApiStandIn) -> None:
    module = CrmLookupModule()
    response = await call(module, "lookup", crm_config(crm))
    assert response.failed and "no phone number" in (response.error or "")
    response = await call(module, "lookup", crm_config(crm, api_token="nope"), phone=PHONE)
    assert response.failed and not response.transient and "HTTP 401" in (response.error or "")
    assert "nope" not in (response.error or "")


# --- boleto --------------------------------------------------------------------------------------


def boleto_config(billing: BillingApiStandIn, **extra: Any) -> dict[str, Any]:
    return {"base_url": billing.base_url, "api_token": "billing-token", "timeout": 1.0, **extra}


async def test_boleto_sends_open_slips_with_their_pdfs(billing: BillingApiStandIn) -> None:
    later = billing.add_slip(CPF, "89.90", dt.date(2026, 12, 20))
    first = billing.add_slip(CPF, Decimal("1234.56"), dt.date(2026, 12, 5))
    billing.add_slip(CPF, "10.00", dt.date(2026, 11, 1), status="paid")
    module = BoletoModule()
    response = await call(module, "second_copy", boleto_config(billing), cpf_cnpj=CPF)
    assert response.ok, response.error
    assert response.outputs == {
        "digitable_line": first["digitable_line"],
        "amount": 1234.56,
        "due_date": "2026-12-05",
        "pdf_url": first["pdf_url"],
        "count": 2,
    }
    kinds = [m["type"] for m in response.messages]
    assert kinds == ["text", "document", "text", "document"]
    assert response.messages[0]["text"] == (
        "Segunda via do seu boleto de R$ 1.234,56, vencimento 05/12/2026.\n"
        f"Linha digitável: {first['digitable_line']}"
    )
    assert response.messages[1] == {"type": "document", "link": first["pdf_url"],
                                    "filename": "boleto-2026-12-05.pdf"}  # fmt: skip
    assert later["digitable_line"] in response.messages[2]["text"]
    request = billing.requests[-1]
    assert request.query == {"document": "52998224725", "status": "open"}
    assert request.headers["authorization"] == "Bearer billing-token"
    async with httpx.AsyncClient(trust_env=False) as client:
        pdf = await client.get(first["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-1.4")
    assert pdf.headers["content-type"] == "application/pdf"

    config = boleto_config(billing, max_slips=1, send_pdf=False, method="POST",
                           message="{{amount_brl}} {{due_date}} {{cpf_cnpj}}")  # fmt: skip
    response = await call(module, "second_copy", config, cpf_cnpj="52998224725")
    assert response.messages == ({"type": "text", "text": "R$ 1.234,56 2026-12-05 529.982.247-25"},)
    assert response.outputs["count"] == 2
    assert billing.requests[-1].json() == {"document": "52998224725", "status": "open"}


async def test_boleto_refuses_an_invalid_document_without_calling(
    billing: BillingApiStandIn,
) -> None:
    response = await call(
        BoletoModule(), "second_copy", boleto_config(billing), cpf_cnpj="529.982.247-26"
    )
    assert response.outcome == "invalid_document" and billing.requests == []


async def test_boleto_not_found(billing: BillingApiStandIn) -> None:
    module = BoletoModule()
    response = await call(module, "second_copy", boleto_config(billing), cpf_cnpj=CPF)
    assert response.outcome == "not_found" and response.messages == ()
    billing.not_found_status = 404
    response = await call(module, "second_copy", boleto_config(billing),
                          cpf_cnpj="12.ABC.345/01DE-35")  # fmt: skip
    assert response.outcome == "not_found"
    assert billing.requests[-1].query["document"] == "12ABC34501DE35"


async def test_boleto_leaves_out_slips_whose_line_is_wrong(
    billing: BillingApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_digitable_line(bank="341", amount_cents=5000, due_factor=1000 + 700,
                               free_field="1234567890" * 2 + "12345")  # fmt: skip
    broken = good.formatted[:-1] + str((int(good.formatted[-1]) + 1) % 10)
    billing.add_raw(CPF, {"digitable_line": broken, "amount": "50.00", "due_date": "2026-12-01"})
    billing.add_raw(CPF, {"digitable_line": good.formatted, "amount": "49.99"})  # amount differs
    module = BoletoModule()
    with caplog.at_level(logging.WARNING, logger="pytake.modules.boleto"):
        response = await call(module, "second_copy", boleto_config(billing), cpf_cnpj=CPF)
    assert response.failed and not response.transient
    assert "none with a valid digitable line" in (response.error or "")
    assert "wrong general check digit" in caplog.text and "differs from the line's" in caplog.text
    assert "52998224725" not in caplog.text  # personal data stays out of the log

    # A slip with no amount nor due date gets both from its line.
    billing.add_raw(CPF, {"linha_digitavel": good.digits})
    module.today = lambda: dt.date(2026, 11, 26)
    response = await call(module, "second_copy", boleto_config(billing), cpf_cnpj=CPF)
    assert response.ok, response.error
    assert response.outputs["amount"] == 50.0
    assert response.outputs["due_date"] == "2027-01-23"  # 2025-02-22 + 700 days
    assert "pdf_url" not in response.outputs and response.outputs["count"] == 1


@pytest.mark.parametrize("fault", FAULTS)
async def test_boleto_failures_become_errors(billing: BillingApiStandIn, fault: str) -> None:
    changes, reason = FAULTS[fault]
    billing.faults.update(changes)
    billing.add_slip(CPF, "10.00", dt.date(2026, 12, 1))
    response = await call(BoletoModule(), "second_copy", boleto_config(billing), cpf_cnpj=CPF)
    assert response.failed and response.transient
    assert reason in (response.error or ""), response.error
    assert response.messages == ()


async def test_boleto_recovers_through_the_runner_retry(billing: BillingApiStandIn) -> None:
    billing.add_slip(CPF, "10.00", dt.date(2026, 12, 1))
    billing.faults.update({"server_error_next": 1, "malformed_next": 1})
    response = await call(
        BoletoModule(), "second_copy", boleto_config(billing), attempts=3, cpf_cnpj=CPF
    )
    assert response.ok and response.attempts == 3


async def test_boleto_answer_without_the_list(billing: BillingApiStandIn) -> None:
    response = await call(
        BoletoModule(), "second_copy", boleto_config(billing, list_path="data.slips"), cpf_cnpj=CPF
    )
    assert response.failed and "no list at 'data.slips'" in (response.error or "")


# --- webhook -------------------------------------------------------------------------------------

SECRET = "whsec_" + "a" * 32
# Timeouts leave room for a machine busy with other work; slow faults go well beyond them.
TIMEOUT = 1.0
FAST = DeliveryPolicy(max_attempts=3, timeout=TIMEOUT,
                      backoff=Backoff(initial=0.01, maximum=0.05, jitter=0))  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
async def webhooks(request: pytest.FixtureRequest) -> AsyncIterator[WebhookModule]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    async with Database(url) as db:
        registry = ModuleRegistry(
            [WebhookModule(random=Random(1))],
            services=ModuleServices(database=db, secrets=SecretBox(KEY)),
        )
        module = registry.get("webhook")
        assert isinstance(module, WebhookModule)
        # The PostgreSQL database is shared by the run: start from no subscription, and
        # leave none behind for the tests that follow.
        for subscription in await module.subscriptions():
            await module.unsubscribe(subscription.id)
        yield module
        for subscription in await module.subscriptions():
            await module.unsubscribe(subscription.id)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with run_app(WebhookReceiver(secret=SECRET)) as standin:
        yield standin


async def test_webhook_delivers_signed_events_and_logs_them(
    webhooks: WebhookModule, receiver: WebhookReceiver
) -> None:
    subscription, secret = await webhooks.subscribe(
        receiver.base_url + "/hooks", ["message.*"], secret=SECRET, description="crm sync"
    )
    assert secret == SECRET
    stored = await _stored_secret(webhooks, subscription.id)
    assert stored.startswith("pts1:") and SECRET not in stored

    event = WebhookEvent(type="message.received", data={"text": "olá", "from": PHONE})
    results = await webhooks.deliver(event, policy=FAST)
    assert [(r.webhook_id, r.succeeded, r.attempts, r.status) for r in results] == [
        (subscription.id, True, 1, 200)
    ]
    (delivery,) = receiver.deliveries
    assert delivery.signature_valid and delivery.path == "/hooks"
    assert verify_signature(SECRET, delivery.body, delivery.headers["x-pytake-signature"])
    assert delivery.headers["x-pytake-event"] == "message.received"
    assert delivery.event_id == event.id and delivery.attempt == 1
    assert delivery.event == json.loads(json.dumps(event.to_json()))
    (record,) = await webhooks.deliveries(webhook_id=subscription.id)
    assert (record.event_id, record.attempt, record.succeeded, record.response_status) == (
        event.id, 1, True, 200,
    )  # fmt: skip
    assert record.duration_ms is not None and record.error is None
    listed = await webhooks.subscriptions()
    assert [(s.id, s.events, s.active) for s in listed] == [(subscription.id, ("message.*",), True)]


async def test_webhook_retries_transient_failures_with_the_same_event_id(
    webhooks: WebhookModule, receiver: WebhookReceiver
) -> None:
    await webhooks.subscribe(receiver.base_url, ["*"], secret=SECRET)
    receiver.faults.update({"server_error_next": 2})
    event = WebhookEvent(type="conversation.resolved", data={"conversation_id": 7})
    (result,) = await webhooks.deliver(event, policy=FAST)
    assert result.succeeded and result.attempts == 3
    assert [d.attempt for d in receiver.deliveries] == [1, 2, 3]
    assert {d.event_id for d in receiver.deliveries} == {event.id}
    log = sorted(await webhooks.deliveries(event_id=event.id), key=lambda r: r.attempt)
    assert [(r.attempt, r.response_status, r.succeeded) for r in log] == [
        (1, 503, False), (2, 503, False), (3, 200, True),
    ]  # fmt: skip
    assert (log[0].error or "").startswith("HTTP 503")


async def test_webhook_gives_up_on_timeouts_and_permanent_refusals(
    webhooks: WebhookModule, receiver: WebhookReceiver
) -> None:
    await webhooks.subscribe(receiver.base_url, ["*"], secret=SECRET)
    receiver.faults.update({"slow_always": True, "slow_seconds": 5.0})
    twice = attrs.evolve(FAST, max_attempts=2)
    (result,) = await webhooks.deliver(WebhookEvent(type="message.sent"), policy=twice)
    assert not result.succeeded and result.attempts == 2 and result.status is None
    assert "did not answer within 1s" in (result.error or "")

    receiver.faults.reset()
    receiver.status = 400
    (result,) = await webhooks.deliver(WebhookEvent(type="message.sent"), policy=FAST)
    assert not result.succeeded and result.attempts == 1 and result.status == 400

    # A receiver that checks signatures refuses a delivery signed with another secret.
    receiver.status = 200
    receiver.secret = "another-secret-entirely"
    (result,) = await webhooks.deliver(WebhookEvent(type="message.sent"), policy=FAST)
    assert not result.succeeded and result.status == 401 and result.attempts == 1

    # 410 Gone: the subscription is deactivated.
    receiver.secret = SECRET
    receiver.status = 410
    (result,) = await webhooks.deliver(WebhookEvent(type="message.sent"), policy=FAST)
    assert result.status == 410
    assert [s.active for s in await webhooks.subscriptions()] == [False]
    assert await webhooks.deliver(WebhookEvent(type="message.sent"), policy=FAST) == []


async def test_webhook_routes_events_by_subscription(
    webhooks: WebhookModule, receiver: WebhookReceiver
) -> None:
    resolved, _ = await webhooks.subscribe(receiver.base_url + "/resolved",
                                           ["conversation.resolved"], secret=SECRET)  # fmt: skip
    everything, _ = await webhooks.subscribe(receiver.base_url + "/all", ["*"], secret=SECRET)
    results = await webhooks.deliver(WebhookEvent(type="message.status"), policy=FAST)
    assert [r.webhook_id for r in results] == [everything.id]
    results = await webhooks.deliver(WebhookEvent(type="conversation.resolved"), policy=FAST)
    assert [r.webhook_id for r in results] == [resolved.id, everything.id]
    assert sorted(d.path for d in receiver.deliveries) == ["/all", "/all", "/resolved"]
    await webhooks.set_active(everything.id, False)
    results = await webhooks.deliver(WebhookEvent(type="conversation.resolved"), policy=FAST)
    assert [r.webhook_id for r in results] == [resolved.id]


async def test_webhook_notify_action_through_the_runner(
    webhooks: WebhookModule, receiver: WebhookReceiver
) -> None:
    config = {"max_attempts": 2, "timeout": 1.0, "backoff_initial": 0.01, "backoff_max": 0.02}
    response = await call(webhooks, "notify", config, event="lead.won", data={"value": 10})
    assert response.ok and response.outputs == {"delivered": 0, "failed": 0}  # no subscriber

    await webhooks.subscribe(receiver.base_url, ["lead.*"], secret=SECRET)
    response = await call(webhooks, "notify", config, event="lead.won", data={"value": 10})
    assert response.ok and response.outputs == {"delivered": 1, "failed": 0}
    assert receiver.deliveries[-1].event["data"] == {
        "conversation": {"id": None, "key": ""},
        "value": 10,
    }

    receiver.faults.update({"server_error_always": True})
    response = await call(webhooks, "notify", config, attempts=3, event="lead.lost")
    assert response.failed and response.attempts == 1  # the runner never retries a notify
    assert response.outputs == {"delivered": 0, "failed": 1}
    assert "1 of 1 deliveries failed" in (response.error or "")
    assert "after 2 attempt(s): HTTP 503" in (response.error or "")

    response = await call(webhooks, "notify", config, event="Lead Won")
    assert response.failed and "is not an event type" in (response.error or "")


async def test_webhook_subscriptions_are_checked(webhooks: WebhookModule) -> None:
    from pytake.errors import ModuleError

    for url, events, secret in [
        ("ftp://x.test", ["*"], None),
        ("https://x.test", [], None),
        ("https://x.test", ["Message Received"], None),
        ("https://x.test", ["*"], "short"),
    ]:
        with pytest.raises(ModuleError):
            await webhooks.subscribe(url, events, secret=secret)
    subscription, secret = await webhooks.subscribe("https://x.test/h", ["message.*"])
    assert len(secret) >= 32
    assert await webhooks.unsubscribe(subscription.id)
    assert not await webhooks.unsubscribe(subscription.id)


async def test_webhook_without_database_fails_cleanly() -> None:
    response = await call(WebhookModule(), "notify", {}, event="lead.won")
    assert response.failed and not response.transient
    assert "no database was bound" in (response.error or "")


async def _stored_secret(module: WebhookModule, webhook_id: int) -> str:
    assert module.services.database is not None

    def read(session: sa.orm.Session) -> str:
        return session.get_one(WebhookSubscription, webhook_id).secret

    return await module.services.database.run(read)


def test_stand_in_faults_are_checked() -> None:
    standin = CrmApiStandIn()
    with pytest.raises(ValueError, match="unknown fault field"):
        standin.faults.update({"slow": 1})
    with pytest.raises(ValueError):
        standin.faults.update({"slow_next": "1"})
    standin.faults.update({"slow_next": 1, "slow_seconds": 3})
    assert standin.faults.to_json()["slow_seconds"] == 3.0
    standin.faults.reset()
    assert standin.faults.slow_next == 0


async def test_stand_in_control_routes(crm: CrmApiStandIn) -> None:
    async with httpx.AsyncClient(base_url=crm.base_url, trust_env=False) as client:
        answer = await client.post("/_sim/faults", json={"server_error_next": 1})
        assert answer.status_code == 200 and answer.json()["server_error_next"] == 1
        assert (await client.get("/customers?phone=1", headers=_bearer())).status_code == 503
        assert (await client.get("/customers?phone=1", headers=_bearer())).status_code == 200
        assert (await client.get("/customers?phone=1")).status_code == 401
        assert (await client.post("/_sim/faults", json={"bogus": 1})).status_code == 400
        assert (await client.post("/_sim/reset")).status_code == 200
    assert crm.requests == []


def _bearer() -> dict[str, str]:
    return {"Authorization": "Bearer crm-token"}


async def test_webhook_does_not_retry_what_cannot_succeed(webhooks: WebhookModule) -> None:
    # A host name IDNA refuses: the request cannot even be built, so no attempt can succeed.
    subscription, _ = await webhooks.subscribe("http://xn--/hook", ["*"], secret=SECRET)
    (result,) = await webhooks.deliver(WebhookEvent(type="message.sent"), policy=FAST)
    assert (result.succeeded, result.attempts) == (False, 1)
    (record,) = await webhooks.deliveries(webhook_id=subscription.id)
    assert "invalid URL" in (record.error or "")


async def test_a_subscription_stored_under_another_key_does_not_stop_the_others(
    webhooks: WebhookModule, receiver: WebhookReceiver
) -> None:
    stranger = WebhookModule(random=Random(2))
    ModuleRegistry([stranger], services=ModuleServices(
        database=webhooks.services.database, secrets=SecretBox("another-key-" + "y" * 32)))
    await stranger.subscribe(receiver.base_url + "/other", ["*"], secret=SECRET)
    ours, _ = await webhooks.subscribe(receiver.base_url + "/ours", ["*"], secret=SECRET)
    results = await webhooks.deliver(WebhookEvent(type="message.sent"), policy=FAST)
    assert [(r.webhook_id, r.succeeded) for r in results] == [(ours.id, True)]
    assert [d.path for d in receiver.deliveries] == ["/ours"]


async def test_engine_events_use_the_configured_retries(
    request: pytest.FixtureRequest, receiver: WebhookReceiver
) -> None:
    url = request.getfixturevalue("sqlite_url")
    async with Database(url) as db:
        calls = ModuleCalls(db, KEY)
        try:
            module = calls.registry.get("webhook")
            assert isinstance(module, WebhookModule)
            await module.subscribe(receiver.base_url, ["*"], secret=SECRET)
            await calls.configs.save("webhook", {"max_attempts": 2, "backoff_initial": 0.01,
                                                 "backoff_max": 0.02, "timeout": TIMEOUT})
            receiver.faults.update({"server_error_always": True})
            deliver = calls.webhook_delivery()
            assert deliver is not None
            (result,) = await deliver(WebhookEvent(type="conversation.resolved"))
            # Two attempts, as configured (the default policy would try five times).
            assert (result.succeeded, result.attempts) == (False, 2)
            assert len(receiver.deliveries) == 2
        finally:
            await calls.aclose()

"""Conformance of the WhatsApp stand-in with an independent implementation of the protocol.

pywa (a widely used Cloud API client, a test-only dependency, used unmodified) sends every
kind of message through `CloudApiStandIn`, reads its refusals and its template listing, and
parses every webhook the stand-in's `CustomerSimulator` signs and posts. PyTake's own parser is
deliberately not involved: if the stand-in drifts from what Meta sends and answers, a client
written against Meta fails here even where PyTake would agree with the stand-in.

pywa is synchronous (``httpx.Client``): its calls run in a worker thread while the trio
thread serves the stand-in on loopback. Its webhook side is fed in-process through an httpx
mock transport, with pywa's own signature check and dispatcher; every update pywa fails to
build is logged by pywa at ERROR level, which the harness turns into a test failure.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import trio
from pywa import WhatsApp, errors
from pywa import types as pywa_types
from pywa.types import templates as pywa_templates

from pytake.standins.whatsapp import (
    MESSAGE_TYPES,
    Business,
    CloudApiStandIn,
    Customer,
    CustomerSimulator,
    make_customers,
    run_standin,
)

TOKEN = "conformance-token"
SECRET = "conformance-app-secret"
PHONE_ID = "420000000000002"
WABA_ID = "310000000000001"
DISPLAY = "15550001111"
BSUID_ONLY = Customer(wa_id="", name="Bia", user_id="BR.12345678901234567890")

T = TypeVar("T")
E = TypeVar("E", bound=errors.WhatsAppError)


class _Errors(logging.Handler):
    """Collects pywa's ERROR records: how pywa reports an update it could not build."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Harness:
    """A stand-in, a pywa client pointed at it, and simulated customers whose webhooks go
    to pywa's handler. ``updates`` holds what pywa's handlers received, in order."""

    def __init__(self, standin: CloudApiStandIn, wa: WhatsApp, phone_id: str) -> None:
        self.standin = standin
        self.wa = wa
        self.phone_id = phone_id
        self.updates: list[Any] = []
        self.webhooks = 0
        self._changed = trio.Event()
        for register in (wa.on_message, wa.on_message_status, wa.on_callback_button,
                         wa.on_callback_selection):  # fmt: skip
            register(self._record)

    def _record(self, _: WhatsApp, update: Any) -> None:
        self.updates.append(update)

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) pywa call in a worker thread; a refusal fails the test."""
        result, error = await self.attempt(function, *args, **kwargs)
        if error is not None:
            raise AssertionError(f"pywa call refused: {error!r}")
        return result  # type: ignore[return-value]

    async def attempt(
        self, function: Callable[..., T], *args: Any, **kwargs: Any
    ) -> tuple[T | None, errors.WhatsAppError | None]:
        """Run a pywa call in a worker thread; return its result or the error pywa raised.

        The error comes back as a value because pywa's exception classes cannot be re-raised
        across threads (setting their ``__traceback__`` fails), which trio does."""

        def run() -> tuple[T | None, errors.WhatsAppError | None]:
            try:
                return function(*args, **kwargs), None
            except errors.WhatsAppError as error:
                return None, error

        return await trio.to_thread.run_sync(run)

    async def webhook(self, request: httpx.Request) -> httpx.Response:
        """pywa's webhook endpoint: its signature check, then its dispatcher."""
        body = await request.aread()
        refused = self.wa.webhook_update_validator(body, request.headers.get("x-hub-signature-256"))
        if refused is not None:
            return httpx.Response(refused[1], text=refused[0])
        text, status = self.wa.webhook_update_handler(body)
        self.webhooks += 1
        self._changed.set()
        self._changed = trio.Event()
        return httpx.Response(status, text=text)

    def of(self, kind: type[T]) -> list[T]:
        return [u for u in self.updates if isinstance(u, kind)]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await self._changed.wait()

    def simulator(self, customers: Sequence[Customer], **options: Any) -> CustomerSimulator:
        """Customers of the business pywa serves, posting to pywa's handler."""
        transport = httpx.MockTransport(self.webhook)
        options.setdefault("business", Business(WABA_ID, PHONE_ID, DISPLAY))
        return CustomerSimulator(
            "https://pywa.invalid/webhook",
            SECRET,
            customers=customers,
            standin=self.standin,
            status_delays=(0.0, 0.0),
            client=httpx.AsyncClient(transport=transport),
            **options,
        )


@asynccontextmanager
async def harness(phone_id: str = PHONE_ID, **config: Any) -> AsyncIterator[Harness]:
    problems = _Errors()
    logging.getLogger("pywa").addHandler(problems)
    try:
        async with run_standin(token=TOKEN, **config) as standin:
            with httpx.Client(trust_env=False) as session:
                wa = WhatsApp(
                    phone_id=phone_id,
                    token=TOKEN,
                    session=session,
                    waba_id=WABA_ID,
                    app_secret=SECRET,
                    verify_token="conformance-verify",
                )
                # pywa sets the Graph base URL (with its API version) on the session; the
                # same path on the stand-in's host is the only change.
                session.base_url = str(session.base_url).replace(
                    "https://graph.facebook.com", standin.base_url or ""
                )
                yield Harness(standin, wa, phone_id)
    finally:
        logging.getLogger("pywa").removeHandler(problems)
    assert [r.getMessage() for r in problems.records] == []


# -- sending -----------------------------------------------------------------------------------


async def test_pywa_sends_every_kind_through_the_standin() -> None:
    to = "+5511999990001"
    async with harness() as h:
        wa, call = h.wa, h.call
        image_id = h.standin.add_media(b"\x89PNG fake", "image/png")
        sent = [
            await call(wa.send_message, to, "Olá! https://shop.example/pedido/991"),
            await call(wa.send_message, to, "Respondendo", reply_to_message_id="wamid.IN1"),
            await call(wa.send_reaction, to, "👍", "wamid.IN1"),
            await call(wa.remove_reaction, to, "wamid.IN1"),
            await call(wa.send_image, to, "https://files.example/a.jpg", caption="foto"),
            await call(wa.send_image, to, image_id),
            await call(wa.send_video, to, "https://files.example/a.mp4"),
            await call(wa.send_audio, to, "https://files.example/a.ogg"),
            await call(wa.send_document, to, "https://files.example/a.pdf", filename="a.pdf"),
            await call(wa.send_sticker, to, "https://files.example/a.webp"),
            await call(wa.send_location, to, -23.55, -46.63, name="Loja", address="Rua 1"),
            await call(
                wa.send_contact,
                to,
                pywa_types.Contact(
                    name=pywa_types.Contact.Name(formatted_name="Ana Ruiz", first_name="Ana"),
                    phones=[pywa_types.Contact.Phone(phone="+5511999990002", type="CELL")],
                ),
            ),
            await call(
                wa.send_message,
                to,
                "Resolvido?",
                header="Ticket 991",
                footer="Equipe",
                buttons=[
                    pywa_types.Button("Sim", "yes"),
                    pywa_types.Button("Não", "no"),
                    pywa_types.Button("Falar com atendente", "agent"),
                ],
            ),
            await call(
                wa.send_message,
                to,
                "Escolha um assunto",
                buttons=pywa_types.SectionList(
                    button_title="Assuntos",
                    sections=[
                        pywa_types.Section(
                            title="Pedidos",
                            rows=[
                                pywa_types.SectionRow("Onde está?", "where", "Rastreio"),
                                pywa_types.SectionRow("Devolução", "return"),
                            ],
                        ),
                        pywa_types.Section(
                            title="Conta",
                            rows=[pywa_types.SectionRow("Senha", "password")],
                        ),
                    ],
                ),
            ),
            await call(
                wa.send_message,
                to,
                "Acompanhe",
                buttons=pywa_types.URLButton(title="Rastrear", url="https://shop.example/t/991"),
            ),
            await call(
                wa.send_template,
                to,
                "ticket_update",
                pywa_templates.TemplateLanguage("es_ES"),
                [
                    pywa_templates.BodyText.params("991", "resuelto"),
                    pywa_templates.QuickReplyButton.params(callback_data="reopen_991", index=0),
                ],
                tracker="ticket-991",
            ),
            await call(
                wa.send_template, to, "hello_world", pywa_templates.TemplateLanguage("en_US")
            ),
            await call(
                wa.send_template,
                to,
                "order_shipped",
                pywa_templates.TemplateLanguage("pt_BR"),
                [pywa_templates.BodyText.params(customer="Ana", order="991")],
            ),
            await call(wa.send_message, BSUID_ONLY.user_id, "Olá, Bia"),
        ]
        assert (await call(wa.mark_message_as_read, "wamid.IN1")).success
        assert (await call(wa.indicate_typing, "wamid.IN1")).success

        media = await call(wa.get_media_url, image_id)
        assert media.mime_type == "image/png" and media.file_size == len(b"\x89PNG fake")
        assert await call(wa.get_media_bytes, media.url) == b"\x89PNG fake"

    accepted = [r for r in h.standin.sent if not r.is_read_receipt]
    assert [s.id for s in sent] == [r.wamid for r in accepted]
    assert [r.type for r in accepted] == [
        "text", "text", "reaction", "reaction", "image", "image", "video", "audio", "document",
        "sticker", "location", "contacts", "interactive", "interactive", "interactive",
        "template", "template", "template", "text",
    ]  # fmt: skip
    assert all(r.phone_number_id == PHONE_ID for r in h.standin.sent)
    assert sent[0].to == "5511999990001"  # pywa read the wa_id from the stand-in's answer
    assert sent[-1].to == BSUID_ONLY.user_id  # ... and the user_id for a BSUID
    assert accepted[-1].user_id == BSUID_ONLY.user_id
    assert accepted[15].body["biz_opaque_callback_data"] == "ticket-991"
    assert len(h.standin.sent) == len(accepted) + 2


async def test_pywa_reads_the_standins_refusals() -> None:
    to = "+5511999990001"
    async with harness() as h:
        wa = h.wa

        async def refused(kind: type[E], *args: Any, **kwargs: Any) -> E:
            _, error = await h.attempt(*args, **kwargs)
            assert isinstance(error, kind), error
            assert error.fbtrace_id and error.details
            return error

        four = await refused(
            errors.InvalidParameter,
            wa.send_message,
            to,
            "Escolha",
            buttons=[pywa_types.Button(t, t) for t in "ABCD"],
        )
        assert "Max allowed buttons: 3" in four.details
        rows = [pywa_types.SectionRow(f"Opção {i}", f"r{i}") for i in range(11)]
        eleven = await refused(
            errors.InvalidParameter,
            wa.send_message,
            to,
            "Escolha",
            buttons=pywa_types.SectionList("Opções", [pywa_types.Section("Tudo", rows)]),
        )
        assert "Total row count" in eleven.details
        language = pywa_templates.TemplateLanguage("es_ES")
        await refused(errors.TemplateNotExists, wa.send_template, to, "nope", language)
        await refused(
            errors.TemplateParamCountMismatch,
            wa.send_template,
            to,
            "ticket_update",
            language,
            [pywa_templates.BodyText.params("991")],
        )
        await refused(
            errors.TemplateParamFormatMismatch,
            wa.send_template,
            to,
            "ticket_update",
            language,
            [pywa_templates.BodyText.params(number="991", state="ok")],
        )
        too_long = await refused(errors.WhatsAppError, wa.send_message, to, "x" * 4097)
        assert too_long.code == 100
        h.standin.faults.rate_limit_next = 1
        await refused(errors.RateLimitHit, wa.send_message, to, "oi")
        h.standin.token = "rotated"
        await refused(errors.ExpiredAccessToken, wa.send_message, to, "oi")
    assert h.standin.sent == []


async def test_pywa_lists_the_standins_templates() -> None:
    async with harness() as h:
        listed = await h.call(h.wa.get_templates)
        assert listed.total_count == 4 and listed.message_template_count == 4
        by_name = {t.name: t for t in listed}
        assert by_name["ticket_update"].parameter_format == pywa_templates.ParamFormat.POSITIONAL
        assert by_name["order_shipped"].parameter_format == pywa_templates.ParamFormat.NAMED
        assert by_name["spring_offer"].status == pywa_templates.TemplateStatus.PENDING
        body = next(c for c in by_name["ticket_update"].components
                    if isinstance(c, pywa_templates.BodyText))  # fmt: skip
        assert list(body.example) == ["991", "resuelto"]

        approved = await h.call(
            h.wa.get_templates,
            statuses=[pywa_templates.TemplateStatus.APPROVED],
            pagination=pywa_types.Pagination(limit=2),
        )
        assert approved.total_count == 3 and approved.has_next
        # (pywa 4.5's own TemplatesResult.next() is broken; its cursor is not.)
        rest = await h.call(
            h.wa.get_templates,
            statuses=[pywa_templates.TemplateStatus.APPROVED],
            pagination=pywa_types.Pagination(limit=2, after=approved.after),
        )
        assert [t.name for t in rest] == ["order_shipped"]


# -- webhooks ----------------------------------------------------------------------------------


async def test_pywa_parses_every_customer_message() -> None:
    customers = [*make_customers(2), BSUID_ONLY]
    async with harness() as h, h.simulator(customers) as sim:
        for customer in customers:
            for kind in MESSAGE_TYPES:
                await sim.send_message(customer, await sim.make_message(customer, kind))
        await h.wait_until(lambda: h.webhooks >= len(customers) * len(MESSAGE_TYPES))
    messages = h.of(pywa_types.Message)
    taps = h.of(pywa_types.CallbackButton)
    assert len(messages) + len(taps) == sim.stats.sent == len(customers) * len(MESSAGE_TYPES)
    assert len(taps) == len(customers)
    for update in [*messages, *taps]:
        customer = next(c for c in customers if c.user_id == update.from_user.bsuid)
        assert update.from_user.wa_id == (customer.wa_id or None)
        assert update.metadata.phone_number_id == PHONE_ID
    for tap in taps:
        assert tap.reply_to_message is not None
        assert tap.reply_to_message.from_user_id == DISPLAY
    kinds = {m.type for m in messages}
    assert kinds == {"text", "image", "location", "reaction"}
    image = next(m for m in messages if m.image is not None)
    assert image.image is not None and image.image.mime_type == "image/jpeg"


async def test_pywa_parses_statuses_and_replies_to_a_bsuid() -> None:
    ana = make_customers(1)[0]
    async with harness() as h, h.simulator([ana, BSUID_ONLY]) as sim:
        # pywa replies to the BSUID, so that is the recipient the fault names.
        h.standin.faults.fail_by_webhook[ana.user_id] = 131026
        for customer in (ana, BSUID_ONLY):
            await sim.send_text(customer, "Oi")
        await h.wait_until(lambda: len(h.of(pywa_types.Message)) >= 2)
        # pywa answers the way an application would: replying to each message (pywa
        # addresses a user by the BSUID first), once with a tracker.
        for message in h.of(pywa_types.Message):
            await h.call(message.reply_text, "Olá!", tracker=f"t-{message.from_user.bsuid}")
        await h.wait_until(lambda: len(h.of(pywa_types.MessageStatus)) >= 4)
        assert sim.stats.failed == 0
    statuses = h.of(pywa_types.MessageStatus)
    failed = [s for s in statuses if s.status == pywa_types.MessageStatusType.FAILED]
    assert [s.from_user.bsuid for s in failed] == [ana.user_id]
    assert failed[0].error is not None and failed[0].error.code == 131026
    bia = [s for s in statuses if s.from_user.bsuid == BSUID_ONLY.user_id]
    assert [s.status for s in bia] == ["sent", "delivered", "read"]
    assert all(s.from_user.wa_id is None and s.tracker == f"t-{BSUID_ONLY.user_id}" for s in bia)
    assert all(s.metadata.phone_number_id == PHONE_ID for s in statuses)
    assert {r.user_id for r in h.standin.sent} == {ana.user_id, BSUID_ONLY.user_id}


async def test_pywa_gets_the_statuses_of_its_own_number() -> None:
    """The stand-in takes sends from any phone number id; the statuses must name the one
    that sent, or a client serving that number drops them."""
    async with harness(phone_id="420000000000077") as h, h.simulator(make_customers(1)) as sim:
        assert sim.business.phone_number_id != h.phone_id
        sent = await h.call(h.wa.send_message, "+5511990000000", "Olá")
        await h.wait_until(lambda: len(h.of(pywa_types.MessageStatus)) >= 3)
    statuses = h.of(pywa_types.MessageStatus)
    assert {s.id for s in statuses} == {sent.id}
    assert {s.metadata.phone_number_id for s in statuses} == {h.phone_id}
    assert [s.status for s in statuses] == ["sent", "delivered", "read"]

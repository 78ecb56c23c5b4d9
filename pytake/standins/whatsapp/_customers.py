"""`CustomerSimulator`: WhatsApp users and Meta's webhook delivery, aimed at a PyTake server.

It plays Meta's side of the webhook: every POST body is encoded the
way Meta encodes it (`encode`) and signed over those exact bytes with the app secret
(``X-Hub-Signature-256``). Delivery follows Meta's rules: a body not answered with 200 is
retried (immediately, then less and less often, per `RetryPolicy`), a fraction of bodies is
delivered twice (``duplicates``), and several updates can share one POST (``batch``).

Given the stand-in (in-process ``standin=`` or another process's ``standin_url=``), it also
follows the outbound side: for each message the stand-in accepted it posts the statuses
that follow (``sent``, ``delivered``, ``read``; only ``sent`` for a reaction; ``failed``
with errors for a recipient in ``faults.fail_by_webhook``), optionally out of order. Each
status names the phone number id the message was sent from, and carries the recipient's
ids in ``value.contacts`` (``wa_id`` and ``user_id``), as Meta's do since the 2026 BSUIDs.

Use it as an async context manager; background work (status following, duplicate
deliveries) lives in its nursery and stops on exit::

    async with CustomerSimulator(url, secret, standin=standin) as sim:
        wamid = await sim.send_text(sim.customers[0], "Olá!")
        stats = await sim.run(rate=50, duration=10, types=("text", "image"))
"""

from __future__ import annotations

import base64
import collections
import hashlib
import math
import random
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack, suppress
from types import TracebackType
from typing import Any

import attrs
import httpx
import trio

from pytake.errors import StandInError
from pytake.standins.whatsapp import _payloads as payloads
from pytake.standins.whatsapp._cloud_api import CloudApiStandIn, SentRequest
from pytake.standins.whatsapp._errors import webhook_error
from pytake.standins.whatsapp._payloads import Business, Customer
from pytake.whatsapp import sign

#: Message types `CustomerSimulator.run` can generate.
MESSAGE_TYPES = ("text", "image", "location", "button_reply", "reaction")

_TEXTS = (
    "Olá, preciso de ajuda com o pedido #{n}",
    "¿Dónde está mi pedido {n}? 🙂",
    "My parcel {n} never arrived, see https://shop.example/orders/{n}",
    "Quero falar com um atendente, por favor",
    "Obrigado! 👍",
)
_EMOJIS = ("👍", "❤️", "😂", "🙏")


class DeliveryFailed(StandInError):
    """A webhook body was never answered with 200 within the retry policy."""

    def __init__(self, status: int | None, attempts: int) -> None:
        what = f"last answer HTTP {status}" if status is not None else "no answer"
        super().__init__(f"webhook not acknowledged after {attempts} attempts ({what})")
        self.status = status
        self.attempts = attempts


@attrs.frozen
class RetryPolicy:
    """How a body that was not answered 200 is retried, like Meta does.

    ``delays[i]`` is the wait before retry ``i + 1``; after the last one the body is given up
    (Meta keeps going for 7 days, a simulation does not).
    """

    delays: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)


@attrs.define
class SimStats:
    """Counters of one simulation run (or of a simulator's life, outside `run`).

    Latencies are in seconds: ``latencies`` has one item per HTTP attempt that got an answer,
    ``ack_latencies`` one per body, from its first attempt to its 200 (retries included).
    """

    #: Inbound messages generated.
    sent: int = 0
    #: Status updates generated.
    statuses: int = 0
    #: Distinct webhook bodies delivered (a batch is one; duplicates are not counted).
    posts: int = 0
    #: Bodies eventually answered 200, and the messages they carried.
    acked: int = 0
    messages_acked: int = 0
    #: Bodies given up after the last retry.
    failed: int = 0
    #: HTTP requests made (retries and duplicates included).
    attempts: int = 0
    retries: int = 0
    duplicates: int = 0
    transport_errors: int = 0
    status_codes: collections.Counter[int] = attrs.field(factory=collections.Counter)
    latencies: list[float] = attrs.field(factory=list)
    ack_latencies: list[float] = attrs.field(factory=list)
    started_at: float = attrs.field(factory=time.monotonic)
    elapsed: float = 0.0

    def percentile(self, q: float, values: Sequence[float] | None = None) -> float:
        """The ``q``-th percentile (0..100) of ``values`` (default ``ack_latencies``)."""
        data = sorted(self.ack_latencies if values is None else values)
        if not data:
            return math.nan
        rank = min(len(data) - 1, max(0, math.ceil(q / 100 * len(data)) - 1))
        return data[rank]

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly digest: counts, status codes and ack latency percentiles (ms)."""
        elapsed = self.elapsed or (time.monotonic() - self.started_at)
        return {
            "sent": self.sent,
            "statuses": self.statuses,
            "posts": self.posts,
            "acked": self.acked,
            "messages_acked": self.messages_acked,
            "failed": self.failed,
            "attempts": self.attempts,
            "retries": self.retries,
            "duplicates": self.duplicates,
            "transport_errors": self.transport_errors,
            "status_codes": {str(k): v for k, v in sorted(self.status_codes.items())},
            "elapsed_s": round(elapsed, 3),
            "posts_per_s": round(self.posts / elapsed, 1) if elapsed > 0 else 0.0,
            "ack_ms": {
                name: round(self.percentile(q) * 1000, 2) if self.ack_latencies else None
                for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
            },
        }


def make_customers(n: int, *, first: int = 0) -> list[Customer]:
    """``n`` distinct customers with Brazilian mobile wa_ids (``55119...``)."""
    return [
        Customer(wa_id=f"55119{90000000 + i:08d}", name=f"Cliente {i}")
        for i in range(first, first + n)
    ]


class CustomerSimulator:
    """Simulated customers posting signed webhooks to ``target`` (a PyTake webhook URL).

    ``customers``: how many to make, or the customers themselves. ``standin`` (same
    process) or ``standin_url`` (another process) enables status following and media
    registration. ``duplicates`` is the probability a body is delivered twice; ``batch``
    how many updates one POST may carry (statuses wait up to ``batch_window`` seconds for
    company); ``out_of_order`` the probability one message's
    statuses are emitted in reverse order. ``status_delays`` are the pauses before
    ``delivered`` and before ``read``. ``max_in_flight`` bounds concurrent deliveries.
    """

    def __init__(
        self,
        target: str,
        app_secret: str,
        *,
        customers: int | Sequence[Customer] = 10,
        business: Business | None = None,
        standin: CloudApiStandIn | None = None,
        standin_url: str | None = None,
        follow_statuses: bool = True,
        duplicates: float = 0.0,
        batch: int = 1,
        batch_window: float = 0.005,
        out_of_order: float = 0.0,
        read_receipts: bool = True,
        status_delays: tuple[float, float] = (0.02, 0.05),
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        max_in_flight: int = 256,
        seed: int | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.target = target
        self.app_secret = app_secret
        self.customers: list[Customer] = (
            make_customers(customers) if isinstance(customers, int) else list(customers)
        )
        self.business = business or Business()
        self.standin = standin
        self.standin_url = standin_url.rstrip("/") if standin_url else None
        self.follow_statuses = follow_statuses and (standin is not None or bool(standin_url))
        self.duplicates = duplicates
        self.batch = batch
        self.batch_window = batch_window
        self.out_of_order = out_of_order
        self.read_receipts = read_receipts
        self.status_delays = status_delays
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.stats = SimStats()
        #: The last outbound wamid the stand-in accepted for each customer, by wa_id and by
        #: user_id (a message sent to either id counts for both).
        self.last_outbound: dict[str, str] = {}
        #: Customers by wa_id and by user_id: a status names both ids of its recipient.
        self._known: dict[str, Customer] = {}
        for customer in self.customers:
            self._remember(customer)
        #: Outbound requests whose statuses were posted, in order.
        self.followed: list[SentRequest] = []
        self._client = client
        self._own_client = client is None
        self.max_in_flight = max_in_flight
        self._in_flight = trio.Semaphore(max_in_flight)
        self._stack = AsyncExitStack()
        self._nursery: trio.Nursery | None = None
        self._status_send, self._status_receive = trio.open_memory_channel[_QueuedStatus](math.inf)
        self._counter = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> CustomerSimulator:
        if self._client is None:
            limits = httpx.Limits(max_connections=self.max_in_flight)
            self._client = await self._stack.enter_async_context(
                httpx.AsyncClient(timeout=self.timeout, limits=limits, trust_env=False)
            )
        self._nursery = await self._stack.enter_async_context(trio.open_nursery())
        if self.follow_statuses:
            await self._nursery.start(self.follow_outbound)
            self._nursery.start_soon(self._post_statuses_forever)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        await self._stack.__aexit__(exc_type, exc, tb)
        self._nursery = None

    @property
    def nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("use the simulator as 'async with CustomerSimulator(...)'")
        return self._nursery

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("use the simulator as 'async with CustomerSimulator(...)'")
        return self._client

    # -- inbound messages -------------------------------------------------------------------

    def _now(self) -> int:
        return int(time.time())

    def _remember(self, customer: Customer) -> None:
        for key in (customer.wa_id, customer.user_id):
            if key:
                self._known[key] = customer

    def recipient(self, record: SentRequest) -> Customer:
        """The customer an accepted send addressed: a known one, else one derived from the
        number (a BSUID-only recipient nobody introduced has no known number)."""
        key = record.wa_id or record.user_id
        known = self._known.get(key)
        if known is not None:
            return known
        if record.wa_id:
            return Customer(wa_id=record.wa_id, name="")
        return Customer(wa_id="", name="", user_id=record.user_id)

    def _last_outbound(self, customer: Customer) -> str | None:
        return self.last_outbound.get(customer.id) or self.last_outbound.get(customer.user_id)

    async def send_text(self, customer: Customer, text: str) -> str:
        """Deliver a text message from ``customer``; return its wamid once acknowledged.

        Raises `DeliveryFailed` if the target never answered 200.
        """
        message = payloads.text_message(customer, text, timestamp=self._now())
        return await self.send_message(customer, message)

    async def send_image(
        self,
        customer: Customer,
        data: bytes | None = None,
        *,
        mime_type: str = "image/jpeg",
        caption: str | None = None,
    ) -> str:
        """Deliver an image (registered in the stand-in first, when there is one)."""
        return await self.send_message(
            customer, await self._image(customer, data, mime_type, caption)
        )

    async def send_location(
        self, customer: Customer, latitude: float, longitude: float, name: str | None = None
    ) -> str:
        message = payloads.location_message(
            customer, latitude, longitude, name=name, timestamp=self._now()
        )
        return await self.send_message(customer, message)

    async def send_button_reply(
        self, customer: Customer, reply_id: str, title: str, context_id: str | None = None
    ) -> str:
        """A tap on a reply button of ``context_id`` (default: the last outbound message)."""
        context = context_id or self._last_outbound(customer) or payloads.new_wamid()
        message = payloads.button_reply_message(
            customer,
            reply_id,
            title,
            context_id=context,
            business_number=self.business.display_phone_number,
            timestamp=self._now(),
        )
        return await self.send_message(customer, message)

    async def send_list_reply(
        self, customer: Customer, row_id: str, title: str, context_id: str | None = None
    ) -> str:
        """A row picked from the list of ``context_id`` (default: the last outbound message)."""
        context = context_id or self._last_outbound(customer) or payloads.new_wamid()
        message = payloads.list_reply_message(
            customer, row_id, title, context_id=context,
            business_number=self.business.display_phone_number, timestamp=self._now(),
        )
        return await self.send_message(customer, message)

    async def send_reaction(
        self, customer: Customer, emoji: str | None, message_id: str | None = None
    ) -> str:
        """A reaction (``emoji=None`` removes it) to ``message_id`` (default: last outbound)."""
        target = message_id or self._last_outbound(customer) or payloads.new_wamid()
        message = payloads.reaction_message(customer, target, emoji, timestamp=self._now())
        return await self.send_message(customer, message)

    async def send_message(self, customer: Customer, message: dict[str, Any]) -> str:
        """Deliver one ready-made message object from ``customer``; return its wamid."""
        self.stats.sent += 1
        self._remember(customer)
        await self.deliver([payloads.messages_value(self.business, customer, [message])], 1)
        return str(message["id"])

    async def make_message(self, customer: Customer, kind: str) -> dict[str, Any]:
        """A plausible message of ``kind`` (one of `MESSAGE_TYPES`) from ``customer``."""
        self._counter += 1
        n = self._counter
        now = self._now()
        if kind == "text":
            text = self.rng.choice(_TEXTS).format(n=n)
            return payloads.text_message(customer, text, timestamp=now)
        if kind == "image":
            return await self._image(customer, None, "image/jpeg", f"foto {n}")
        if kind == "location":
            lat = -23.55 + self.rng.uniform(-0.1, 0.1)
            lon = -46.63 + self.rng.uniform(-0.1, 0.1)
            return payloads.location_message(customer, lat, lon, name="Loja", timestamp=now)
        context = self._last_outbound(customer) or payloads.new_wamid()
        if kind in ("button_reply", "interactive"):
            choice = self.rng.choice((("yes", "Sim"), ("no", "Não, falar com atendente")))
            return payloads.button_reply_message(
                customer,
                choice[0],
                choice[1],
                context_id=context,
                business_number=self.business.display_phone_number,
                timestamp=now,
            )
        if kind == "reaction":
            emoji = self.rng.choice(_EMOJIS)
            return payloads.reaction_message(customer, context, emoji, timestamp=now)
        raise ValueError(f"unknown message type {kind!r}; choose from {', '.join(MESSAGE_TYPES)}")

    async def _image(
        self, customer: Customer, data: bytes | None, mime_type: str, caption: str | None
    ) -> dict[str, Any]:
        data = data if data is not None else _fake_jpeg(self.rng)
        media_id = await self.register_media(data, mime_type)
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        return payloads.image_message(
            customer,
            media_id,
            mime_type=mime_type,
            sha256_b64=digest,
            caption=caption,
            timestamp=self._now(),
        )

    async def register_media(self, data: bytes, mime_type: str) -> str:
        """Store ``data`` in the stand-in and return its media id (a made-up id without one)."""
        if self.standin is not None:
            return self.standin.add_media(data, mime_type)
        if self.standin_url is not None:
            response = await self.client.post(
                f"{self.standin_url}/_sim/media",
                content=data,
                headers={"content-type": mime_type},
            )
            response.raise_for_status()
            return str(response.json()["id"])
        return str(self.rng.randrange(10**15, 10**16))

    # -- delivery ---------------------------------------------------------------------------

    def signed_request(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and headers Meta would POST for ``payload``."""
        body = payloads.encode(payload)
        headers = {
            "content-type": "application/json",
            "x-hub-signature-256": sign(body, self.app_secret),
            "user-agent": "facebookexternalua",
        }
        return body, headers

    async def deliver(
        self,
        values: Sequence[dict[str, Any]],
        messages: int = 0,
        *,
        nursery: trio.Nursery | None = None,
    ) -> None:
        """POST one body holding ``values`` (change values) until answered 200.

        With probability ``duplicates`` the same bytes are delivered a second time, in the
        background (in ``nursery``, default the simulator's). ``messages`` is how many
        inbound messages the body carries, for the stats. Raises `DeliveryFailed`.
        """
        body, headers = self.signed_request(payloads.envelope(self.business, values))
        self.stats.posts += 1
        if self.duplicates > 0 and self.rng.random() < self.duplicates:
            self.stats.duplicates += 1
            (nursery or self.nursery).start_soon(self._duplicate, body, headers)
        await self._post_until_acked(body, headers, messages)

    async def _duplicate(self, body: bytes, headers: dict[str, str]) -> None:
        await trio.sleep(self.rng.uniform(0.0, 0.02))
        with suppress(DeliveryFailed):
            await self._post_until_acked(body, headers, 0, duplicate=True)

    async def _post_until_acked(
        self, body: bytes, headers: dict[str, str], messages: int, *, duplicate: bool = False
    ) -> None:
        first = time.monotonic()
        status: int | None = None
        delays = self.retry.delays
        for attempt in range(len(delays) + 1):
            if attempt:
                self.stats.retries += 1
                await trio.sleep(delays[attempt - 1])
            status = await self._attempt(body, headers)
            if status == 200:
                if not duplicate:
                    self.stats.acked += 1
                    self.stats.messages_acked += messages
                    self.stats.ack_latencies.append(time.monotonic() - first)
                return
        if not duplicate:
            self.stats.failed += 1
        raise DeliveryFailed(status, len(delays) + 1)

    async def _attempt(self, body: bytes, headers: dict[str, str]) -> int | None:
        self.stats.attempts += 1
        start = time.monotonic()
        try:
            response = await self.client.post(self.target, content=body, headers=headers)
        except httpx.TransportError:
            self.stats.transport_errors += 1
            return None
        self.stats.latencies.append(time.monotonic() - start)
        self.stats.status_codes[response.status_code] += 1
        return response.status_code

    # -- load -------------------------------------------------------------------------------

    async def run(self, rate: float, duration: float, types: Sequence[str] = ("text",)) -> SimStats:
        """Send ``rate`` messages per second for ``duration`` seconds, spread round-robin over
        the customers, of types drawn from ``types``; wait for every delivery (retries and
        duplicates included) and return this run's stats (also ``self.stats`` meanwhile).

        With ``batch`` > 1, consecutive messages share one POST (grouped per customer).
        When ``max_in_flight`` deliveries are pending the generator waits, so a slow target
        shows up as a lower achieved rate rather than unbounded concurrency.
        """
        for kind in types:
            if kind not in (*MESSAGE_TYPES, "interactive"):
                raise ValueError(f"unknown message type {kind!r}")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.stats = stats = SimStats()
        total = max(1, round(rate * duration))
        start = trio.current_time()
        pending: list[tuple[Customer, dict[str, Any]]] = []
        async with trio.open_nursery() as nursery:
            for i in range(total):
                await trio.sleep_until(start + i / rate)
                customer = self.customers[i % len(self.customers)]
                pending.append(
                    (customer, await self.make_message(customer, self.rng.choice(types)))
                )
                stats.sent += 1
                if len(pending) >= self.batch:
                    await self._spawn_batch(nursery, pending)
                    pending = []
            if pending:
                await self._spawn_batch(nursery, pending)
        stats.elapsed = time.monotonic() - stats.started_at
        return stats

    async def _spawn_batch(
        self, nursery: trio.Nursery, items: list[tuple[Customer, dict[str, Any]]]
    ) -> None:
        by_customer: dict[str, tuple[Customer, list[dict[str, Any]]]] = {}
        for customer, message in items:
            by_customer.setdefault(customer.wa_id, (customer, []))[1].append(message)
        values = [
            payloads.messages_value(self.business, customer, messages)
            for customer, messages in by_customer.values()
        ]
        # Backpressure: the slot is taken here and given back when the delivery ends.
        await self._in_flight.acquire()
        nursery.start_soon(self._deliver_quietly, values, len(items), nursery)

    async def _deliver_quietly(
        self, values: list[dict[str, Any]], messages: int, nursery: trio.Nursery
    ) -> None:
        try:
            await self.deliver(values, messages, nursery=nursery)
        except DeliveryFailed:
            pass  # counted in stats.failed
        finally:
            self._in_flight.release()

    # -- outbound statuses ------------------------------------------------------------------

    async def follow_outbound(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Forever: for each request the stand-in accepts, emit the statuses that follow."""
        after = 0
        task_status.started()
        while True:
            for record in await self._next_sent(after):
                after = max(after, record.index)
                if not record.is_read_receipt:
                    self.followed.append(record)
                    customer = self.recipient(record)
                    for key in (customer.wa_id, customer.user_id):
                        if key:
                            self.last_outbound[key] = str(record.wamid)
                    self.nursery.start_soon(self.emit_statuses, record)

    async def _next_sent(self, after: int) -> list[SentRequest]:
        if self.standin is not None:
            await self.standin.wait_for_more(after)
            return self.standin.sent[after:]
        try:
            response = await self.client.get(
                f"{self.standin_url}/_sim/sent",
                params={"after": after, "wait": 10},
                timeout=self.timeout + 10,
            )
            response.raise_for_status()
            return [SentRequest.from_json(item) for item in response.json()["sent"]]
        except (httpx.HTTPError, ValueError, KeyError):
            await trio.sleep(0.5)  # the stand-in restarting, or not up yet
            return []

    def statuses_for(self, record: SentRequest) -> list[str]:
        """The statuses Meta would report for an accepted outbound ``record``, in true order."""
        if record.webhook_failure is not None:
            return ["failed"]
        if record.type == "reaction":
            return ["sent"]
        return ["sent", "delivered", "read"] if self.read_receipts else ["sent", "delivered"]

    async def emit_statuses(self, record: SentRequest) -> None:
        """Queue ``record``'s statuses for delivery, spaced by ``status_delays``; reversed
        (latest first) with probability ``out_of_order``."""
        states = self.statuses_for(record)
        base = int(record.received_at)
        stamps = [base + i for i in range(len(states))]
        order = list(range(len(states)))
        if self.out_of_order > 0 and self.rng.random() < self.out_of_order:
            order.reverse()
        for position, i in enumerate(order):
            delay = (
                self.status_delays[min(position, len(self.status_delays)) - 1] if position else 0
            )
            if delay > 0:
                await trio.sleep(delay)
            errors = None
            if states[i] == "failed" and record.webhook_failure is not None:
                errors = [webhook_error(record.webhook_failure)]
            callback = record.body.get("biz_opaque_callback_data")
            customer = self.recipient(record)
            item = payloads.status(
                str(record.wamid),
                states[i],
                # Sent to a phone number: that number. Sent to a BSUID: the number only if
                # Meta knows it, and the BSUID in recipient_user_id.
                recipient_id=record.wa_id or customer.wa_id,
                recipient_user_id=record.user_id or None,
                timestamp=stamps[i],
                errors=errors,
                biz_opaque_callback_data=callback if isinstance(callback, str) else None,
            )
            self.stats.statuses += 1
            self._status_send.send_nowait(
                _QueuedStatus(record.phone_number_id, payloads.status_contact(customer), item)
            )

    async def _post_statuses_forever(self) -> None:
        """Group queued statuses (up to ``batch`` per POST) and deliver them."""
        while True:
            items = [await self._status_receive.receive()]
            # Meta batches what is pending at once; a short window lets a burst gather.
            with trio.move_on_after(self.batch_window if self.batch > 1 else 0):
                while len(items) < self.batch:
                    items.append(await self._status_receive.receive())
            self.nursery.start_soon(self._deliver_statuses, self._status_values(items))

    def _status_values(self, items: list[_QueuedStatus]) -> list[dict[str, Any]]:
        """One change value per sending phone number: a status names the number that sent
        the message (``metadata.phone_number_id``), whatever the simulator's ``business``."""
        grouped: dict[str, list[_QueuedStatus]] = {}
        for item in items:
            grouped.setdefault(item.phone_number_id, []).append(item)
        values = []
        for phone_number_id, group in grouped.items():
            business = attrs.evolve(self.business, phone_number_id=phone_number_id)
            contacts = list(
                {(c["wa_id"], c["user_id"]): c for c in (q.contact for q in group)}.values()
            )
            values.append(payloads.statuses_value(business, [q.status for q in group], contacts))
        return values

    async def _deliver_statuses(self, values: list[dict[str, Any]]) -> None:
        with suppress(DeliveryFailed):  # counted in stats.failed
            await self.deliver(values)


@attrs.frozen
class _QueuedStatus:
    """A status waiting for its POST, with what its change value needs."""

    phone_number_id: str
    contact: dict[str, Any]
    status: dict[str, Any]


def _fake_jpeg(rng: random.Random) -> bytes:
    """A small blob with a JPEG signature: good enough for a receiver that stores media."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(1024) + b"\xff\xd9"

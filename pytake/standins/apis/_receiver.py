"""`WebhookReceiver`: an endpoint that takes PyTake's webhook deliveries and checks them.

Any ``POST`` is a delivery. Its Standard Webhooks headers (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) and its earlier-version signature
(``X-PyTake-Signature``) are both checked against ``secret``; a delivery that fails either is
answered 401 (set ``reject_bad_signatures=False`` to take it anyway). A timestamp more than
five minutes from this machine's clock fails, as a replay would. Each delivery is recorded
as a `ReceivedDelivery`, whatever was answered, so tests see retries and their attempt
numbers. Faults apply as in the other stand-ins (5xx,
slow answers, dropped connections); ``status`` answers every good delivery with another
status (410 to unsubscribe, 400 for a permanent failure...).
"""

from __future__ import annotations

from typing import Any

import attrs

from pytake.modules.builtin.webhook import SIGNATURE_HEADER, verify_delivery, verify_signature
from pytake.standins.apis._asgi import Reply, Request, StandIn
from pytake.standins.apis._faults import ApiFaults


@attrs.frozen
class ReceivedDelivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    #: The body as JSON (``None`` if it is not).
    event: Any
    #: Both signatures right: the Standard Webhooks one (in time) and ``X-PyTake-Signature``.
    signature_valid: bool

    @property
    def event_id(self) -> str | None:
        return self.headers.get("x-pytake-delivery")

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def attempt(self) -> int:
        return int(self.headers.get("x-pytake-attempt", "0"))


class WebhookReceiver(StandIn):
    """A local webhook endpoint; ``deliveries`` lists every POST, in order."""

    def __init__(
        self,
        *,
        secret: str = "",
        faults: ApiFaults | None = None,
        reject_bad_signatures: bool = True,
        status: int = 200,
    ) -> None:
        super().__init__(token=None, faults=faults)
        self.secret = secret
        self.reject_bad_signatures = reject_bad_signatures
        self.status = status
        self.deliveries: list[ReceivedDelivery] = []

    def reset(self) -> None:
        super().reset()
        self.deliveries.clear()

    def received(self, request: Request) -> None:
        if request.method != "POST":
            return
        self.deliveries.append(
            ReceivedDelivery(
                path=request.path,
                headers=request.headers,
                body=request.body,
                event=request.json(),
                signature_valid=self._valid(request),
            )
        )

    def _valid(self, request: Request) -> bool:
        header = request.headers.get(SIGNATURE_HEADER.lower())
        return verify_signature(self.secret, request.body, header) and verify_delivery(
            self.secret, request.headers, request.body
        )

    async def handle(self, request: Request) -> Reply:
        if request.method != "POST":
            return Reply.json(405, {"error": "POST only"})
        if self.reject_bad_signatures and not self._valid(request):
            return Reply.json(401, {"error": "bad signature"})
        return Reply.json(self.status, {"received": request.headers.get("x-pytake-delivery")})

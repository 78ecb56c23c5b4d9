"""`CloudApiStandIn`: the WhatsApp Cloud API, served locally as a lean raw ASGI app.

Routes (``{version}`` is any ``vNN.N``; Graph routes require ``Authorization: Bearer``):

==========================================  =============================================
``POST /{version}/{phone_number_id}/messages``  send a message, or mark one as read
``POST /{version}/{phone_number_id}/media``     upload media (multipart: file, type, product)
``GET  /{version}/{media_id}``                  media metadata and a short-lived URL
``GET  /{version}/{waba_id}/message_templates`` the configured templates, paged
``GET  /_media/{token}``                        the media bytes (Bearer required, URL expires)
``GET  /_sim/sent?after=N&wait=S``              accepted sends after the N-th (long poll)
``GET|POST /_sim/faults``                       read or change the fault knobs (JSON)
``POST /_sim/media``                            register media: raw body, Content-Type
``POST /_sim/media/expire``                     expire every media URL now
``POST /_sim/reset``                            forget sends and turn faults off
==========================================  =============================================

The app is not built on Quart on purpose: the stand-in is load-tested, and a raw ASGI
callable keeps its own cost far below that of the server under test. It is only ever used
from the trio thread that serves it, so its state needs no locks.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import attrs
import trio

from pytake.standins.whatsapp._errors import ApiProblem, error_body, http_status
from pytake.standins.whatsapp._faults import Decision, Faults, Outcome
from pytake.standins.whatsapp._payloads import new_wamid
from pytake.standins.whatsapp._templates import DEFAULT_TEMPLATES, Template, listing
from pytake.standins.whatsapp._validation import (
    MEDIA_LIMITS,
    recipient,
    recipient_ids,
    validate_send,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Request headers kept in `SentRequest.headers` (lower-case names).
RECORDED_HEADERS = frozenset(
    {"authorization", "content-type", "user-agent", "idempotency-key", "x-request-id"}
)

__all__ = ["DEFAULT_TEMPLATES", "CloudApiStandIn", "SentRequest", "Template"]

#: Largest request body read (Meta's webhook limit is 3 MB; sends are far smaller).
MAX_BODY = 4 * 1024 * 1024
#: Largest media upload read: a 100 MB document and its multipart framing.
MAX_UPLOAD = 101 * 1024 * 1024

_GRAPH_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)(?:/([^/]+))?/?$")


@attrs.frozen
class SentRequest:
    """One accepted ``POST /{version}/{phone_number_id}/messages``."""

    #: 1 for the first accepted request, 2 for the next...
    index: int
    phone_number_id: str
    #: The parsed JSON body as the client sent it.
    body: dict[str, Any]
    #: A subset of the request headers (`RECORDED_HEADERS`), names lower-case.
    headers: dict[str, str]
    #: The id answered for a message; ``None`` for a mark-as-read request.
    wamid: str | None
    #: Wall-clock time (``time.time()``) of acceptance.
    received_at: float
    #: Code of the ``failed`` status Meta would report later by webhook, if any.
    webhook_failure: int | None = None

    @property
    def is_read_receipt(self) -> bool:
        """True for a mark-as-read (or typing indicator) request."""
        return self.wamid is None

    @property
    def to(self) -> str:
        """The recipient as sent: ``to``, or ``recipient`` (a BSUID, as some clients send it)."""
        return recipient(self.body)

    @property
    def wa_id(self) -> str:
        """The recipient's phone-based id (the digits of ``to``); ``""`` if sent to a BSUID."""
        return recipient_ids(self.to)[0]

    @property
    def user_id(self) -> str:
        """The recipient's BSUID if the message was sent to one, else ``""``."""
        return recipient_ids(self.to)[1]

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "phone_number_id": self.phone_number_id,
            "body": self.body,
            "headers": self.headers,
            "wamid": self.wamid,
            "received_at": self.received_at,
            "webhook_failure": self.webhook_failure,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentRequest:
        return cls(
            index=int(data["index"]),
            phone_number_id=str(data["phone_number_id"]),
            body=dict(data["body"]),
            headers=dict(data["headers"]),
            wamid=data.get("wamid"),
            received_at=float(data["received_at"]),
            webhook_failure=data.get("webhook_failure"),
        )


@attrs.define
class _Media:
    data: bytes
    mime_type: str
    sha256: str


class CloudApiStandIn:
    """A local, in-memory WhatsApp Cloud API, as an ASGI application.

    Serve it with `run_standin` (tests) or ``pytake whatsapp-sim serve``; point PyTake's
    outbound client at its base URL. What a caller may rely on:

    - ``sent``: every accepted send request, in order of acceptance (`SentRequest`);
      ``await wait_for_sent(n)`` returns the n-th one as soon as it exists.
    - ``faults``: mutable `Faults`; changes apply to the next request.
    - ``add_media(data, mime_type)`` returns a media id the Graph media routes serve.
    - ``templates``: the list ``message_templates`` pages through.

    ``token`` is the only Bearer token accepted. ``phone_number_ids`` limits the senders
    (``None``: any id). ``media_url_ttl`` is how long a media URL works, in seconds.
    ``seed`` makes the probability faults reproducible. ``clock`` (seconds, monotonic) is
    only for media URL expiry.
    """

    def __init__(
        self,
        *,
        token: str = "sim-token",
        phone_number_ids: Iterable[str] | None = None,
        templates: Iterable[Template] = DEFAULT_TEMPLATES,
        media_url_ttl: float = 300.0,
        faults: Faults | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        base_url: str | None = None,
    ) -> None:
        self.token = token
        self.phone_number_ids = None if phone_number_ids is None else set(phone_number_ids)
        self.templates: list[Template] = list(templates)
        self.media_url_ttl = media_url_ttl
        self.faults = faults if faults is not None else Faults()
        self.rng = random.Random(seed)
        self.clock = clock
        #: Set by `run_standin` once bound; media URLs otherwise use the request's Host.
        self.base_url = base_url
        self.sent: list[SentRequest] = []
        self._changed = trio.Event()
        self._media: dict[str, _Media] = {}
        self._media_urls: dict[str, tuple[str, float]] = {}
        self._next_media = 1_013_859_600_000_001
        #: Send requests answered with an error or dropped, by outcome (for assertions).
        self.rejected: dict[str, int] = {}

    # -- Python API -------------------------------------------------------------------------

    async def wait_for_sent(self, n: int, timeout: float = 5.0) -> SentRequest:
        """The ``n``-th accepted request (1-based), waiting up to ``timeout`` seconds for it.

        Raises `trio.TooSlowError` if it has not arrived in time.
        """
        if n < 1:
            raise ValueError("n counts from 1")
        with trio.fail_after(timeout):
            while len(self.sent) < n:
                await self._changed.wait()
        return self.sent[n - 1]

    async def wait_for_more(self, after: int) -> None:
        """Return as soon as more than ``after`` requests have been accepted."""
        while len(self.sent) <= after:
            await self._changed.wait()

    def add_media(self, data: bytes, mime_type: str) -> str:
        """Store ``data`` as uploaded media; return its media id."""
        media_id = str(self._next_media)
        self._next_media += 1
        self._media[media_id] = _Media(data, mime_type, hashlib.sha256(data).hexdigest())
        return media_id

    def _media_facts(self, media_id: str) -> tuple[str, int] | None:
        media = self._media.get(media_id)
        return None if media is None else (media.mime_type, len(media.data))

    def expire_media_urls(self) -> None:
        """Make every media URL handed out so far answer 404 (media ids stay valid)."""
        self._media_urls.clear()

    def reset(self) -> None:
        """Forget accepted requests and rejections; turn every fault off."""
        self.sent.clear()
        self.rejected.clear()
        self.faults.reset()
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: refuse
            return
        try:
            await self._dispatch(scope, receive, send)
        except ApiProblem as problem:
            await _send_json(send, problem.status, error_body(problem.code, problem.details))

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        if path.startswith("/_sim/"):
            await self._control(scope, method, path, receive, send)
            return
        if path.startswith("/_media/"):
            if method != "GET":
                raise ApiProblem(100, f"Unsupported {method.lower()} request", status=405)
            await self._download(scope, path.removeprefix("/_media/"), send)
            return
        match = _GRAPH_PATH.match(path)
        if match is None:
            raise ApiProblem(100, f"Unknown path components: {path}", status=404)
        _version, node, edge = match.groups()
        self._authorize(scope)
        if method == "POST" and edge == "messages":
            await self._messages(scope, node, await _read_body(receive), send)
        elif method == "POST" and edge == "media":
            self._known_number(node)
            raw = await _read_body(receive, MAX_UPLOAD)
            media_id = self.add_media(*_uploaded_file(_header(scope, b"content-type"), raw))
            await _send_json(send, 200, {"id": media_id})
        elif method == "GET" and edge == "message_templates":
            await self._templates(scope, node, send)
        elif method == "GET" and edge is None:
            await self._media_info(scope, node, send)
        else:
            raise ApiProblem(100, f"Unsupported {method.lower()} request for {path}")

    def _authorize(self, scope: Scope) -> None:
        if _bearer(scope) != self.token:
            raise ApiProblem(190)

    # -- messages ---------------------------------------------------------------------------

    def _known_number(self, phone_number_id: str) -> None:
        if self.phone_number_ids is not None and phone_number_id not in self.phone_number_ids:
            raise ApiProblem(
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.",
            )

    async def _messages(self, scope: Scope, phone_number_id: str, raw: bytes, send: Send) -> None:
        self._known_number(phone_number_id)
        body = validate_send(_json_object(raw), self.templates, self._media_facts)
        decision = self.faults.decide(recipient(body), self.rng)
        if decision.delay > 0:
            await trio.sleep(decision.delay)
        if decision.outcome is Outcome.DROP:
            self.rejected["drop"] = self.rejected.get("drop", 0) + 1
            if self.faults.drop_after_accept:
                self._accept(scope, phone_number_id, body, decision)
            await drop_connection(send)
            return
        if decision.outcome is not Outcome.ACCEPT:
            self.rejected[decision.outcome.value] = self.rejected.get(decision.outcome.value, 0) + 1
            await self._refuse(send, decision)
            return
        record = self._accept(scope, phone_number_id, body, decision)
        if record.wamid is None:
            await _send_json(send, 200, {"success": True})
            return
        # Meta names the recipient by the kind of id it was sent to: a phone number comes
        # back as the wa_id, a BSUID as the user_id.
        contact = {"input": record.to}
        contact.update({"wa_id": record.wa_id} if record.wa_id else {"user_id": record.user_id})
        await _send_json(
            send,
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": record.wamid}],
            },
        )

    def _accept(
        self, scope: Scope, phone_number_id: str, body: dict[str, Any], decision: Decision
    ) -> SentRequest:
        is_read = "status" in body
        record = SentRequest(
            index=len(self.sent) + 1,
            phone_number_id=phone_number_id,
            body=body,
            headers={
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in scope["headers"]
                if name.decode("latin-1").lower() in RECORDED_HEADERS
            },
            wamid=None if is_read else new_wamid(),
            received_at=time.time(),
            webhook_failure=None if is_read else decision.webhook_failure,
        )
        self.sent.append(record)
        self._notify()
        return record

    async def _refuse(self, send: Send, decision: Decision) -> None:
        if decision.outcome is Outcome.SERVER_ERROR and decision.code is None:
            # What a proxy in front of Graph answers: no Meta error object at all.
            text = f"{decision.http_status} Service Unavailable\n".encode()
            await _send_raw(send, decision.http_status, text, b"text/plain")
            return
        assert decision.code is not None
        status = 500 if decision.outcome is Outcome.SERVER_ERROR else http_status(decision.code)
        await _send_json(send, status, error_body(decision.code))

    # -- media ------------------------------------------------------------------------------

    async def _media_info(self, scope: Scope, media_id: str, send: Send) -> None:
        media = self._media.get(media_id)
        if media is None:
            raise ApiProblem(
                100,
                f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot "
                "be loaded due to missing permissions, or does not support this operation.",
            )
        token = secrets.token_urlsafe(24)
        self._media_urls[token] = (media_id, self.clock() + self.media_url_ttl)
        await _send_json(
            send,
            200,
            {
                "messaging_product": "whatsapp",
                "url": f"{self._origin(scope)}/_media/{token}",
                "mime_type": media.mime_type,
                "sha256": media.sha256,
                "file_size": len(media.data),
                "id": media_id,
            },
        )

    async def _download(self, scope: Scope, token: str, send: Send) -> None:
        if _bearer(scope) != self.token:
            raise ApiProblem(190)
        entry = self._media_urls.get(token)
        if entry is not None and entry[1] <= self.clock():
            del self._media_urls[token]
            entry = None
        media = None if entry is None else self._media.get(entry[0])
        if media is None:
            await _send_raw(send, 404, b"Not Found", b"text/plain")
            return
        await _send_raw(send, 200, media.data, media.mime_type.encode("latin-1"))

    def _origin(self, scope: Scope) -> str:
        host = _header(scope, b"host")
        if host:
            return f"{scope.get('scheme', 'http')}://{host}"
        return self.base_url or ""

    # -- templates --------------------------------------------------------------------------

    async def _templates(self, scope: Scope, waba_id: str, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        answer = listing(self.templates, query, f"{self._origin(scope)}{scope['path']}")
        await _send_json(send, 200, answer)

    async def _long_poll(self, after: int, wait: float, receive: Receive) -> None:
        """Wait up to ``wait`` s for a request after the ``after``-th, or for the client to
        go away (so a cancelled poll never holds up the server's shutdown)."""

        async def until_disconnect(scope: trio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            scope.cancel()

        with trio.move_on_after(wait) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(until_disconnect, scope)
                await self.wait_for_more(after)
                nursery.cancel_scope.cancel()

    # -- control routes ---------------------------------------------------------------------

    async def _control(
        self, scope: Scope, method: str, path: str, receive: Receive, send: Send
    ) -> None:
        route = (method, path.rstrip("/"))
        if route == ("GET", "/_sim/sent"):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            try:
                after = max(0, int(query.get("after", ["0"])[0]))
                wait = min(30.0, float(query.get("wait", ["0"])[0]))
            except ValueError:
                raise ApiProblem(100, "after and wait must be numbers") from None
            if wait > 0:
                await self._long_poll(after, wait, receive)
            records = [r.to_json() for r in self.sent[after:]]
            await _send_json(send, 200, {"count": len(self.sent), "sent": records})
        elif route == ("GET", "/_sim/faults"):
            await _send_json(send, 200, self.faults.to_json())
        elif route == ("POST", "/_sim/faults"):
            changes = _json_object(await _read_body(receive))
            try:
                self.faults.update(changes)
            except ValueError as exc:
                raise ApiProblem(100, str(exc)) from None
            await _send_json(send, 200, self.faults.to_json())
        elif route == ("POST", "/_sim/media"):
            data = await _read_body(receive)
            mime = _header(scope, b"content-type") or "application/octet-stream"
            await _send_json(send, 200, {"id": self.add_media(data, mime)})
        elif route == ("POST", "/_sim/media/expire"):
            self.expire_media_urls()
            await _send_json(send, 200, {"success": True})
        elif route == ("POST", "/_sim/reset"):
            self.reset()
            await _send_json(send, 200, {"success": True})
        else:
            raise ApiProblem(100, f"Unknown simulator route: {method} {path}", status=404)


# -- validation (pure) ----------------------------------------------------------------------


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiProblem(100, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiProblem(100, "The request body must be a JSON object")
    return body


def _uploaded_file(content_type: str | None, raw: bytes) -> tuple[bytes, str]:
    """The bytes and MIME type of an upload's ``file`` part, checked as Meta does: the
    ``messaging_product`` field, a ``type`` WhatsApp sends, within that type's size limit."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise ApiProblem(100, "Param file must be a file with one of the following types: "
                              "multipart/form-data upload expected")
    envelope = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(envelope + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = part
    product = fields.get("messaging_product")
    if product is None or product.get_content().strip() != "whatsapp":
        raise ApiProblem(100, "The parameter messaging_product is required.")
    file = fields.get("file")
    if file is None:
        raise ApiProblem(100, "The parameter file is required.")
    data = file.get_payload(decode=True) or b""
    declared = fields.get("type")
    mime = (declared.get_content().strip() if declared is not None
            else file.get_content_type()).split(";", 1)[0].lower()
    for types, limit in MEDIA_LIMITS.values():
        if mime in types:
            if len(data) > limit:
                raise ApiProblem(131053, f"Media upload error: file of {len(data)} bytes is "
                                         f"larger than {limit} for {mime}")
            return data, mime
    raise ApiProblem(131053, f"Media upload error: unsupported type {mime!r}")


# -- ASGI plumbing --------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _read_body(receive: Receive, limit: int = MAX_BODY) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiProblem(100, "client disconnected")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiProblem(100, "The request body is too large", status=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_raw(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await _send_raw(send, status, body, b"application/json")


async def drop_connection(send: Send) -> None:
    """Cut the connection without a complete answer.

    An ASGI app cannot close a socket before answering (Hypercorn would answer 500 for it),
    so the stand-in promises a body it never sends: Hypercorn then closes the connection,
    and an HTTP client sees the peer close mid-response (httpx: ``RemoteProtocolError``).
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Answer ASGI lifespan messages (a stand-in has nothing to start or stop)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

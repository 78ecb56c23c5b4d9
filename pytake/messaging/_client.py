"""`CloudApiClient`: the Graph API calls PyTake makes, and nothing else.

Every call goes to ``{base_url}/{version}/...`` with ``Authorization: Bearer <token>``: the
token of the business number it is made for (``tokens``, see `pytake.messaging.NumberBook`),
else the default one;
``base_url`` is Meta's (``https://graph.facebook.com``) in production and the stand-in's in
tests and demos (``pytake.standins.whatsapp``), so both are driven by the same code.

Errors. Anything but success raises `pytake.errors.CloudApiError`:

- a Meta error body (``{"error": {"code", "message", "error_data": {"details"},
  "fbtrace_id"}}``) gives its ``code``, ``details`` and ``fbtrace_id``, plus the HTTP status;
- a non-Meta error answer (a proxy's 502 page) gives ``code`` 0 with the HTTP status;
- no answer at all (connection refused or dropped, timeout) gives ``code`` 0 and
  ``http_status`` ``None``.

``retryable`` follows docs/whatsapp.md#errors: rate limits (130429, 131056), transient and unknown
errors (1, 2, 131000, 131016, 133004), maintenance (131057), HTTP 5xx without a known
permanent code, and network failures are retryable; everything else (190 token expired,
131047 window closed, 100 bad parameter, ...) is not, because sending the same request again
cannot succeed. Note that a dropped connection is *ambiguous*: Meta may have accepted the
message before the answer was lost. The outbox documents what it does about that.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import attrs
import httpx
import trio

from pytake.errors import CloudApiError
from pytake.httpclient import pooled_client

__all__ = [
    "PERMANENT_CODES",
    "RETRYABLE_CODES",
    "CloudApiClient",
    "MediaInfo",
    "SendResult",
    "error_from_response",
    "is_retryable",
]

log = logging.getLogger("pytake.whatsapp")

#: Codes for which sending the same request later may succeed (§6.4).
RETRYABLE_CODES: Final = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057,
                                    133004})
#: Codes that are final whatever the HTTP status says.
PERMANENT_CODES: Final = frozenset({
    0, 3, 10, 100, 190, 368, 130403, 130472, 131005, 131008, 131009, 131021, 131026, 131030,
    131031, 131042, 131045, 131047, 131048, 131049, 131050, 131051, 131052, 131053, 131064,
    132000, 132001, 132005, 132007, 132012, 132015, 132016, 133010, 135000,
})


def is_retryable(code: int, http_status: int | None) -> bool:
    """The §6.4 rule: may the same request succeed later?"""
    if code in RETRYABLE_CODES:
        return True
    if http_status is None:
        return code == 0  # no answer: a network failure
    if 200 <= code <= 299 or code in PERMANENT_CODES:
        return False
    return http_status >= 500 or http_status == 429


@attrs.frozen
class SendResult:
    """What the Cloud API answered to an accepted send: acceptance, not delivery."""

    #: The message id (``wamid.…``) that status webhooks will carry.
    wamid: str
    #: ``contacts[0].wa_id`` (may differ from what was sent; empty for a BSUID send).
    wa_id: str | None
    #: ``contacts[0].input``, what we sent as ``to``.
    input: str | None
    #: ``messages[0].message_status`` for paced templates (``accepted``, ``paused``, ...).
    message_status: str | None = None


@attrs.frozen
class MediaInfo:
    """``GET /{media-id}``: where to download the media (for 5 minutes) and how to check it."""

    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None


def error_from_response(response: httpx.Response) -> CloudApiError:
    """The `CloudApiError` for a failed answer (Meta-shaped body or not)."""
    status = response.status_code
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else 0
        error_data = error.get("error_data")
        details = ""
        if isinstance(error_data, dict) and isinstance(error_data.get("details"), str):
            details = error_data["details"]
        message = str(error.get("message") or error.get("type") or f"HTTP {status}")
        trace = error.get("fbtrace_id")
        return CloudApiError(
            code,
            message,
            details=details,
            http_status=status,
            fbtrace_id=trace if isinstance(trace, str) else None,
            retryable=is_retryable(code, status),
        )
    text = " ".join(response.text.split())[:200] if response.content else ""
    return CloudApiError(
        0,
        f"HTTP {status} {response.reason_phrase}".strip(),
        details=text,
        http_status=status,
        retryable=status >= 500 or status == 429,
    )


def _network_error(exc: BaseException, what: str) -> CloudApiError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return CloudApiError(
        0, f"{what} {kind}: {type(exc).__name__}", details=str(exc)[:200], retryable=True
    )


class CloudApiClient:
    """The Cloud API over HTTP. ``http`` lets callers share one `httpx.AsyncClient` (its
    connection pool); otherwise the client owns one, closed by `aclose` / ``async with``.

    ``token`` may be replaced at run time (``client.token = new``), e.g. after a 190.
    ``tokens(phone_number_id)``, when given, names the token of that number's calls
    (``""``: use ``token``); it is called for every request, so it must be a cheap lookup.
    """

    def __init__(
        self,
        base_url: str,
        version: str,
        token: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        tokens: Callable[[str], str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.token = token
        self.tokens = tokens
        self.timeout = timeout
        self._owns_http = http is None
        self.http = http if http is not None else pooled_client(timeout=timeout)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> CloudApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def url(self, *parts: str) -> str:
        return "/".join((self.base_url, self.version, *parts))

    def _headers(self, phone_number_id: str | None = None) -> dict[str, str]:
        token = self.token
        if phone_number_id and self.tokens is not None:
            token = self.tokens(phone_number_id) or token
        return {"Authorization": f"Bearer {token}"}

    async def _request(
        self, method: str, url: str, what: str, *, json: Any = None,
        params: dict[str, str] | None = None, number: str | None = None,
    ) -> Any:
        try:
            response = await self.http.request(
                method, url, json=json, params=params, headers=self._headers(number),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise _network_error(exc, what) from exc
        if response.status_code >= 400:
            error = error_from_response(response)
            log.debug("%s: %s (fbtrace_id %s)", what, error, error.fbtrace_id)
            raise error
        try:
            return response.json()
        except ValueError:
            raise CloudApiError(
                0, f"{what}: answer is not JSON", http_status=response.status_code,
                retryable=False,
            ) from None

    async def post_messages(self, phone_number_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``/{phone_number_id}/messages``; the raw JSON answer."""
        data = await self._request(
            "POST", self.url(phone_number_id, "messages"), "send", json=body,
            number=phone_number_id,
        )
        if not isinstance(data, dict):
            raise CloudApiError(0, "send: answer is not a JSON object", http_status=200)
        return data

    async def send(self, phone_number_id: str, body: dict[str, Any]) -> SendResult:
        """Send one message body (from `pytake.whatsapp._outbound`); the acceptance."""
        data = await self.post_messages(phone_number_id, body)
        messages = data.get("messages")
        if not (isinstance(messages, list) and messages and isinstance(messages[0], dict)
                and isinstance(messages[0].get("id"), str)):
            # Accepted or not? We cannot tell; the caller treats it as a final failure
            # rather than risk sending twice.
            raise CloudApiError(0, "send: answer has no messages[0].id", http_status=200,
                                details=str(data)[:200])
        contacts = data.get("contacts")
        contact: dict[str, Any] = (
            contacts[0] if isinstance(contacts, list) and contacts
            and isinstance(contacts[0], dict) else {}
        )
        return SendResult(
            wamid=messages[0]["id"],
            wa_id=contact.get("wa_id") or None,
            input=contact.get("input"),
            message_status=messages[0].get("message_status"),
        )

    async def mark_read(
        self, phone_number_id: str, message_id: str, typing: bool = False
    ) -> None:
        """Mark ``message_id`` as read (and show the typing indicator if ``typing``)."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp", "status": "read", "message_id": message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self.post_messages(phone_number_id, body)

    async def get_media(self, media_id: str, phone_number_id: str | None = None) -> MediaInfo:
        """``GET /{media_id}``: a fresh download URL (valid 5 minutes) and the checksum."""
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        data = await self._request("GET", self.url(media_id), "get media", params=params,
                                   number=phone_number_id)
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise CloudApiError(0, "get media: answer has no url", http_status=200)
        size = data.get("file_size")
        try:
            file_size = int(size) if size is not None else None
        except (TypeError, ValueError):
            file_size = None
        return MediaInfo(
            id=str(data.get("id") or media_id),
            url=data["url"],
            mime_type=data.get("mime_type"),
            sha256=data.get("sha256"),
            file_size=file_size,
        )

    async def upload_media(
        self, phone_number_id: str, data: bytes, mime_type: str, filename: str
    ) -> str:
        """``POST /{phone_number_id}/media`` (multipart, as Meta asks): the new media id,
        usable in sends from that number for 30 days."""
        try:
            response = await self.http.post(
                self.url(phone_number_id, "media"),
                data={"messaging_product": "whatsapp", "type": mime_type},
                files={"file": (filename, data, mime_type)},
                headers=self._headers(phone_number_id),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise _network_error(exc, "media upload") from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise CloudApiError(0, "media upload: answer has no id",
                                http_status=response.status_code, retryable=False)
        return str(answer["id"])

    async def download(
        self, url: str, dest_file: Path | str, max_bytes: float = math.inf,
        phone_number_id: str | None = None,
    ) -> tuple[int, str | None]:
        """Stream ``url`` (with the Bearer token of ``phone_number_id``'s calls: media URLs
        need it) into ``dest_file``.

        Returns ``(bytes written, Content-Type)``. Raises `CloudApiError`: the answer's error
        (404 when the URL has expired), ``code`` 0 on network failures (retryable), or
        ``code`` 0, not retryable, once more than ``max_bytes`` arrived (the partial file is
        removed). A partial file is removed on any failure."""
        dest = Path(dest_file)
        written = 0
        try:
            async with self.http.stream(
                "GET", url, headers=self._headers(phone_number_id), timeout=self.timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response)
                content_type = response.headers.get("content-type")
                length = response.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > max_bytes:
                    raise _too_big(int(length), max_bytes)
                async with await trio.open_file(dest, "wb") as out:
                    async for chunk in response.aiter_bytes(64 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise _too_big(written, max_bytes)
                        await out.write(chunk)
        except httpx.HTTPError as exc:
            await _unlink(dest)
            raise _network_error(exc, "media download") from exc
        except BaseException:
            await _unlink(dest)
            raise
        return written, content_type

    async def list_templates(self, waba_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Every message template of the WhatsApp Business Account, following ``paging.next``."""
        url: str | None = self.url(waba_id, "message_templates")
        params: dict[str, str] | None = {"limit": str(limit)}
        templates: list[dict[str, Any]] = []
        seen: set[str] = set()
        while url is not None:
            data = await self._request("GET", url, "list templates", params=params)
            if not isinstance(data, dict):
                break
            templates.extend(t for t in data.get("data") or [] if isinstance(t, dict))
            paging = data.get("paging")
            nxt = paging.get("next") if isinstance(paging, dict) else None
            if not isinstance(nxt, str) or nxt in seen:
                break
            seen.add(nxt)
            url, params = nxt, None  # "next" carries its own query string
        return templates


def _too_big(size: int, limit: float) -> CloudApiError:
    return CloudApiError(
        0, "media download: too large", details=f"{size} bytes > limit {int(limit)}",
        retryable=False,
    )


async def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        await trio.Path(path).unlink(missing_ok=True)

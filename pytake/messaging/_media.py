"""`MediaDownloader`: inbound media, fetched eagerly in the background and stored on disk.

The Cloud API's rules (docs/whatsapp.md#media): a webhook gives a media **id**;
``GET /{media-id}`` gives a download URL that expires after 5 minutes, plus ``mime_type``,
``sha256`` and ``file_size``; ``GET <url>`` needs the same Bearer token. Ids can be downloaded
for 7 days, so download at once, in a worker, and keep the file ourselves.

How a download goes (`MediaDownloader.fetch`):

1. resolve the id to a URL (`CloudApiClient.get_media`); refuse a declared size above the
   type's cap (audio/video 16 MB, image 5 MB, document 100 MB, sticker 500 KB);
2. stream the body to ``<media_dir>/.<name>.part`` with the token, stopping at the cap;
3. on 404/410/403 (the URL expired) fetch a fresh URL **once** and download again;
4. check the bytes against ``sha256`` (hex or base64, both occur in the wild), then rename
   the file into place: ``<media id><extension>``, both sanitized (a media id never becomes a
   path: only ``[A-Za-z0-9_-]`` survive, and the extension comes from a fixed MIME table);
5. network failures and 5xx answers are retried with exponential backoff, up to
   ``max_attempts``; everything else fails at once with `CloudApiError`.

`MediaDownloader.run` is the background service: `submit` puts a `MediaRequest` on a bounded
queue (waiting when it is full: backpressure), ``concurrency`` workers download, and
``on_stored(StoredMedia)`` / ``on_failed(MediaRequest, error)`` record the result.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import attrs
import trio

from pytake.errors import CloudApiError
from pytake.messaging._client import CloudApiClient, MediaInfo

__all__ = [
    "MEDIA_LIMITS",
    "MEDIA_MESSAGE_TYPES",
    "UPLOAD_TYPES",
    "MediaDownloader",
    "MediaRequest",
    "StoredMedia",
    "content_type_of",
    "extension_for",
    "media_filename",
    "media_reference",
    "remove_stored_media",
    "sha256_matches",
    "stored_media_path",
    "upload_media_type",
]

log = logging.getLogger("pytake.whatsapp")

MB: Final = 1024 * 1024
#: Largest file accepted per media type, in bytes (§8; unknown types get the document cap).
MEDIA_LIMITS: Final = {
    "audio": 16 * MB,
    "voice": 16 * MB,
    "video": 16 * MB,
    "image": 5 * MB,
    "document": 100 * MB,
    "sticker": 500 * 1024,
}

_EXTENSIONS: Final = {
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/ogg": ".ogg",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
_EXPIRED_STATUSES: Final = frozenset({401, 403, 404, 410})
_TYPES_OF_EXTENSIONS: Final = {ext: mime for mime, ext in _EXTENSIONS.items()}

#: What an agent may upload to send, by MIME type: the WhatsApp message type it goes out as.
#: The Cloud API answers 131053 for any other type, so it is refused before the upload.
UPLOAD_TYPES: Final = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/webp": "sticker",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    **{
        mime: "document" for mime in _EXTENSIONS
        if mime.startswith(("application/", "text/"))
    },
}


def upload_media_type(mime_type: str) -> str | None:
    """The message type a file of ``mime_type`` is sent as, or None if WhatsApp refuses it."""
    return UPLOAD_TYPES.get(mime_type.split(";", 1)[0].strip().lower())


def content_type_of(path: Path) -> str:
    """The MIME type a stored media file is served with (from the extension it was stored
    under); ``application/octet-stream`` for ``.bin``."""
    return _TYPES_OF_EXTENSIONS.get(path.suffix.lower(), "application/octet-stream")


def stored_media_path(media_dir: Path, media_id: str) -> Path | None:
    """Where ``media_id``'s file is stored in ``media_dir`` (whatever its extension), or None.

    The extension comes from the MIME type known when it was stored, which a later reader
    (the message row) may not hold, so every extension is looked for."""
    stem = media_filename(media_id, None).removesuffix(".bin")
    for candidate in (stem + ext for ext in (*_TYPES_OF_EXTENSIONS, ".bin")):
        path = media_dir / candidate
        if path.is_file():
            return path
    return None


def remove_stored_media(media_dir: Path, media_id: str) -> int:
    """Delete every file ``media_id`` has in ``media_dir``: the stored file whatever its
    extension, and a download's ``.part`` file; how many were deleted (a customer's erasure).
    """
    stem = media_filename(media_id, None).removesuffix(".bin")
    removed = 0
    # The stem keeps only [A-Za-z0-9_-]: nothing in it is a glob pattern.
    for path in (*media_dir.glob(stem + ".*"), *media_dir.glob("." + stem + ".*.part")):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


#: The message types whose payload names a media file.
MEDIA_MESSAGE_TYPES: Final = frozenset({"image", "video", "audio", "voice", "document",
                                        "sticker"})


def media_reference(type_: str, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """The media object of a stored message (``{"id", "mime_type"?, "sha256"?, ...}``): an
    inbound row holds the webhook's message (the object under its type), an outbound one the
    object it sent; None if it names no media id."""
    if type_ not in MEDIA_MESSAGE_TYPES or not isinstance(payload, dict):
        return None
    media = payload.get(type_, payload)
    if not isinstance(media, dict) or not isinstance(media.get("id"), str) or not media["id"]:
        return None
    return media


def extension_for(mime_type: str | None) -> str:
    """A safe file extension for ``mime_type`` (parameters ignored), ``".bin"`` if unknown."""
    if not mime_type:
        return ".bin"
    return _EXTENSIONS.get(mime_type.split(";", 1)[0].strip().lower(), ".bin")


def media_filename(media_id: str, mime_type: str | None) -> str:
    """The file name for ``media_id``: its safe characters plus `extension_for` the type.

    Anything that could reach outside the media directory (``/``, ``..``, NUL, drive letters)
    is replaced; an id with nothing safe left is named by its SHA-256."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", media_id)[:128].strip("_")
    if not safe:
        safe = hashlib.sha256(media_id.encode()).hexdigest()[:32]
    return safe + extension_for(mime_type)


def sha256_matches(digest: bytes, expected: str) -> bool:
    """Whether ``digest`` (raw SHA-256) equals ``expected``, given as hex or base64."""
    text = expected.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return digest.hex() == text.lower()
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), altchars=None, validate=False)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded == digest:
        return True
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == digest
    except (binascii.Error, ValueError):
        return False


@attrs.frozen
class MediaRequest:
    """One media to fetch: its id and type (``image``, ``audio``, ...) from the webhook;
    ``sha256``/``mime_type`` if the webhook gave them (``GET /{id}``'s win when present)."""

    media_id: str
    media_type: str
    phone_number_id: str | None = None
    sha256: str | None = None
    mime_type: str | None = None


@attrs.frozen
class StoredMedia:
    media_id: str
    path: Path
    size: int
    mime_type: str | None
    sha256: str


OnStored = Callable[[StoredMedia], Awaitable[None] | None]
OnFailed = Callable[[MediaRequest, Exception], Awaitable[None] | None]


class MediaDownloader:
    """Downloads media into ``media_dir``; see the module docstring."""

    def __init__(
        self,
        client: CloudApiClient,
        media_dir: Path | str,
        *,
        concurrency: int = 4,
        queue_size: int = 1000,
        max_attempts: int = 4,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        on_stored: OnStored | None = None,
        on_failed: OnFailed | None = None,
    ) -> None:
        self.client = client
        self.media_dir = Path(media_dir)
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.on_stored = on_stored
        self.on_failed = on_failed
        self._send, self._receive = trio.open_memory_channel[MediaRequest](queue_size)
        # Counters for metrics.
        self.stored = 0
        self.failed = 0

    def limit_for(self, media_type: str) -> int:
        return MEDIA_LIMITS.get(media_type, MEDIA_LIMITS["document"])

    async def submit(self, request: MediaRequest) -> None:
        """Queue ``request`` for the workers (waits while the queue is full)."""
        await self._send.send(request)

    def submit_nowait(self, request: MediaRequest) -> bool:
        """Queue ``request`` if there is room; False if the queue is full."""
        try:
            self._send.send_nowait(request)
        except trio.WouldBlock:
            return False
        return True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.Path(self.media_dir).mkdir(parents=True, exist_ok=True)
        async with trio.open_nursery() as nursery:
            for _ in range(self.concurrency):
                nursery.start_soon(self._worker)
            task_status.started()

    async def _worker(self) -> None:
        async for request in self._receive:
            try:
                stored = await self.fetch(request)
            except Exception as exc:
                self.failed += 1
                log.warning("media %s could not be downloaded: %s", request.media_id, exc)
                await _call(self.on_failed, request, exc)
            else:
                await _call(self.on_stored, stored)

    async def fetch(self, request: MediaRequest) -> StoredMedia:
        """Download one media now (retrying transient failures); return where it is."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._fetch_once(request)
            except CloudApiError as exc:
                if not exc.retryable or attempt >= self.max_attempts:
                    raise
                delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
                log.info("media %s: %s; retrying in %gs", request.media_id, exc, delay)
                await trio.sleep(delay)

    async def _fetch_once(self, request: MediaRequest) -> StoredMedia:
        limit = self.limit_for(request.media_type)
        info = await self._resolve(request, limit)
        await trio.Path(self.media_dir).mkdir(parents=True, exist_ok=True)
        mime = info.mime_type or request.mime_type
        name = media_filename(request.media_id, mime)
        final = self.media_dir / name
        part = self.media_dir / f".{name}.part"
        try:
            size, content_type = await self.client.download(
                info.url, part, limit, request.phone_number_id
            )
        except CloudApiError as exc:
            if exc.http_status not in _EXPIRED_STATUSES:
                raise
            # The URL expired (5 minutes) or was refused: get a fresh one, once.
            log.info("media %s: URL refused (%s); fetching a new one", request.media_id,
                     exc.http_status)
            info = await self._resolve(request, limit)
            size, content_type = await self.client.download(
                info.url, part, limit, request.phone_number_id
            )
        digest = await trio.to_thread.run_sync(_sha256_file, part)
        expected = info.sha256 or request.sha256
        if expected and not sha256_matches(digest, expected):
            await trio.Path(part).unlink(missing_ok=True)
            raise CloudApiError(
                0, "media download: checksum mismatch",
                details=f"media {request.media_id}: sha256 {digest.hex()} != {expected}",
                retryable=True,
            )
        await trio.Path(part).rename(final)
        self.stored += 1
        return StoredMedia(
            media_id=request.media_id,
            path=final,
            size=size,
            mime_type=mime or content_type,
            sha256=digest.hex(),
        )

    async def _resolve(self, request: MediaRequest, limit: int) -> MediaInfo:
        info = await self.client.get_media(request.media_id, request.phone_number_id)
        if info.file_size is not None and info.file_size > limit:
            raise CloudApiError(
                0, "media download: too large",
                details=f"{request.media_type} of {info.file_size} bytes > limit {limit}",
                retryable=False,
            )
        return info


def _sha256_file(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.digest()


async def _call(callback: Callable[..., Awaitable[None] | None] | None, *args: object) -> None:
    if callback is None:
        return
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("media callback failed")

"""Media over REST: the files of a conversation's messages, and files an agent sends.

- ``GET  /api/v1/conversations/<id>/messages/<message id>/media``  the bytes of the message's
  image, video, audio, document or sticker
- ``POST /api/v1/conversations/<id>/media``  upload a file (multipart field ``file``) to the
  Cloud API from the conversation's business number; answers the media id to send

Both need the conversation to be visible to the caller (as its messages are). Inbound media
is downloaded in the background as it arrives (`pytake.messaging.MediaDownloader`); a file
not stored yet is fetched while the request waits, once. An uploaded file is also kept in the
media directory, so the agent's own sends show in the desk like the customer's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote

import trio
from quart import Blueprint, Request, Response, jsonify, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from pytake.conversations import conversation_message, visible_conversation
from pytake.errors import CloudApiError
from pytake.messaging import (
    MEDIA_LIMITS,
    UPLOAD_TYPES,
    MediaDownloader,
    MediaRequest,
    content_type_of,
    media_filename,
    media_reference,
    stored_media_path,
    upload_media_type,
)
from pytake.store import Database, MessageDirection
from pytake.web import _schemas as schemas
from pytake.web._audit_trail import personal_data
from pytake.web._auth_routes import current_principal
from pytake.web._errors import problem
from pytake.web._openapi import documented
from pytake.web._permissions import Permission, requires

__all__ = ["create_media_blueprint", "media_reference", "uploads_allowed"]

log = logging.getLogger("pytake.web")

#: Shown in the browser; anything else is offered as a download (an HTML or SVG file a
#: customer sent must never run in the app's origin).
_INLINE: Final = ("image/jpeg", "image/png", "image/webp", "video/", "audio/")
#: How long a request waits for a file that was not downloaded yet.
FETCH_TIMEOUT: Final = 20.0
#: The largest upload (WhatsApp's document limit) plus room for the multipart framing.
MAX_UPLOAD: Final = MEDIA_LIMITS["document"] + 64 * 1024
#: How long an upload's body may take to arrive (100 MB on a slow office line).
UPLOAD_BODY_TIMEOUT: Final = 600
_CHUNK: Final = 256 * 1024
_UPLOAD_PATH: Final = re.compile(r"/api/v1/conversations/\d+/media")


R = TypeVar("R", bound=Request)


def uploads_allowed(request_class: type[R]) -> type[R]:
    """``request_class`` with the upload route's larger body limit and time: the framework
    sizes a request's body before routing it, from one app-wide limit (16 MiB), which every
    other route keeps."""

    class UploadAwareRequest(request_class):  # type: ignore[valid-type,misc]
        def __init__(self, method: str, scheme: str, path: str, *args: Any,
                     **kwargs: Any) -> None:
            upload = method == "POST" and bool(_UPLOAD_PATH.fullmatch(path))
            if upload:
                kwargs["max_content_length"] = MAX_UPLOAD
                kwargs["body_timeout"] = UPLOAD_BODY_TIMEOUT
            super().__init__(method, scheme, path, *args, **kwargs)
            if upload:
                # The form parser reads the limit from the request, not from its body.
                self.max_content_length = MAX_UPLOAD

    return UploadAwareRequest


def _disposition(path: Path, mime_type: str, filename: str | None) -> str:
    kind = "inline" if mime_type.startswith(_INLINE) else "attachment"
    name = (filename or path.name).replace('"', "").replace("\\", "")
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    # RFC 6266: a plain ASCII fallback, then the real (UTF-8) name.
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    async with await trio.open_file(path, "rb") as f:
        while chunk := await f.read(_CHUNK):
            yield chunk


def create_media_blueprint(db: Database, media: MediaDownloader) -> Blueprint:
    bp = Blueprint("media_api", __name__)
    media_dir = media.media_dir

    async def fetch_now(message_type: str, number: str, ref: dict[str, Any]) -> Path | None:
        wanted = MediaRequest(
            media_id=ref["id"], media_type=message_type, phone_number_id=number or None,
            sha256=ref.get("sha256") if isinstance(ref.get("sha256"), str) else None,
            mime_type=ref.get("mime_type") if isinstance(ref.get("mime_type"), str) else None,
        )
        try:
            with trio.fail_after(FETCH_TIMEOUT):
                return (await media.fetch(wanted)).path
        except (CloudApiError, trio.TooSlowError, OSError) as exc:
            log.info("media %s could not be fetched on request: %s", ref["id"], exc)
            return None

    @bp.get("/api/v1/conversations/<int:conversation_id>/messages/<int:message_id>/media")
    @documented(response=schemas.MEDIA_FILE, media_type="application/octet-stream")
    @requires(Permission.CONVERSATIONS_READ)
    @personal_data("conversation.media.read")
    async def message_media(conversation_id: int, message_id: int) -> Response:
        """The file of a media message, with its type (images, video and audio shown
        inline; anything else as a download). 404 ``no_media`` for a message without a
        file, ``media_unavailable`` when the file is neither stored nor obtainable."""
        found = await db.run(conversation_message, conversation_id, message_id,
                             current_principal(), readonly=True)
        if found is None:
            raise NotFound(f"conversation {conversation_id} not found")
        conversation, message = found
        if message is None:
            raise NotFound(f"message {message_id} is not in conversation {conversation_id}")
        ref = media_reference(message.type, message.payload)
        if ref is None:
            return problem(404, f"message {message_id} ({message.type}) carries no file",
                           code="no_media")
        path = await trio.to_thread.run_sync(stored_media_path, media_dir, ref["id"])
        if path is None and message.direction == MessageDirection.INBOUND:
            path = await fetch_now(message.type, conversation.business_phone_number_id, ref)
        if path is None:
            return problem(404, f"the file of message {message_id} is not stored and could "
                                "not be downloaded from WhatsApp (media ids expire after "
                                "7 days)", code="media_unavailable")
        mime_type = content_type_of(path)
        size = (await trio.Path(path).stat()).st_size
        filename = ref.get("filename") if isinstance(ref.get("filename"), str) else None
        response = Response(_chunks(path), mimetype=mime_type)
        response.headers["Content-Length"] = str(size)
        response.headers["Content-Disposition"] = _disposition(path, mime_type, filename)
        # A customer's file is private data: only this browser may keep it, and it must
        # never be run as a page of ours, whatever it holds.
        response.headers["Cache-Control"] = "private, max-age=3600"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @bp.post("/api/v1/conversations/<int:conversation_id>/media")
    @documented(request=schemas.MEDIA_UPLOAD, request_media_type="multipart/form-data",
                response=schemas.MEDIA_UPLOADED, status=201, errors=(400, 413, 422, 503))
    @requires(Permission.CONVERSATIONS_REPLY)
    async def upload(conversation_id: int) -> Response:
        """Upload a file to send in this conversation: its type must be one WhatsApp takes
        (JPEG/PNG images, WebP stickers, MP4/3GPP video, AAC/AMR/MP3/M4A/OGG audio, PDF,
        text and Office documents) within WhatsApp's size limit for that type. Answers the
        media id; send it with ``content: {"type": <type>, "id": <id>}``."""
        found = await db.run(visible_conversation, conversation_id, current_principal(),
                             readonly=True)
        if found is None:
            raise NotFound(f"conversation {conversation_id} not found")
        conversation, _customer = found
        if (request.content_length or 0) > MAX_UPLOAD:
            raise RequestEntityTooLarge(f"a file is at most {MEDIA_LIMITS['document']} bytes")
        files = await request.files
        file = files.get("file")
        if file is None or not file.filename:
            return problem(400, "send the file as the multipart/form-data field 'file'",
                           code="invalid", field="file")
        mime_type = (file.mimetype or "").lower()
        kind = upload_media_type(mime_type)
        if kind is None:
            accepted = ", ".join(sorted(UPLOAD_TYPES))
            return problem(400, f"WhatsApp does not accept files of type "
                                f"{mime_type or 'unknown'!r}; accepted: {accepted}",
                           code="unsupported_media_type", field="file")
        data = await trio.to_thread.run_sync(file.read)
        limit = MEDIA_LIMITS[kind]
        if len(data) > limit:
            return problem(413, f"a {kind} is at most {limit} bytes; this file has "
                                f"{len(data)}", code="too_large", field="file")
        if not data:
            return problem(400, "the file is empty", code="invalid", field="file")
        number = conversation.business_phone_number_id
        try:
            media_id = await media.client.upload_media(number, data, mime_type, file.filename)
        except CloudApiError as exc:
            if exc.retryable:
                return problem(503, f"WhatsApp could not take the upload now: {exc}; try "
                                    "again", code="unavailable", headers={"Retry-After": "5"})
            return problem(422, f"WhatsApp refused the file: {exc}", code="upload_refused",
                           field="file")
        stored = media_dir / media_filename(media_id, mime_type)
        await trio.Path(media_dir).mkdir(parents=True, exist_ok=True)
        await trio.Path(stored).write_bytes(data)
        answer = jsonify({"id": media_id, "type": kind, "mime_type": mime_type,
                          "size": len(data), "filename": file.filename})
        answer.status_code = 201
        return answer

    return bp

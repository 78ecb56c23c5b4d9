"""Inbound media: the pure helpers, and downloads against the Cloud API stand-in."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest
import trio

from pytake.errors import CloudApiError
from pytake.messaging import (
    MEDIA_LIMITS,
    CloudApiClient,
    MediaDownloader,
    MediaRequest,
    StoredMedia,
    extension_for,
    media_filename,
    sha256_matches,
)
from pytake.standins.whatsapp import CloudApiStandIn, run_standin

TOKEN = "tok"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def api(standin: CloudApiStandIn) -> str:
    """The stand-in's base URL (set once it is serving)."""
    assert standin.base_url is not None
    return standin.base_url


def test_sha256_accepts_hex_and_base64() -> None:
    digest = hashlib.sha256(PNG).digest()
    assert sha256_matches(digest, digest.hex())
    assert sha256_matches(digest, digest.hex().upper())
    assert sha256_matches(digest, base64.b64encode(digest).decode())
    assert sha256_matches(digest, base64.b64encode(digest).decode().rstrip("="))
    assert sha256_matches(digest, base64.urlsafe_b64encode(digest).decode())
    assert not sha256_matches(digest, hashlib.sha256(b"other").hexdigest())
    assert not sha256_matches(digest, "not a digest!")


@pytest.mark.parametrize(
    ("media_id", "mime", "expected"),
    [
        ("1013859600000001", "image/jpeg", "1013859600000001.jpg"),
        ("42", "audio/ogg; codecs=opus", "42.ogg"),
        ("42", "application/x-msdownload", "42.bin"),
        ("42", None, "42.bin"),
        ("../../etc/passwd", "image/png", "etc_passwd.png"),
        ("a/b\\c\x00d", "application/pdf", "a_b_c_d.pdf"),
    ],
)
def test_media_filename_is_safe(media_id: str, mime: str | None, expected: str) -> None:
    assert media_filename(media_id, mime) == expected


def test_media_filename_of_nothing_safe() -> None:
    name = media_filename("../..", "image/png")
    assert "/" not in name and ".." not in name and name.endswith(".png")


def test_limits_and_extensions() -> None:
    assert MEDIA_LIMITS["image"] == 5 * 1024 * 1024
    assert MEDIA_LIMITS["sticker"] == 500 * 1024
    assert MEDIA_LIMITS["document"] == 100 * 1024 * 1024
    assert extension_for("IMAGE/PNG") == ".png"


async def test_download_stores_and_verifies(tmp_path: Path) -> None:
    async with run_standin(token=TOKEN) as standin, \
            CloudApiClient(api(standin), "v23.0", TOKEN) as client:
        media_id = standin.add_media(PNG, "image/png")
        downloader = MediaDownloader(client, tmp_path / "media")
        stored = await downloader.fetch(MediaRequest(media_id, "image"))
        assert stored.path == tmp_path / "media" / f"{media_id}.png"
        assert stored.path.read_bytes() == PNG
        assert stored.size == len(PNG) and stored.mime_type == "image/png"
        assert stored.sha256 == hashlib.sha256(PNG).hexdigest()
        assert [p.name for p in (tmp_path / "media").iterdir()] == [stored.path.name]


async def test_expired_url_is_refreshed_once(tmp_path: Path) -> None:
    now = [0.0]
    lookups = []

    async def expire_after_lookup(response: httpx.Response) -> None:
        # The URL handed out expires before the download starts (the 5-minute limit).
        if "/_media/" not in response.request.url.path:
            lookups.append(response.request.url.path)
            if len(lookups) == 1:
                now[0] += 1000

    async with run_standin(token=TOKEN, clock=lambda: now[0], media_url_ttl=300) as standin, \
            httpx.AsyncClient(event_hooks={"response": [expire_after_lookup]}) as http:
        client = CloudApiClient(api(standin), "v23.0", TOKEN, http=http)
        media_id = standin.add_media(PNG, "image/png")
        stored = await MediaDownloader(client, tmp_path).fetch(MediaRequest(media_id, "image"))
        assert stored.path.read_bytes() == PNG
        assert len(lookups) == 2


async def test_url_expiring_twice_fails(tmp_path: Path) -> None:
    async with run_standin(token=TOKEN, media_url_ttl=0) as standin, \
            CloudApiClient(api(standin), "v23.0", TOKEN) as client:
        media_id = standin.add_media(PNG, "image/png")
        with pytest.raises(CloudApiError) as exc:
            await MediaDownloader(client, tmp_path).fetch(MediaRequest(media_id, "image"))
        assert exc.value.http_status == 404 and not exc.value.retryable
        assert list(tmp_path.iterdir()) == []


async def test_size_caps(tmp_path: Path) -> None:
    big = b"RIFF" + b"\0" * (500 * 1024)
    async with run_standin(token=TOKEN) as standin, \
            CloudApiClient(api(standin), "v23.0", TOKEN) as client:
        sticker = standin.add_media(big, "image/webp")
        with pytest.raises(CloudApiError, match="too large"):
            await MediaDownloader(client, tmp_path).fetch(MediaRequest(sticker, "sticker"))
        # The streaming cap, whatever the declared size says.
        info = await client.get_media(sticker)
        with pytest.raises(CloudApiError, match="too large"):
            await client.download(info.url, tmp_path / "x.part", max_bytes=1000)
        assert list(tmp_path.iterdir()) == []
        # The same bytes as a document are fine.
        stored = await MediaDownloader(client, tmp_path).fetch(MediaRequest(sticker, "document"))
        assert stored.size == len(big)


async def test_unknown_media_and_network_failures(tmp_path: Path) -> None:
    async with run_standin(token=TOKEN) as standin, \
            CloudApiClient(api(standin), "v23.0", TOKEN) as client:
        with pytest.raises(CloudApiError) as exc:
            await MediaDownloader(client, tmp_path).fetch(MediaRequest("999", "image"))
        assert exc.value.code == 100
    async with CloudApiClient("http://127.0.0.1:9", "v23.0", TOKEN, timeout=1) as dead:
        downloader = MediaDownloader(dead, tmp_path, max_attempts=3, backoff_base=0.01)
        with pytest.raises(CloudApiError) as exc:
            await downloader.fetch(MediaRequest("1", "image"))
        assert exc.value.retryable and exc.value.code == 0


async def test_background_service(tmp_path: Path) -> None:
    stored: list[StoredMedia] = []
    failed: list[MediaRequest] = []
    done = trio.Event()

    def on_stored(media: StoredMedia) -> None:
        stored.append(media)
        if len(stored) + len(failed) == 4:
            done.set()

    def on_failed(request: MediaRequest, error: Exception) -> None:
        failed.append(request)
        if len(stored) + len(failed) == 4:
            done.set()

    async with run_standin(token=TOKEN) as standin, \
            CloudApiClient(api(standin), "v23.0", TOKEN) as client, \
            trio.open_nursery() as nursery:
        downloader = MediaDownloader(client, tmp_path / "m", concurrency=2, queue_size=2,
                                     on_stored=on_stored, on_failed=on_failed)
        await nursery.start(downloader.run)
        ids = [standin.add_media(PNG + bytes([i]), "image/jpeg") for i in range(3)]
        for media_id in [*ids, "404404"]:
            await downloader.submit(MediaRequest(media_id, "image"))
        with trio.fail_after(10):
            await done.wait()
        assert sorted(m.media_id for m in stored) == sorted(ids)
        assert [r.media_id for r in failed] == ["404404"]
        assert downloader.stored == 3 and downloader.failed == 1
        nursery.cancel_scope.cancel()

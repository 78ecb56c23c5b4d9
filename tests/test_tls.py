"""TLS on the web edge: a throw-away CA (trustme) signs a certificate for 127.0.0.1, the real
server serves it, and real clients talk HTTPS and WSS to it (docs/configuration.md, "TLS")."""

from __future__ import annotations

import functools
import json
import secrets
import ssl
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio
import trio.testing
import trustme
from cryptography.hazmat.primitives import serialization
from quart_trio import QuartTrio
from trio_websocket import open_websocket_url

from pytake.config import load_settings
from pytake.errors import ConfigError
from pytake.store import UserRole
from pytake.web import create_app, serve, tls_context
from pytake.web._headers import with_hsts

from ._support import clean_environ
from .process_support import free_port

if TYPE_CHECKING:
    from pytake.engine import Engine

ONE_YEAR = "max-age=31536000"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(ca: trustme.CA, tmp_path: Path) -> tuple[str, str]:
    """``(certfile, keyfile)`` of a certificate for 127.0.0.1 and localhost."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    for n, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(certfile), append=n > 0)
    cert.private_key_pem.write_to_path(str(keyfile))
    return str(certfile), str(keyfile)


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A default client context (what httpx or a browser would offer) trusting ``ca``."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def tls_server(engine: Engine, tls_files: tuple[str, str]) -> AsyncIterator[str]:
    """The real app around ``engine`` served over TLS; yields its ``https://`` base URL."""
    certfile, keyfile = tls_files
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(functools.partial(
            serve, create_app(engine), "127.0.0.1", 0, shutdown_trigger=stop.wait,
            certfile=certfile, keyfile=keyfile,
        ))
        yield urls[0]
        stop.set()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def handshake(url: str, context: ssl.SSLContext) -> trio.SSLStream[trio.SocketStream]:
    stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", port_of(url),
                                                 ssl_context=context, https_compatible=True)
    try:
        await stream.do_handshake()
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return stream


# --- HTTPS, versions and ALPN --------------------------------------------------------------


async def test_https_answers_carry_hsts(tls_server: str, ca: trustme.CA) -> None:
    assert tls_server.startswith("https://127.0.0.1:")
    async with httpx.AsyncClient(base_url=tls_server, verify=trusting(ca),
                                 trust_env=False) as client:
        health = await client.get("/healthz")
        missing = await client.get("/api/v1/no/such/route")
        # The webhook is raw ASGI in front of the framework: it carries the header too.
        webhook = await client.get("/webhooks/whatsapp")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    for response in (health, missing, webhook):
        assert response.headers.get_list("Strict-Transport-Security") == [ONE_YEAR], response
    assert (missing.status_code, webhook.status_code) == (404, 403)


async def test_plain_http_answers_never_carry_hsts(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


async def test_a_default_client_gets_tls_1_3_and_http2(tls_server: str, ca: trustme.CA) -> None:
    context = trusting(ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    stream = await handshake(tls_server, context)
    try:
        assert stream.version() == "TLSv1.3"
        assert stream.selected_alpn_protocol() == "h2"
    finally:
        await stream.aclose()

    context = trusting(ca)
    context.set_alpn_protocols(["http/1.1"])
    stream = await handshake(tls_server, context)
    try:
        assert stream.selected_alpn_protocol() == "http/1.1"
    finally:
        await stream.aclose()


async def test_a_tls_1_2_client_is_served(tls_server: str, ca: trustme.CA) -> None:
    context = trusting(ca)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    stream = await handshake(tls_server, context)
    try:
        assert stream.version() == "TLSv1.2"
    finally:
        await stream.aclose()
    async with httpx.AsyncClient(verify=context, trust_env=False) as client:
        assert (await client.get(f"{tls_server}/healthz")).status_code == 200


def tls_1_1_only(context: ssl.SSLContext) -> ssl.SSLContext:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1_1 is, rightly
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    # OpenSSL 3 offers TLS 1.1 only at security level 0.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


async def test_a_tls_1_1_client_is_refused(tls_server: str, ca: trustme.CA,
                                           tls_files: tuple[str, str]) -> None:
    client = tls_1_1_only(trusting(ca))
    # The control: this client does speak TLS 1.1, with a server that still allows it (in
    # memory), so that its failure below is the server's refusal, not the client's own.
    old_server = tls_1_1_only(ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))
    old_server.load_cert_chain(*tls_files)
    left, right = trio.testing.memory_stream_pair()
    client_side = trio.SSLStream(left, client, server_hostname="127.0.0.1")
    server_side = trio.SSLStream(right, old_server, server_side=True)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server_side.do_handshake)
        await client_side.do_handshake()
    assert client_side.version() == "TLSv1.1"

    with pytest.raises(trio.BrokenResourceError) as info:
        await handshake(tls_server, client)
    cause = info.value.__cause__
    assert isinstance(cause, ssl.SSLError)
    # The server's protocol_version alert, or (trio drops the alert it cannot send once the
    # handshake failed) the connection closed in the middle of the handshake.
    assert cause.reason in ("TLSV1_ALERT_PROTOCOL_VERSION", "UNEXPECTED_EOF_WHILE_READING"), \
        cause


async def test_plain_http_to_the_tls_port_gets_no_answer(tls_server: str) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(tls_server.replace("https://", "http://") + "/healthz")


# --- the agent socket over WSS --------------------------------------------------------------


async def test_agent_socket_over_wss(tls_server: str, ca: trustme.CA, engine: Engine) -> None:
    email = f"agent-{secrets.token_hex(3)}@example.com"
    await engine.identity.create_user(email, "Agent", UserRole.AGENT, PASSWORD)
    pair = await engine.identity.authenticate(email, PASSWORD)
    url = tls_server.replace("https://", "wss://") + f"/ws/agent?token={pair.access_token}"
    with trio.fail_after(10):
        async with open_websocket_url(url, ssl_context=trusting(ca)) as ws:
            welcome = json.loads(await ws.get_message())
            assert welcome["type"] == "welcome", welcome
            await ws.send_message(json.dumps({"id": "p1", "type": "ping"}))
            while (frame := json.loads(await ws.get_message())).get("id") != "p1":
                pass
            assert frame["type"] == "pong"


# --- HSTS: the header and its setting, at the ASGI level -------------------------------------


async def _answer(app: Any, scheme: str, scope_type: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": scope_type, "scheme": scheme, "path": "/"}, receive, send)
    return sent


async def _plain_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"Strict-Transport-Security", b"max-age=1")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_hsts_header_follows_the_setting_and_the_connection() -> None:
    app = with_hsts(_plain_app, 600)
    start, body = await _answer(app, "https")
    assert [h for h in start["headers"] if h[0].lower() == b"strict-transport-security"] == [
        (b"strict-transport-security", b"max-age=600")]  # one header, ours
    assert body == {"type": "http.response.body", "body": b"ok"}
    # Plain HTTP: the answer goes out as the app made it.
    start, _ = await _answer(app, "http")
    assert start["headers"][-1] == (b"Strict-Transport-Security", b"max-age=1")
    assert with_hsts(_plain_app, 0) is _plain_app  # 0: no header, no middleware


def test_hsts_setting() -> None:
    assert load_settings(environ={}).hsts_max_age == 365 * 86400
    assert load_settings(environ={"PYTAKE_HSTS_MAX_AGE": "0"}).hsts_max_age == 0
    with pytest.raises(ConfigError, match="PYTAKE_HSTS_MAX_AGE: hsts_max_age must be at least 0"):
        load_settings(environ={"PYTAKE_HSTS_MAX_AGE": "-1"})


# --- settings and bad files -------------------------------------------------------------------


def test_tls_settings_go_together() -> None:
    settings = load_settings(environ={"PYTAKE_TLS_CERTFILE": "c.pem"},
                             overrides={"tls_keyfile": "k.pem"})
    assert (settings.tls_certfile, settings.tls_keyfile) == ("c.pem", "k.pem")
    assert load_settings(environ={"PYTAKE_TLS_CERTFILE": " ", "PYTAKE_TLS_KEYFILE": ""}
                         ).tls_certfile is None  # empty: unset, TLS off
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"PYTAKE_TLS_CERTFILE": "c.pem"})
    assert str(info.value) == (
        "tls_keyfile is not set but tls_certfile is: TLS needs both the certificate and its "
        "private key (PYTAKE_TLS_KEYFILE or pytake serve --keyfile)")
    with pytest.raises(ConfigError, match=r"^tls_certfile is not set but tls_keyfile is"):
        load_settings(environ={}, overrides={"tls_keyfile": "k.pem"})


@pytest.fixture
def bad_files(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    other = tmp_path / "other-key.pem"
    ca.issue_cert("other.example").private_key_pem.write_to_path(str(other))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a PEM file\n")
    return {"other": str(other), "junk": str(junk), "missing": str(tmp_path / "missing.pem"),
            "dir": str(tmp_path)}


def test_tls_context_names_the_bad_file(tls_files: tuple[str, str],
                                        bad_files: dict[str, str]) -> None:
    cert, key = tls_files
    cases = [
        ((bad_files["missing"], key),
         f"tls_certfile: cannot read {bad_files['missing']}: No such file or directory"),
        ((cert, bad_files["missing"]),
         f"tls_keyfile: cannot read {bad_files['missing']}: No such file or directory"),
        ((bad_files["dir"], key), f"tls_certfile: cannot read {bad_files['dir']}: Is a directory"),
        ((bad_files["junk"], key), f"tls_certfile: no PEM certificate in {bad_files['junk']}"),
        ((key, key), f"tls_certfile: no PEM certificate in {key}"),
        ((cert, bad_files["junk"]),
         f"tls_keyfile: no private key (unencrypted PEM) in {bad_files['junk']}"),
        ((cert, cert), f"tls_keyfile: no private key (unencrypted PEM) in {cert}"),
        ((cert, bad_files["other"]),
         f"tls_keyfile: the private key in {bad_files['other']} is not the key of the "
         f"certificate in {cert}"),
    ]
    for (certfile, keyfile), message in cases:
        with pytest.raises(ConfigError) as info:
            tls_context(certfile, keyfile)
        assert str(info.value) == message
        assert info.value.key == message.split(":")[0]


def test_an_encrypted_key_is_refused_without_a_prompt(tls_files: tuple[str, str],
                                                      tmp_path: Path) -> None:
    cert, key = tls_files
    private = serialization.load_pem_private_key(Path(key).read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    with pytest.raises(ConfigError, match=r"^tls_keyfile: no private key"):
        tls_context(cert, str(encrypted))


def test_the_context_holds_tls_1_2_at_least(tls_files: tuple[str, str]) -> None:
    context = tls_context(*tls_files)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.maximum_version == ssl.TLSVersion.MAXIMUM_SUPPORTED
    assert context.options & ssl.OP_NO_COMPRESSION and context.options & ssl.OP_NO_RENEGOTIATION


async def test_serve_refuses_a_bad_file_before_listening(tls_files: tuple[str, str],
                                                         bad_files: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^tls_keyfile: the private key in"):
        await serve(QuartTrio("x"), "127.0.0.1", 0, shutdown_trigger=trio.sleep_forever,
                    certfile=tls_files[0], keyfile=bad_files["other"])


# --- pytake serve --certfile --keyfile --------------------------------------------------------


async def test_pytake_serve_over_https(tmp_path: Path, tls_files: tuple[str, str],
                                       ca: trustme.CA) -> None:
    port = free_port()
    certfile, keyfile = tls_files
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "pytake", "serve", "--port", str(port),
         "--certfile", certfile, "--keyfile", keyfile],
        env=clean_environ(tmp_path), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        out = b""
        with trio.fail_after(30):
            while b"\n" not in out:
                chunk = await process.stdout.receive_some()
                assert chunk, out
                out += chunk
        assert out.decode().startswith(f"pytake: listening on https://127.0.0.1:{port}\n")
        async with httpx.AsyncClient(verify=trusting(ca), trust_env=False) as client:
            health = await client.get(f"https://127.0.0.1:{port}/healthz")
        assert health.status_code == 200
        assert health.headers["Strict-Transport-Security"] == ONE_YEAR
        process.terminate()
        with trio.fail_after(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_pytake_serve_stops_on_a_bad_tls_setting(tmp_path: Path, tls_files: tuple[str, str],
                                                 bad_files: dict[str, str]) -> None:
    certfile, _ = tls_files

    def serve_with(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytake", "serve", "--port", str(free_port()), *args],
            env=clean_environ(tmp_path) | env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False)

    result = serve_with("--certfile", certfile, "--keyfile", bad_files["other"])
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"pytake: error: tls_keyfile: the private key in {bad_files['other']} is not the key "
        f"of the certificate in {certfile}\n")

    result = serve_with(PYTAKE_TLS_CERTFILE=certfile)
    assert result.returncode == 2
    assert result.stderr.startswith("pytake: error: tls_keyfile is not set but tls_certfile is")

    result = serve_with("--keyfile", bad_files["missing"], PYTAKE_TLS_CERTFILE=certfile)
    assert result.returncode == 2
    assert result.stderr == (
        f"pytake: error: tls_keyfile: cannot read {bad_files['missing']}: "
        "No such file or directory\n")

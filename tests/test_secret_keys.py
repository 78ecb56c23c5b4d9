"""Rotating the secret keys: ``secret_keys`` (current first, older after), sealed values that
name their key, ``pytake secrets rotate`` / ``status`` on real SQLite and PostgreSQL, and
access tokens with a ``kid``.

The journey the operator follows (docs/privacy.md, "Keys"): values sealed under the old key;
configure ``[new, old]``: everything still reads, new values use the new key; rotate: every
stored value is under the new key; configure ``[new]``: everything still reads. Values go in
and come out through their owners' own code (module configurations, business numbers, TOTP
keys, webhook subscriptions), so the contexts the rotation rebuilds are checked too.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import jwt
import pyotp
import pytest
import sqlalchemy as sa
import trio
from quart_trio import QuartTrio
from sqlalchemy.orm import Session

import pytake
from pytake.config import Settings, load_settings
from pytake.errors import ConfigError, ModuleConfigError
from pytake.identity import AuthError, IdentityService, LoginLimiter, Passwords, SecondFactors
from pytake.keys import KeyRing, key_id
from pytake.messaging import NumberRepository, number_fields
from pytake.modules import (
    SEALED_COLUMNS,
    ModuleConfigs,
    ModuleRegistry,
    ModuleServices,
    SecretBox,
)
from pytake.modules.builtin import RestApiModule, WebhookModule
from pytake.store import AuditLog, Base, Database, upgrade
from pytake.web import create_auth_blueprint, register_error_handlers

from ._support import clean_environ, serving
from .test_identity import cheap_hasher

OLD = "old-key-" + "o" * 40
NEW = "new-key-" + "n" * 40
STRANGER = "a-key-nobody-configured-" + "s" * 24
PASSWORD = "correct horse battery"

# Sealed by PyTake before keys could rotate (the SecretBox of the previous release), under
# LEGACY_KEY: they must read as they did.
LEGACY_KEY = "legacy key sealed before rotation!!"
LEGACY_KEY_ID = "c5967488"
LEGACY_TEXT = "pts1:xZZ0iC-pdvSZuMk0_fBr1PmIl-uFEBFbMdNJ12YcCCUDg_KumR9nGBxrJQ=="
LEGACY_BLOB = bytes.fromhex(
    "50545331c596748880cbce4fa7edeca36ff5f97ab8ade7aea0356b6af3b80f4f65aceafbac5a636f6884f530"
    "101f0794bc4bbd910c764f94a66c"
)


# --- settings ------------------------------------------------------------------------------


def test_secret_keys_lists_the_current_key_first() -> None:
    settings = load_settings(environ={"PYTAKE_SECRET_KEYS": f" {NEW} , {OLD},"})
    assert settings.secret_key_list == (NEW, OLD)
    assert NEW not in repr(settings) and OLD not in repr(settings)
    # secret_key alone is still the one current key; both may be set if they agree.
    assert load_settings(environ={"PYTAKE_SECRET_KEY": OLD}).secret_key_list == (OLD,)
    both = load_settings(environ={"PYTAKE_SECRET_KEY": NEW, "PYTAKE_SECRET_KEYS": f"{NEW},{OLD}"})
    assert both.secret_key_list == (NEW, OLD)
    assert Settings().secret_key_list == ()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PYTAKE_SECRET_KEY": OLD, "PYTAKE_SECRET_KEYS": f"{NEW},{OLD}"},
         "PYTAKE_SECRET_KEYS: secret_keys and secret_key (PYTAKE_SECRET_KEYS and "
         "PYTAKE_SECRET_KEY) are both set to different current keys"),
        ({"PYTAKE_SECRET_KEYS": f"{NEW},short"},
         "PYTAKE_SECRET_KEYS: secret_keys must hold keys of at least 32 bytes each; key 2 of 2 "
         "is shorter"),
        ({"PYTAKE_SECRET_KEYS": f"{NEW},{OLD},{NEW}"},
         "PYTAKE_SECRET_KEYS: secret_keys must not repeat a key; key 3 repeats key 1"),
        ({"PYTAKE_SECRET_KEYS": " , "},
         "PYTAKE_SECRET_KEYS: secret_keys must be empty or name at least one key"),
    ],
)
def test_bad_key_lists_are_refused_without_showing_a_key(environ: dict[str, str],
                                                          message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert str(info.value).startswith(message)
    assert NEW not in str(info.value) and OLD not in str(info.value)


def test_key_ids_name_keys_without_showing_them() -> None:
    ring = KeyRing([NEW, OLD])
    assert ring.ids == (key_id(NEW), key_id(OLD))
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ring.ids)
    assert ring.current.id == key_id(NEW) and ring.get(key_id(OLD)) is not None
    assert ring.get(key_id(STRANGER)) is None
    assert NEW not in repr(ring) and NEW not in repr(ring.current)
    # The ids values were sealed with before keys could rotate are these very ids.
    assert key_id(LEGACY_KEY) == LEGACY_KEY_ID
    with pytest.raises(ValueError, match="at least 32 bytes"):
        KeyRing([NEW, "short"])
    with pytest.raises(ValueError, match="listed twice"):
        KeyRing([NEW, NEW])


# --- SecretBox -----------------------------------------------------------------------------


def test_values_sealed_before_keys_rotated_still_read() -> None:
    for box in (SecretBox(LEGACY_KEY), SecretBox([NEW, LEGACY_KEY])):
        assert box.decrypt_text(LEGACY_TEXT, context="second-factor:7") == "totp-secret"
        assert box.decrypt_json(
            LEGACY_BLOB, context="module_configurations/rest_api/default"
        ) == {"bearer_token": "tok"}
    assert SecretBox.key_id_of(LEGACY_TEXT) == SecretBox.key_id_of(LEGACY_BLOB) == LEGACY_KEY_ID


def test_the_current_key_seals_and_any_configured_key_reads() -> None:
    old_text = SecretBox(OLD).encrypt_text("token", context="t")
    old_blob = SecretBox(OLD).encrypt_json({"a": 1}, context="j")
    both = SecretBox([NEW, OLD])
    assert both.key_id == key_id(NEW)
    assert both.decrypt_text(old_text, context="t") == "token"
    assert both.decrypt_json(old_blob, context="j") == {"a": 1}
    assert SecretBox.key_id_of(both.encrypt_text("x", context="t")) == key_id(NEW)

    # Re-sealed: the same form, the same context, under the current key.
    text, blob = both.reseal(old_text, context="t"), both.reseal(old_blob, context="j")
    assert text.startswith("pts1:") and isinstance(blob, bytes)
    assert SecretBox.key_id_of(text) == SecretBox.key_id_of(blob) == key_id(NEW)
    assert SecretBox(NEW).decrypt_text(text, context="t") == "token"
    assert SecretBox(NEW).decrypt_json(blob, context="j") == {"a": 1}
    with pytest.raises(ModuleConfigError, match="altered, or belongs to another record"):
        both.reseal(old_text, context="another record")

    assert SecretBox.key_id_of("plain text") is None
    assert SecretBox.key_id_of(b"PTS1") is None
    assert SecretBox.key_id_of("pts1:!!") is None


def test_a_value_under_a_key_no_longer_configured_names_its_key_id() -> None:
    sealed = SecretBox(OLD).encrypt_text("token", context="t")
    with pytest.raises(ModuleConfigError) as info:
        SecretBox([NEW, STRANGER]).decrypt_text(sealed, context="t", what="the token of 42")
    message = str(info.value)
    assert message.startswith("the token of 42 was encrypted with a different "
                              "PYTAKE_SECRET_KEY")
    assert f"key id {key_id(OLD)}, which is not configured" in message
    assert f"{key_id(NEW)} (current), {key_id(STRANGER)} (older)" in message
    assert "PYTAKE_SECRET_KEYS" in message
    for key in (OLD, NEW, STRANGER):
        assert key not in message


# --- access tokens ---------------------------------------------------------------------------


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": "pytake", "sub": "1", "role": "agent", "email": "a@example.com",
            "iat": now, "exp": now + 900, "jti": uuid.uuid4().hex}
    return base | overrides


def offline(keys: list[str], sqlite_url: str) -> IdentityService:
    # verify_access never touches the database.
    return IdentityService(Database(sqlite_url), keys)


def test_tokens_are_verified_with_the_key_their_kid_names(sqlite_url: str) -> None:
    old_token = jwt.encode(claims(), OLD, algorithm="HS256", headers={"kid": key_id(OLD)})
    assert offline([NEW, OLD], sqlite_url).verify_access(old_token).user_id == 1
    with pytest.raises(AuthError, match="no longer accepted") as info:
        offline([NEW], sqlite_url).verify_access(old_token)
    assert info.value.code == "invalid_token"

    # Without a kid (issued before the upgrade): the current key.
    bare_current = jwt.encode(claims(), NEW, algorithm="HS256")
    assert offline([NEW, OLD], sqlite_url).verify_access(bare_current).user_id == 1
    with pytest.raises(AuthError, match="signature"):
        offline([NEW, OLD], sqlite_url).verify_access(jwt.encode(claims(), OLD,
                                                                 algorithm="HS256"))
    # A kid that names one key while another signed: the signature fails.
    lying = jwt.encode(claims(), OLD, algorithm="HS256", headers={"kid": key_id(NEW)})
    with pytest.raises(AuthError, match="signature"):
        offline([NEW, OLD], sqlite_url).verify_access(lying)
    _, payload, signature = jwt.encode(claims(), NEW, algorithm="HS256").split(".")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": 7}).encode())
    with pytest.raises(AuthError, match="malformed"):
        offline([NEW], sqlite_url).verify_access(
            ".".join([header.decode().rstrip("="), payload, signature]))


def make_identity(db: Database, keys: list[str]) -> IdentityService:
    return IdentityService(db, keys, passwords=Passwords(cheap_hasher()),
                           login_limiter=LoginLimiter(per_ip=100, per_email=100))


@attrs.frozen
class Sites:
    """One database, served three times: by a node with the old key only, one with
    ``[new, old]`` and one with the new key alone."""

    old: httpx.AsyncClient
    both: httpx.AsyncClient
    new: httpx.AsyncClient
    email: str


@pytest.fixture
async def sites(pg_url: str) -> AsyncIterator[Sites]:
    async with Database(pg_url) as db:
        apps = []
        for keys in ([OLD], [NEW, OLD], [NEW]):
            app = QuartTrio(f"keys-{len(apps)}", static_folder=None)
            register_error_handlers(app)
            app.register_blueprint(create_auth_blueprint(make_identity(db, keys)))
            apps.append(app)
        email = f"keys-{uuid.uuid4().hex[:10]}@example.com"  # the database is shared
        await make_identity(db, [OLD]).create_user(email, "Keys", "agent", PASSWORD)
        async with serving(apps[0]) as old, serving(apps[1]) as both, serving(apps[2]) as new:
            yield Sites(old, both, new, email)


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    answer = await client.post("/api/v1/auth/login", json={"email": email,
                                                          "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_an_old_keys_tokens_work_while_it_is_listed_and_not_after(sites: Sites) -> None:
    old = await sign_in(sites.old, sites.email)
    assert jwt.get_unverified_header(old["access_token"])["kid"] == key_id(OLD)
    assert (await me(sites.both, old["access_token"])).status_code == 200

    refused = await me(sites.new, old["access_token"])
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")

    # New tokens carry the new key's id and work wherever the new key is listed.
    new = await sign_in(sites.both, sites.email)
    assert jwt.get_unverified_header(new["access_token"])["kid"] == key_id(NEW)
    assert (await me(sites.new, new["access_token"])).status_code == 200
    assert (await me(sites.old, new["access_token"])).status_code == 401
    # Refresh tokens are stored as hashes, signed by no key: an old one works on the new node.
    answer = await sites.new.post("/api/v1/auth/refresh",
                                  json={"refresh_token": old["refresh_token"]})
    assert answer.status_code == 200, answer.text
    assert jwt.get_unverified_header(answer.json()["access_token"])["kid"] == key_id(NEW)


# --- pytake secrets rotate / status ------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def private_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of this test's own: a rotation covers every row of its tables,
    so the run's shared PostgreSQL database (other tests' keys) would not do."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    url = str(request.getfixturevalue("empty_pg_url"))
    upgrade(url)
    return url


def secrets_cli(tmp_path: Path, url: str, *args: str,
                keys: str | None = f"{NEW},{OLD}") -> subprocess.CompletedProcess[str]:
    environ = clean_environ(tmp_path) | {"PYTAKE_DATABASE_URL": url}
    if keys is not None:
        environ["PYTAKE_SECRET_KEYS"] = keys
    return subprocess.run(
        [sys.executable, "-m", "pytake", "secrets", *args],
        env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )


@attrs.frozen
class Stored:
    """What was sealed, in clear, to compare with what reads back."""

    tenant: str
    token: str
    numbers: tuple[str, ...]
    user_id: int
    totp: str
    webhooks: dict[int, str]


def registry(db: Database, box: SecretBox) -> ModuleRegistry:
    return ModuleRegistry([RestApiModule(), WebhookModule()],
                          services=ModuleServices(database=db, secrets=box))


async def seal_everything(url: str, box: SecretBox) -> Stored:
    """One value or more of every kind, each stored by its owner's own code."""
    tag = str(uuid.uuid4().int)[:8]
    token = "tok-" + uuid.uuid4().hex
    async with Database(url) as db:
        modules = registry(db, box)
        await ModuleConfigs(db, modules, box).save(
            "rest_api", {"base_url": "https://api.example.com", "bearer_token": token},
            tenant_key=f"t{tag}")
        numbers = tuple(f"9{tag[:4]}{i}" for i in range(2))
        repository = NumberRepository(db, box)
        for number in numbers:
            await repository.add(number_fields(
                {"phone_number_id": number, "access_token": token + number}, partial=False))
        identity = IdentityService(db, [NEW], passwords=Passwords(cheap_hasher()), sealer=box)
        user = await identity.create_user(f"k{tag}@example.com", "Keys", "agent", PASSWORD)
        enrollment = await identity.second_factors.begin(user.id)
        webhook = modules.get("webhook")
        assert isinstance(webhook, WebhookModule)
        hooks = {}
        for path in ("a", "b"):
            subscription, secret = await webhook.subscribe(f"https://example.com/{path}", ["*"])
            hooks[subscription.id] = secret
    return Stored(f"t{tag}", token, numbers, user.id, enrollment.secret, hooks)


async def read_everything(url: str, box: SecretBox, stored: Stored) -> None:
    """Every value, read back through its owner, equals what was stored."""
    async with Database(url) as db:
        modules = registry(db, box)
        config = await ModuleConfigs(db, modules, box).load("rest_api", tenant_key=stored.tenant)
        assert config["bearer_token"] == stored.token
        repository = NumberRepository(db, box)
        tokens = {e.phone_number_id: repository.unseal(e.phone_number_id, e.sealed_token)
                  for e in await repository.entries() if e.phone_number_id in stored.numbers
                  and e.sealed_token is not None}
        assert tokens == {n: stored.token + n for n in stored.numbers}
        factors = SecondFactors(db, box, time.time)
        proof = await factors.prove(stored.user_id, code=pyotp.TOTP(stored.totp).now(),
                                    confirmed=False)
        assert proof is not None, "the TOTP key did not decrypt"
        webhook = modules.get("webhook")
        assert isinstance(webhook, WebhookModule)
        targets = {t.id: t.secret for t in await webhook._targets()}
        assert targets == stored.webhooks


def _column_values(session: Session) -> dict[str, list[Any]]:
    """Every non-null value of every column of every table, by ``table.column``."""
    found: dict[str, list[Any]] = {}
    for table in Base.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is not None:
                    found.setdefault(f"{table.name}.{column}", []).append(value)
    return found


def sealed_values(url: str) -> dict[str, list[Any]]:
    """The values anywhere in the database that look sealed, by ``table.column``."""

    def looks_sealed(value: Any) -> bool:
        if isinstance(value, bytes):
            return value.startswith(b"PTS1")
        if isinstance(value, str):
            return value.startswith("pts1:")
        if isinstance(value, dict | list):
            return "pts1:" in json.dumps(value)
        return False

    async def scan() -> dict[str, list[Any]]:
        async with Database(url) as db:
            columns = await db.run(_column_values, readonly=True)
        return {name: [v for v in values if looks_sealed(v)]
                for name, values in columns.items() if any(looks_sealed(v) for v in values)}

    return trio.run(scan)


def key_ids(url: str) -> dict[str, set[str | None]]:
    return {name: {SecretBox.key_id_of(v) for v in values}
            for name, values in sealed_values(url).items()}


def rotation_rows(url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with Database(url) as db:
            def query(session: Session) -> list[dict[str, Any]]:
                rows = session.execute(sa.select(AuditLog.details, AuditLog.actor_user_id)
                                       .where(AuditLog.action == "secrets.rotate")
                                       .order_by(AuditLog.id)).all()
                assert all(actor is None for _, actor in rows)  # the system, not a user
                return [dict(details) for details, _ in rows]
            return await db.run(query, readonly=True)
    return trio.run(read)


def test_rotation_moves_every_stored_secret_to_the_new_key(
    tmp_path: Path, private_url: str
) -> None:
    url = private_url
    stored = trio.run(seal_everything, url, SecretBox(OLD))
    names = {c.name for c in SEALED_COLUMNS}
    # Every kind holds values, each in a column of the list, all under the old key.
    assert key_ids(url) == {name: {key_id(OLD)} for name in names}

    # [new, old]: everything still reads, and what is sealed now uses the new key.
    trio.run(read_everything, url, SecretBox([NEW, OLD]), stored)
    status = secrets_cli(tmp_path, url, "status")
    assert status.returncode == 0, status.stderr
    assert f"keys: {key_id(NEW)} (current), {key_id(OLD)} (older)" in status.stdout
    assert f"webhooks.secret: 2 (2 under {key_id(OLD)} (older))" in status.stdout
    assert OLD not in status.stdout + status.stderr and stored.token not in status.stdout

    dry = secrets_cli(tmp_path, url, "rotate", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "business_numbers.access_token: 2 would be re-encrypted, 0 already current" \
        in dry.stdout
    assert key_ids(url) == {name: {key_id(OLD)} for name in names}  # nothing written
    assert rotation_rows(url) == []

    rotated = secrets_cli(tmp_path, url, "rotate", "--batch-size", "1")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.splitlines() == [
        "module_configurations.secrets_encrypted: 1 re-encrypted, 0 already current",
        "business_numbers.access_token: 2 re-encrypted, 0 already current",
        "second_factors.secret: 1 re-encrypted, 0 already current",
        "webhooks.secret: 2 re-encrypted, 0 already current",
        "total: 6 re-encrypted, 0 already current",
    ]
    # A progress line per batch (of one row here), on stderr.
    assert "pytake: webhooks.secret: 1 read, 1 re-encrypted, 0 already current" \
        in rotated.stderr
    assert "pytake: webhooks.secret: 2 read, 2 re-encrypted, 0 already current" \
        in rotated.stderr
    assert key_ids(url) == {name: {key_id(NEW)} for name in names}
    (audit,) = rotation_rows(url)
    assert audit["key_id"] == key_id(NEW)
    assert audit["columns"]["business_numbers.access_token"] == {
        "rotated": 2, "already_current": 0, "missing_key": {}, "unreadable": 0,
        "changed_meanwhile": 0}

    # Again: nothing left to do (idempotent).
    again = secrets_cli(tmp_path, url, "rotate")
    assert again.returncode == 0, again.stderr
    assert "total: 0 re-encrypted, 6 already current" in again.stdout
    assert len(rotation_rows(url)) == 2

    # The old key can go: [new] alone reads everything.
    trio.run(read_everything, url, SecretBox([NEW]), stored)
    status = secrets_cli(tmp_path, url, "status", keys=NEW)
    assert f"webhooks.secret: 2 (2 under {key_id(NEW)} (current))" in status.stdout


def test_values_under_a_key_not_configured_are_reported_and_kept(
    tmp_path: Path, private_url: str
) -> None:
    url = private_url
    trio.run(seal_everything, url, SecretBox(OLD))
    trio.run(seal_everything, url, SecretBox(STRANGER))  # a key this deployment lost

    result = secrets_cli(tmp_path, url, "rotate")
    assert result.returncode == 1
    assert f"webhooks.secret: 2 re-encrypted, 0 already current, 2 under key " \
        f"{key_id(STRANGER)} (not configured)" in result.stdout
    assert "total: 6 re-encrypted, 0 already current" in result.stdout
    assert result.stderr.splitlines()[-1] == (
        f"pytake: error: 6 stored secrets could not be re-encrypted: add the key with id "
        f"{key_id(STRANGER)} to PYTAKE_SECRET_KEYS (after the current one) and run it again, "
        "or store those secrets again")
    assert f"sealed with key {key_id(STRANGER)}, which is not configured" in result.stderr
    for key in (OLD, NEW, STRANGER):
        assert key not in result.stdout + result.stderr
    # The old key's values moved; the stranger's are as they were, and say whose they are.
    assert key_ids(url) == {c.name: {key_id(NEW), key_id(STRANGER)} for c in SEALED_COLUMNS}
    status = secrets_cli(tmp_path, url, "status", keys=None)
    assert status.returncode == 0
    assert "keys: none configured" in status.stdout
    (line,) = [x for x in status.stdout.splitlines() if x.startswith("webhooks.secret: 4 (")]
    assert f"2 under {key_id(NEW)} (not configured)" in line
    assert f"2 under {key_id(STRANGER)} (not configured)" in line


def test_rotate_needs_a_key_and_a_sane_batch(tmp_path: Path, sqlite_url: str) -> None:
    result = secrets_cli(tmp_path, sqlite_url, "rotate", keys=None)
    assert result.returncode == 2
    assert result.stderr == ("pytake: error: PYTAKE_SECRET_KEYS (or PYTAKE_SECRET_KEY) is not "
                             "set: there is no key to re-encrypt the stored secrets with\n")
    result = secrets_cli(tmp_path, sqlite_url, "rotate", "--batch-size", "0")
    assert result.returncode == 1
    assert "--batch-size must be at least 1" in result.stderr
    result = secrets_cli(tmp_path, sqlite_url, "rotate", keys=f"{NEW},short")
    assert result.returncode == 2
    assert "key 2 of 2 is shorter" in result.stderr


# --- every sealed column is covered -----------------------------------------------------------

_SEALS = re.compile(r"\.(encrypt_text|encrypt_json|encrypt)\(")
#: Columns whose names sound secret but hold no sealed value, and why.
_NOT_SEALED = {
    "users.password_hash": "an argon2id hash",
    "refresh_tokens.token_hash": "a SHA-256 of a random token",
    "password_tokens.token_hash": "a SHA-256 of a random token",
}
_SOUNDS_SECRET = re.compile(r"secret|token|passw|encrypt|seal|credential|api_?key|private|"
                            r"cipher|signing")


def test_every_module_that_seals_values_is_in_the_list() -> None:
    """Code that seals a value must have its column in `SEALED_COLUMNS`, or rotation would
    miss it: a new caller of ``encrypt*`` fails here until its column is listed."""
    root = Path(pytake.__file__).parent
    sealing = {
        str(path.relative_to(root.parent))
        for path in root.rglob("*.py")
        if path.name != "_secrets.py" and _SEALS.search(path.read_text())
    }
    assert sealing == {column.sealed_by for column in SEALED_COLUMNS}


def test_every_column_that_sounds_secret_is_sealed_or_known_plain() -> None:
    columns = {f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables
               for column in table.columns if _SOUNDS_SECRET.search(column.name)}
    listed = {column.name for column in SEALED_COLUMNS}
    assert columns - listed == set(_NOT_SEALED)
    assert listed <= columns


def test_the_sealed_columns_exist_and_are_read_by_primary_key() -> None:
    tables = Base.metadata.tables
    for sealed in SEALED_COLUMNS:
        table = tables[sealed.model.__tablename__]
        assert sealed.column in table.c and table.c[sealed.key].primary_key, sealed.name

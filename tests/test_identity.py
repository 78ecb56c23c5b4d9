"""Identity: password hashing, users, sign-in, token rotation and verification, rate limits,
and ``pytake users`` run as a subprocess. Time comes from a fake clock, never from sleeps."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import argon2
import jwt
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.config import Settings
from pytake.errors import ConfigError, PyTakeError
from pytake.identity import (
    AuthError,
    EmailTaken,
    IdentityService,
    InvalidUser,
    LoginLimiter,
    Passwords,
    RateLimiter,
    hash_refresh_token,
    password_problem,
)
from pytake.store import AuditLog, Database, RefreshToken, User, UserRole

from ._support import clean_environ

KEY = "k" * 64  # long enough for HS512 too (a test signs with it)
PASSWORD = "correct horse battery"
START = 1_700_000_000.0


class FakeClock:
    """Unix time that moves only when told to."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def cheap_hasher(time_cost: int = 1) -> argon2.PasswordHasher:
    """Valid argon2id with the smallest parameters: tests hash fast."""
    return argon2.PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1)


class CountingHasher(argon2.PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(str(hash))
        return super().verify(hash, password)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    url: str = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    async with Database(url) as database:
        yield database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def identity(db: Database, clock: FakeClock) -> IdentityService:
    return IdentityService(
        db, KEY, access_ttl=900, refresh_ttl=3600, clock=clock, passwords=Passwords(cheap_hasher())
    )


async def audit_actions(db: Database, user_id: int) -> list[str]:
    def query(session: Session) -> list[str]:
        rows = session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.target_type == "user", AuditLog.target_id == str(user_id))
            .order_by(AuditLog.id)
        )
        return list(rows)

    return await db.run(query, readonly=True)


async def family_tokens(db: Database, user_id: int) -> list[RefreshToken]:
    def query(session: Session) -> list[RefreshToken]:
        rows = session.scalars(
            sa.select(RefreshToken).where(RefreshToken.user_id == user_id).order_by(RefreshToken.id)
        )
        return list(rows)

    return await db.run(query, readonly=True)


async def set_active(db: Database, user_id: int, active: bool) -> None:
    def update(session: Session) -> None:
        session.execute(sa.update(User).where(User.id == user_id).values(active=active))

    await db.run(update)


# --- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 8"),
        ("x" * 1025, "at most 1024"),
        ("aaaaaaaaaa", "repeated"),
        ("Password123", "too common"),
        ("12345678", "too common"),
        ("maria.silva", "email"),
    ],
)
def test_password_policy_refuses(password: str, problem: str) -> None:
    reason = password_problem(password, email="Maria.Silva@example.com")
    assert reason is not None and problem in reason


def test_password_policy_accepts() -> None:
    assert password_problem(PASSWORD, email="maria@example.com") is None


async def test_hash_is_argon2id_and_verifies() -> None:
    passwords = Passwords(cheap_hasher())
    stored = await passwords.hash(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert await passwords.verify(stored, PASSWORD) == (True, None)
    assert await passwords.verify(stored, PASSWORD + "!") == (False, None)
    assert await passwords.verify("not a hash", PASSWORD) == (False, None)


async def test_unknown_user_costs_a_verification() -> None:
    # "No such user" verifies against a dummy hash with the same parameters, so it takes as
    # long as a wrong password: timing does not reveal which emails exist.
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    assert await passwords.verify(None, PASSWORD) == (False, None)
    assert await passwords.verify(None, PASSWORD) == (False, None)
    assert len(hasher.verified) == 2
    assert all(h.startswith("$argon2id$v=19$m=8,t=1,p=1$") for h in hasher.verified)


async def test_changed_parameters_rehash() -> None:
    old = await Passwords(cheap_hasher(time_cost=1)).hash(PASSWORD)
    ok, new = await Passwords(cheap_hasher(time_cost=2)).verify(old, PASSWORD)
    assert ok and new is not None and "t=2" in new
    assert cheap_hasher(time_cost=2).verify(new, PASSWORD)


# --- users --------------------------------------------------------------------------------


async def test_create_user(identity: IdentityService, db: Database) -> None:
    email = unique_email("Ana")
    user = await identity.create_user(f"  {email.upper()} ", " Ana  Souza ", "supervisor", PASSWORD)
    assert (user.email, user.name, user.role, user.active) == (
        email.lower(),
        "Ana Souza",
        UserRole.SUPERVISOR,
        True,
    )
    stored = await db.run(lambda s: s.get(User, user.id), readonly=True)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert await audit_actions(db, user.id) == ["user.create"]
    assert user in await identity.list_users()
    assert await identity.get_user(user.id) == user


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "field"),
    [
        ("not-an-email", "A", "agent", PASSWORD, "email"),
        ("a@b", "A", "agent", PASSWORD, "email"),
        ("a b@example.com", "A", "agent", PASSWORD, "email"),
        ("a@example.com", "   ", "agent", PASSWORD, "name"),
        ("a@example.com", "A", "owner", PASSWORD, "role"),
        ("a@example.com", "A", "agent", "short", "password"),
    ],
)
async def test_create_user_validates(
    identity: IdentityService, email: str, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidUser) as info:
        await identity.create_user(email, name, role, password)
    assert info.value.field == field
    assert isinstance(info.value, PyTakeError)


async def test_duplicate_email_is_refused(identity: IdentityService) -> None:
    email = unique_email()
    await identity.create_user(email, "First", "agent", PASSWORD)
    with pytest.raises(EmailTaken, match="already exists"):
        await identity.create_user(email.upper(), "Second", "agent", PASSWORD)


# --- sign-in ------------------------------------------------------------------------------


async def test_authenticate_issues_verifiable_tokens(
    identity: IdentityService, db: Database, clock: FakeClock
) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    pair = await identity.authenticate(email.upper(), PASSWORD, ip="203.0.113.9")
    assert (pair.token_type, pair.expires_in, pair.refresh_expires_in) == ("bearer", 900, 3600)

    principal = identity.verify_access(pair.access_token)
    assert (principal.user_id, principal.role, principal.email) == (user.id, "agent", email)
    claims = jwt.decode(pair.access_token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert set(claims) >= {"sub", "role", "exp", "iat", "jti"}
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iat"] == int(clock.now)

    [token] = await family_tokens(db, user.id)
    assert token.token_hash == hash_refresh_token(pair.refresh_token)
    assert pair.refresh_token not in token.token_hash
    assert token.expires_at.timestamp() == pytest.approx(clock.now + 3600)
    assert (token.used_at, token.revoked_at) == (None, None)
    assert await audit_actions(db, user.id) == ["user.create", "auth.login"]


async def test_wrong_password_and_unknown_email_look_alike(
    identity: IdentityService, db: Database
) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    with pytest.raises(AuthError) as wrong:
        await identity.authenticate(email, "wrong password", ip="198.51.100.7")
    with pytest.raises(AuthError) as unknown:
        await identity.authenticate(unique_email("nobody"), PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "invalid email or password"
    assert wrong.value.code == unknown.value.code == "invalid_credentials"
    assert await audit_actions(db, user.id) == ["user.create", "auth.login_failed"]

    def failure(session: Session) -> AuditLog:
        return session.scalars(
            sa.select(AuditLog).where(
                AuditLog.action == "auth.login_failed", AuditLog.target_id == str(user.id)
            )
        ).one()

    row = await db.run(failure, readonly=True)
    assert (row.ip, row.details) == (
        "198.51.100.7",
        {"email": email, "reason": "invalid_credentials"},
    )


async def test_inactive_user_is_refused(identity: IdentityService, db: Database) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Gone", "agent", PASSWORD)
    await set_active(db, user.id, False)
    with pytest.raises(AuthError) as info:
        await identity.authenticate(email, PASSWORD)
    assert info.value.code == "account_inactive"


async def test_login_rehashes_with_new_parameters(
    db: Database, clock: FakeClock, identity: IdentityService
) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Old", "agent", PASSWORD)
    stronger = IdentityService(db, KEY, clock=clock, passwords=Passwords(cheap_hasher(2)))
    await stronger.authenticate(email, PASSWORD)
    stored = await db.run(lambda s: s.get(User, user.id), readonly=True)
    assert stored is not None and "t=2" in stored.password_hash
    await stronger.authenticate(email, PASSWORD)  # still signs in with the new hash


# --- refresh rotation ----------------------------------------------------------------------


async def test_refresh_rotates_within_the_family(
    identity: IdentityService, db: Database, clock: FakeClock
) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    first = await identity.authenticate(email, PASSWORD)
    clock.advance(600)
    second = await identity.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert identity.verify_access(second.access_token).user_id == user.id

    old, new = await family_tokens(db, user.id)
    assert old.family_id == new.family_id
    assert old.used_at is not None and old.used_at.timestamp() == clock.now
    assert (new.used_at, new.revoked_at) == (None, None)
    # Sliding expiry: the new token lives refresh_ttl from its own issue.
    assert new.expires_at.timestamp() == pytest.approx(clock.now + 3600)
    assert (await audit_actions(db, user.id))[-1] == "auth.refresh"


async def test_reusing_a_spent_token_revokes_its_family(
    identity: IdentityService, db: Database
) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    stolen = await identity.authenticate(email, PASSWORD)
    other_session = await identity.authenticate(email, PASSWORD)
    rotated = await identity.refresh(stolen.refresh_token)

    with pytest.raises(AuthError) as reuse:
        await identity.refresh(stolen.refresh_token)
    assert reuse.value.code == "refresh_token_reused"
    # The legitimate holder's newer token is dead too: the family is revoked.
    with pytest.raises(AuthError) as revoked:
        await identity.refresh(rotated.refresh_token)
    assert revoked.value.code == "refresh_token_revoked"
    # Another sign-in is another family and carries on.
    await identity.refresh(other_session.refresh_token)

    assert "auth.refresh_reused" in await audit_actions(db, user.id)
    family = {t.family_id for t in await family_tokens(db, user.id) if t.revoked_at is not None}
    assert len(family) == 1


async def test_expired_refresh_token(identity: IdentityService, clock: FakeClock) -> None:
    email = unique_email()
    await identity.create_user(email, "Agent", "agent", PASSWORD)
    pair = await identity.authenticate(email, PASSWORD)
    clock.advance(3600)
    with pytest.raises(AuthError) as info:
        await identity.refresh(pair.refresh_token)
    assert info.value.code == "refresh_token_expired"
    assert "expired" in info.value.reason


async def test_unknown_refresh_token(identity: IdentityService) -> None:
    with pytest.raises(AuthError) as info:
        await identity.refresh("never-issued")
    assert info.value.code == "invalid_refresh_token"


async def test_deactivated_user_cannot_refresh(identity: IdentityService, db: Database) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    pair = await identity.authenticate(email, PASSWORD)
    await set_active(db, user.id, False)
    with pytest.raises(AuthError) as info:
        await identity.refresh(pair.refresh_token)
    assert info.value.code == "account_inactive"


async def test_refresh_carries_the_current_role(identity: IdentityService, db: Database) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    pair = await identity.authenticate(email, PASSWORD)

    def promote(session: Session) -> None:
        session.execute(sa.update(User).where(User.id == user.id).values(role=UserRole.SUPERVISOR))

    await db.run(promote)
    pair = await identity.refresh(pair.refresh_token)
    assert identity.verify_access(pair.access_token).role == UserRole.SUPERVISOR


async def test_logout_and_revoke_family(identity: IdentityService, db: Database) -> None:
    email = unique_email()
    user = await identity.create_user(email, "Agent", "agent", PASSWORD)
    pair = await identity.authenticate(email, PASSWORD)
    assert await identity.logout(pair.refresh_token)
    assert not await identity.logout("never-issued")
    with pytest.raises(AuthError, match="revoked"):
        await identity.refresh(pair.refresh_token)

    pair = await identity.authenticate(email, PASSWORD)
    family = (await family_tokens(db, user.id))[-1].family_id
    assert await identity.revoke_family(family, actor_user_id=user.id) == 1
    with pytest.raises(AuthError, match="revoked"):
        await identity.refresh(pair.refresh_token)
    assert {"auth.logout", "auth.revoke_family"} <= set(await audit_actions(db, user.id))


# --- access tokens ---------------------------------------------------------------------------


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "pytake",
        "sub": "1",
        "role": "agent",
        "email": "a@example.com",
        "iat": int(START),
        "exp": int(START) + 900,
        "jti": "x",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def offline(clock: FakeClock, sqlite_url: str) -> IdentityService:
    # verify_access never touches the database; the Database object is never used.
    return IdentityService(Database(sqlite_url), KEY, clock=clock)


def test_valid_token(offline: IdentityService) -> None:
    principal = offline.verify_access(jwt.encode(claims(), KEY, algorithm="HS256"))
    assert (principal.user_id, principal.role, principal.email) == (
        1,
        UserRole.AGENT,
        "a@example.com",
    )
    assert principal.has_role("agent", "admin") and not principal.has_role("admin")


def test_access_token_expires(offline: IdentityService, clock: FakeClock) -> None:
    token = jwt.encode(claims(), KEY, algorithm="HS256")
    clock.advance(899)
    offline.verify_access(token)
    clock.advance(1)
    with pytest.raises(AuthError) as info:
        offline.verify_access(token)
    assert info.value.code == "token_expired"


def test_tampered_payload_is_refused(offline: IdentityService) -> None:
    header, _, signature = jwt.encode(claims(), KEY, algorithm="HS256").split(".")
    forged = ".".join([header, b64(claims(role="admin")), signature])
    with pytest.raises(AuthError, match="signature"):
        offline.verify_access(forged)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (
            jwt.encode(claims(), "another key of at least 32 bytes!!", algorithm="HS256"),
            "signature",
        ),
        (b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims()) + ".", "malformed"),
        (jwt.encode(claims(), KEY, algorithm="HS512"), "malformed"),
        (jwt.encode(claims(iss="someone-else"), KEY, algorithm="HS256"), "issuer"),
        (jwt.encode(claims(role=None), KEY, algorithm="HS256"), "'role'"),
        (jwt.encode(claims(jti=None), KEY, algorithm="HS256"), "'jti'"),
        (jwt.encode(claims(role="root"), KEY, algorithm="HS256"), "malformed"),
        (jwt.encode(claims(sub="abc"), KEY, algorithm="HS256"), "malformed"),
        (jwt.encode(claims(iat=int(START) + 3600), KEY, algorithm="HS256"), "future"),
        ("not.a.token", "malformed"),
        ("", "malformed"),
    ],
)
def test_bad_tokens_are_refused(offline: IdentityService, token: str, reason: str) -> None:
    with pytest.raises(AuthError, match=reason) as info:
        offline.verify_access(token)
    assert info.value.code == "invalid_token"


def test_short_secret_key_is_refused(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        IdentityService(Database(sqlite_url), "too short")
    with pytest.raises(ConfigError, match="secret_key"):
        Settings(secret_key="too short")


def test_empty_secret_key_gets_a_random_one(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(sqlite_url)
    first = IdentityService.from_settings(db, Settings())
    second = IdentityService.from_settings(db, Settings())
    assert "secret_key is not set" in caplog.text
    token = jwt.encode(claims(iat=int(START)), "x" * 40, algorithm="HS256")
    for service in (first, second):
        with pytest.raises(AuthError):
            service.verify_access(token)


# --- rate limits -----------------------------------------------------------------------------


def test_rate_limiter_refills() -> None:
    clock = FakeClock(0)
    limiter = RateLimiter(10, 60, clock=clock)
    for _ in range(10):
        assert limiter.retry_after("k") == 0
        limiter.hit("k")
    assert limiter.retry_after("k") == pytest.approx(6)
    clock.advance(6)
    assert limiter.retry_after("k") == 0


def test_rate_limiter_memory_is_bounded() -> None:
    clock = FakeClock(0)
    limiter = RateLimiter(2, 60, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.hit(f"k{i}")
    assert len(limiter) <= 100


def test_login_limiter_per_email_and_per_ip() -> None:
    clock = FakeClock(0)
    limiter = LoginLimiter(per_ip=5, per_email=3, clock=clock)
    assert [limiter.attempt(f"10.0.0.{i}", "Victim@example.com") for i in range(4)] == [0, 0, 0, 20]
    assert limiter.attempt("10.0.0.9", "victim@example.com ") == 20  # same email, normalized
    assert limiter.attempt("10.0.0.1", "other@example.com") == 0
    for i in range(3):
        limiter.attempt("192.0.2.1", f"u{i}@example.com")
    assert limiter.attempt("192.0.2.1", "x@example.com") == 0
    assert limiter.attempt("192.0.2.1", "y@example.com") == 0
    assert limiter.attempt("192.0.2.1", "z@example.com") == 12  # 5 per minute per address
    clock.advance(12)
    assert limiter.attempt("192.0.2.1", "z@example.com") == 0


# --- pytake users, as a subprocess ---------------------------------------------------------


def pytake(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytake", *args],
        env=clean_environ(tmp_path),
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_creates_the_first_admin(tmp_path: Path) -> None:
    create = ("users", "create", "--email", "Admin@Example.com", "--name", "Admin", "--role")
    result = pytake(tmp_path, *create, "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1\n"  # the id, alone: ID=$(pytake users create ...)
    assert "created admin admin@example.com with id 1" in result.stderr

    listing = pytake(tmp_path, "users", "list")
    assert listing.returncode == 0, listing.stderr
    assert "admin@example.com" in listing.stdout and "admin" in listing.stdout

    duplicate = pytake(tmp_path, *create, "agent", "--password-stdin", stdin=PASSWORD)
    assert duplicate.returncode == 1
    assert duplicate.stderr.strip().endswith("a user with email admin@example.com already exists")

    # The user made by the CLI signs in, with PyTake's production argon2 parameters.
    async with Database(f"sqlite:///{tmp_path / 'pytake.db'}") as db:
        identity = IdentityService(db, KEY)
        pair = await identity.authenticate("admin@example.com", PASSWORD)
        assert identity.verify_access(pair.access_token).role == UserRole.ADMIN


def test_cli_refuses_weak_passwords_and_missing_terminal(tmp_path: Path) -> None:
    create = ("users", "create", "--email", "a@example.com", "--name", "A", "--role", "agent")
    weak = pytake(tmp_path, *create, "--password-stdin", stdin="12345678\n")
    assert weak.returncode == 1
    assert weak.stderr == "pytake: error: password is too common; choose another\n"
    assert not (tmp_path / "pytake.db").exists()  # refused before touching the database

    no_tty = pytake(tmp_path, *create, stdin="")
    assert no_tty.returncode == 1
    assert "use --password-stdin" in no_tty.stderr

    bad_email = pytake(
        tmp_path,
        "users",
        "create",
        "--email",
        "nope",
        "--name",
        "A",
        "--role",
        "agent",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert bad_email.returncode == 1
    assert "not a valid email address" in bad_email.stderr


def test_cli_list_on_an_unmigrated_database(tmp_path: Path) -> None:
    result = pytake(tmp_path, "users", "list")
    assert result.returncode == 1
    assert "pytake db upgrade" in result.stderr


async def test_cli_invites_changes_roles_deactivates_and_resets(tmp_path: Path) -> None:
    admin = pytake(tmp_path, "users", "create", "--email", "boss@example.com", "--name", "Boss",
                   "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert admin.returncode == 0, admin.stderr
    invited = pytake(tmp_path, "users", "invite", "--email", "Zoë@Example.com", "--name",
                     "Zoë 🌵", "--role", "agent", "--delivery", "password")
    assert invited.returncode == 0, invited.stderr
    temporary = invited.stdout.strip()
    assert len(temporary) >= 12 and "shown once" in invited.stderr

    async with Database(f"sqlite:///{tmp_path / 'pytake.db'}") as db:
        identity = IdentityService(db, KEY)
        pair = await identity.authenticate("zoë@example.com", temporary)
        assert identity.verify_access(pair.access_token).role == UserRole.AGENT

    role = pytake(tmp_path, "users", "role", "zoë@example.com", "supervisor")
    assert role.returncode == 0 and "is now supervisor, active" in role.stderr, role.stderr
    off = pytake(tmp_path, "users", "deactivate", "zoë@example.com")
    assert off.returncode == 0 and "deactivated" in off.stderr, off.stderr
    async with Database(f"sqlite:///{tmp_path / 'pytake.db'}") as db:
        identity = IdentityService(db, KEY)
        with pytest.raises(AuthError):
            await identity.authenticate("zoë@example.com", temporary)
        # The role change revoked the session signed in above.
        with pytest.raises(AuthError):
            await identity.refresh(pair.refresh_token)

    on = pytake(tmp_path, "users", "reactivate", "zoë@example.com")
    assert on.returncode == 0, on.stderr
    reset = pytake(tmp_path, "users", "reset-password", "2")
    assert reset.returncode == 0, reset.stderr
    assert "one-time set-password token" in reset.stderr and len(reset.stdout.strip()) > 20
    async with Database(f"sqlite:///{tmp_path / 'pytake.db'}") as db:
        with pytest.raises(AuthError):  # the temporary password is gone
            await IdentityService(db, KEY).authenticate("zoë@example.com", temporary)

    last_admin = pytake(tmp_path, "users", "deactivate", "boss@example.com")
    assert last_admin.returncode == 1 and "admin" in last_admin.stderr, last_admin.stderr
    unknown = pytake(tmp_path, "users", "role", "nobody@example.com", "agent")
    assert unknown.returncode == 1
    assert unknown.stderr == "pytake: error: no user with email 'nobody@example.com'\n"


@pytest.fixture
def patient_clock() -> Any:
    """Virtual time that jumps only once every task has waited 50 ms of real time: a
    database call (a worker thread) finishes before the clock moves on."""
    from trio.testing import MockClock

    return MockClock(autojump_threshold=0.05)


async def test_watched_accounts_are_reread_together_and_changes_seen(
    identity: IdentityService, db: Database, patient_clock: Any
) -> None:
    """Many signed-in users cost one read per second between them, not one each, and a
    deactivation made elsewhere (another node: nothing tells this one) is still seen within
    about a second."""
    import trio

    principals = []
    for n in range(5):
        email = unique_email()
        await identity.create_user(email, f"Agent {n}", "agent", PASSWORD)
        pair = await identity.authenticate(email, PASSWORD)
        principals.append(identity.verify_access(pair.access_token))
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM users" in statement:
            reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(identity.keep_accounts_fresh)
            for _ in range(6):  # three seconds of requests from every user
                for principal in principals:
                    await identity.ensure_active(principal)
                await trio.sleep(0.5)
            # First asks read each user once; from then on one query serves all five.
            assert len(reads) <= len(principals) + 7, [r[:60] for r in reads]

            def deactivate(session: Session) -> None:
                session.execute(sa.update(User).where(User.id == principals[0].user_id)
                                .values(active=False))

            await db.run(deactivate)
            await trio.sleep(1.5)
            with pytest.raises(AuthError) as caught:
                await identity.ensure_active(principals[0])
            assert caught.value.code == "account_inactive"
            await identity.ensure_active(principals[1])
            nursery.cancel_scope.cancel()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)

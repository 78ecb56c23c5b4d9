"""TOTP second factors: enrolment, sign-in with a code or a recovery code, replay and window
rules, regeneration, disabling, an admin's reset (REST and ``pytake users reset-2fa``), on
PostgreSQL and SQLite.  Time comes from a fake clock in the service tests; the HTTP tests use
codes of the real clock's current and next step, which any moment of a test run accepts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.errors import InvalidSecondFactor, SecondFactorConflict, SecondFactorUnavailable
from pytake.identity import (
    RECOVERY_CODES,
    AuthError,
    IdentityService,
    LoginLimiter,
    Passwords,
)
from pytake.modules import SecretBox
from pytake.store import AuditLog, Database, SecondFactor

from . import test_identity as identity_tests
from ._support import brief
from .test_identity import KEY, PASSWORD, FakeClock, cheap_hasher, clean_environ
from .test_users_api import PASSWORD as SITE_PASSWORD
from .test_users_api import Site, bearer, fresh_url, site  # noqa: F401  (fixtures)

# The identity tests' fixtures: a database on each backend, and a clock moved by hand.
db = identity_tests.db
clock = identity_tests.clock


@pytest.fixture
def identity(db: Database, clock: FakeClock) -> IdentityService:
    return IdentityService(db, KEY, clock=clock, passwords=Passwords(cheap_hasher()),
                           sealer=SecretBox(KEY))


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


async def enrolled(identity: IdentityService, clock: FakeClock,
                   email: str) -> tuple[int, str, list[str]]:
    """A new user with a confirmed second factor: (id, key, recovery codes)."""
    user = await identity.create_user(email, "Ana Ñandú 👩‍💻", "admin", PASSWORD)
    enrollment = await identity.second_factors.begin(user.id)
    codes = await identity.second_factors.confirm(user.id, code_at(enrollment.secret, clock()))
    clock.advance(30)  # the confirming code is spent; sign-ins use the next step's
    return user.id, enrollment.secret, codes


async def audit_actions(db: Database, user_id: int) -> list[tuple[str, dict[str, Any]]]:
    def query(session: Session) -> list[tuple[str, dict[str, Any]]]:
        rows = session.execute(
            sa.select(AuditLog.action, AuditLog.details)
            .where(AuditLog.target_type == "user", AuditLog.target_id == str(user_id))
            .order_by(AuditLog.id))
        return [(action, details) for action, details in rows]

    return await db.run(query, readonly=True)


async def sign_in_fails(identity: IdentityService, email: str, **codes: str) -> str:
    with pytest.raises(AuthError) as caught:
        await identity.authenticate(email, PASSWORD, **codes)
    return caught.value.code


# --- the service ------------------------------------------------------------------------------


async def test_enrolment_until_confirmed_does_not_lock_anyone_out(
        identity: IdentityService, clock: FakeClock) -> None:
    user = await identity.create_user("pending@example.com", "P", "admin", PASSWORD)
    enrollment = await identity.second_factors.begin(user.id)
    assert enrollment.uri.startswith("otpauth://totp/PyTake:pending%40example.com?")
    assert f"secret={enrollment.secret}" in enrollment.uri
    state = await identity.second_factors.state(user.id)
    assert (state.enabled, state.pending) == (False, True)
    # Not confirmed: the password alone still signs in.
    assert (await identity.authenticate("pending@example.com", PASSWORD)).access_token
    with pytest.raises(InvalidSecondFactor):
        await identity.second_factors.confirm(user.id, "000000" if code_at(
            enrollment.secret, clock()) != "000000" else "111111")
    codes = await identity.second_factors.confirm(user.id, code_at(enrollment.secret, clock()))
    assert len(codes) == RECOVERY_CODES == len(set(codes))
    state = await identity.second_factors.state(user.id)
    assert (state.enabled, state.pending, state.recovery_codes_left) == (True, False, 10)
    with pytest.raises(SecondFactorConflict):
        await identity.second_factors.begin(user.id)


async def test_sign_in_asks_for_a_code_and_takes_each_code_once(
        identity: IdentityService, clock: FakeClock, db: Database) -> None:
    user_id, secret, _ = await enrolled(identity, clock, "totp@example.com")
    email = "totp@example.com"
    assert await sign_in_fails(identity, email) == "second_factor_required"
    assert await sign_in_fails(identity, email, totp_code="12345") == (
        "invalid_second_factor")
    code = code_at(secret, clock())
    pair = await identity.authenticate(email, PASSWORD, totp_code=f" {code[:3]} {code[3:]} ")
    assert identity.verify_access(pair.access_token).user_id == user_id
    # Replayed within its own 30 seconds: refused.
    assert await sign_in_fails(identity, email, totp_code=code) == (
        "invalid_second_factor")
    # One step either side of the clock counts; two do not.
    assert (await identity.authenticate(email, PASSWORD,
                                        totp_code=code_at(secret, clock() + 30))).access_token
    clock.advance(120)
    stale = code_at(secret, clock() - 60)
    if stale != code_at(secret, clock()):
        assert await sign_in_fails(identity, email, totp_code=stale) == (
            "invalid_second_factor")
    # A wrong password is still just that, whatever the code.
    with pytest.raises(AuthError) as caught:
        await identity.authenticate(email, "wrong password!", totp_code=code_at(secret, clock()))
    assert caught.value.code == "invalid_credentials"
    actions = await audit_actions(db, user_id)
    logins = [details for action, details in actions if action == "auth.login"]
    assert logins and all(d.get("second_factor") == "totp" for d in logins[-2:])
    reasons = [d["reason"] for action, d in actions if action == "auth.login_failed"]
    assert reasons.count("second_factor_required") == 1
    assert reasons.count("invalid_second_factor") >= 2


async def test_recovery_codes_work_once_and_regenerating_retires_the_old(
        identity: IdentityService, clock: FakeClock) -> None:
    user_id, secret, codes = await enrolled(identity, clock, "recovery@example.com")
    email = "recovery@example.com"
    assert (await identity.authenticate(email, PASSWORD,
                                        recovery_code=codes[0].upper())).access_token
    assert await sign_in_fails(identity, email, recovery_code=codes[0]) == (
        "invalid_second_factor")
    assert (await identity.second_factors.state(user_id)).recovery_codes_left == 9
    fresh = await identity.second_factors.regenerate(user_id, code=code_at(secret, clock()))
    assert not set(fresh) & set(codes)
    assert await sign_in_fails(identity, email, recovery_code=codes[1]) == (
        "invalid_second_factor")
    assert (await identity.authenticate(email, PASSWORD, recovery_code=fresh[1])).access_token


async def test_disable_needs_a_code_and_reset_needs_none(
        identity: IdentityService, clock: FakeClock, db: Database) -> None:
    user_id, secret, codes = await enrolled(identity, clock, "off@example.com")
    with pytest.raises(InvalidSecondFactor):
        await identity.second_factors.disable(user_id, code="999999" if code_at(
            secret, clock()) != "999999" else "888888")
    await identity.second_factors.disable(user_id, recovery_code=codes[3])
    assert not (await identity.second_factors.state(user_id)).enabled
    assert (await identity.authenticate("off@example.com", PASSWORD)).access_token
    # Enrolled again, then reset by an admin (the user lost both phone and codes).
    enrollment = await identity.second_factors.begin(user_id)
    await identity.second_factors.confirm(user_id, code_at(enrollment.secret, clock()))
    assert await identity.second_factors.reset(user_id, actor=None) is True
    assert await identity.second_factors.reset(user_id, actor=None) is False
    assert (await identity.authenticate("off@example.com", PASSWORD)).access_token
    actions = [a for a, _ in await audit_actions(db, user_id)]
    assert "auth.second_factor_disabled" in actions and "auth.second_factor_reset" in actions


async def test_the_key_is_stored_sealed_and_bound_to_its_user(
        identity: IdentityService, clock: FakeClock, db: Database) -> None:
    first, secret, _ = await enrolled(identity, clock, "sealed-1@example.com")
    second, _, _ = await enrolled(identity, clock, "sealed-2@example.com")

    def swap(session: Session) -> str:
        rows = {r.user_id: r for r in session.scalars(
            sa.select(SecondFactor).where(SecondFactor.user_id.in_([first, second])))}
        rows[second].secret = rows[first].secret
        return rows[first].secret

    stored = await db.run(swap)
    assert secret not in stored and stored.startswith("pts1:")
    # Copied onto another user, the first user's key does not decrypt: no code of it works,
    # and the sign-in is refused as a wrong code, not answered with a crash.
    assert await sign_in_fails(identity, "sealed-2@example.com",
                               totp_code=code_at(secret, clock())) == "invalid_second_factor"


async def test_without_a_secret_key_there_is_no_enrolment(db: Database,
                                                          clock: FakeClock) -> None:
    service = IdentityService(db, KEY, clock=clock, passwords=Passwords(cheap_hasher()))
    user = await service.create_user("nokey@example.com", "N", "admin", PASSWORD)
    with pytest.raises(SecondFactorUnavailable, match="PYTAKE_SECRET_KEY"):
        await service.second_factors.begin(user.id)


async def test_two_sign_ins_with_one_code_open_one_session(
        identity: IdentityService, clock: FakeClock) -> None:
    _, secret, _ = await enrolled(identity, clock, "race@example.com")
    code = code_at(secret, clock())
    outcomes: list[str] = []

    async def attempt() -> None:
        try:
            await identity.authenticate("race@example.com", PASSWORD, totp_code=code)
            outcomes.append("ok")
        except AuthError as exc:
            outcomes.append(exc.code)

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(attempt)
    assert sorted(outcomes) == ["invalid_second_factor"] * 3 + ["ok"], outcomes


# --- over HTTP --------------------------------------------------------------------------------


async def test_second_factor_over_http(site: Site, tmp_path: Path) -> None:  # noqa: F811
    client = site.client
    # Every password and code checked here counts against the account's sign-in budget;
    # this test checks the factor, not that budget (tests/test_rate_limits.py does).
    site.engine.identity.login_limiter = LoginLimiter(per_ip=1000, per_email=1000)
    agent_id, agent_email, agent, _ = await site.user("agent")
    url = "/api/v1/auth/second-factor"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=agent)).json() == {
        "enabled": False, "pending": False, "recovery_codes_left": 0}

    wrong = await client.post(url, json={"password": "not it at all"}, headers=agent)
    assert wrong.status_code == 422 and wrong.json()["field"] == "password", wrong.text
    missing = await client.post(url, json={}, headers=agent)
    assert missing.status_code == 422 and missing.json()["field"] == "password"
    begun = await client.post(url, json={"password": SITE_PASSWORD}, headers=agent)
    assert begun.status_code == 201, begun.text
    assert begun.headers["cache-control"] == "no-store"
    secret = begun.json()["secret"]
    assert begun.json()["otpauth_uri"].startswith("otpauth://totp/")

    bad = await client.post(f"{url}/confirm", json={"code": "12ab56"}, headers=agent)
    assert bad.status_code == 422, bad.text
    assert brief(bad)["code"] == "invalid_second_factor"
    now = time.time()
    confirmed = await client.post(f"{url}/confirm", json={"code": code_at(secret, now)},
                                  headers=agent)
    assert confirmed.status_code == 200, confirmed.text
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == RECOVERY_CODES

    login = "/api/v1/auth/login"
    needs = await client.post(login, json={"email": agent_email, "password": SITE_PASSWORD})
    assert needs.status_code == 401 and brief(needs)["code"] == "second_factor_required"
    typed = await client.post(login, json={"email": agent_email, "password": SITE_PASSWORD,
                                           "totp_code": 123456})
    assert typed.status_code == 400, typed.text
    ok = await client.post(login, json={"email": agent_email, "password": SITE_PASSWORD,
                                        "totp_code": code_at(secret, now + 30)})
    assert ok.status_code == 200, ok.text
    again = await client.post(login, json={"email": agent_email, "password": SITE_PASSWORD,
                                           "totp_code": code_at(secret, now + 30)})
    assert again.status_code == 401 and brief(again)["code"] == "invalid_second_factor"
    by_recovery = await client.post(login, json={"email": agent_email,
                                                 "password": SITE_PASSWORD,
                                                 "recovery_code": recovery[0]})
    assert by_recovery.status_code == 200, by_recovery.text
    agent = bearer(by_recovery.json())
    state = (await client.get(url, headers=agent)).json()
    assert state == {"enabled": True, "pending": False, "recovery_codes_left": 9}

    # The password change opens the new session without asking for the factor again.
    changed = await client.post("/api/v1/users/me/password", headers=agent, json={
        "current_password": SITE_PASSWORD, "new_password": SITE_PASSWORD + " 2"})
    assert changed.status_code == 200, changed.text
    agent = bearer(changed.json())

    # Only an admin removes someone else's factor.
    reset = f"/api/v1/users/{agent_id}/second-factor"
    assert (await client.delete(reset, headers=agent)).status_code == 403
    assert (await client.delete("/api/v1/users/999999/second-factor",
                                headers=site.admin)).status_code == 404
    assert (await client.delete(reset, headers=site.admin)).status_code == 204
    plain = await client.post(login, json={"email": agent_email,
                                           "password": SITE_PASSWORD + " 2"})
    assert plain.status_code == 200, plain.text

    # And from the command line, for an admin's own lost phone.
    admin = (await client.get("/api/v1/auth/me", headers=site.admin)).json()
    begun = await client.post(url, json={"password": SITE_PASSWORD}, headers=site.admin)
    secret = begun.json()["secret"]
    await client.post(f"{url}/confirm", json={"code": code_at(secret, time.time())},
                      headers=site.admin)
    result = await trio.to_thread.run_sync(lambda: subprocess.run(
        [sys.executable, "-m", "pytake", "users", "reset-2fa", admin["email"],
         "--database-url", site.engine.settings.database_url],
        env=clean_environ(tmp_path), cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False))
    assert result.returncode == 0, result.stderr
    assert f"removed the second factor of user {admin['id']}" in result.stderr
    assert (await client.post(login, json={"email": admin["email"],
                                           "password": SITE_PASSWORD})).status_code == 200

    # Guessing codes with a stolen access token spends the account's sign-in budget.
    site.engine.identity.login_limiter = LoginLimiter(per_ip=1000, per_email=2)
    statuses = []
    for _ in range(3):
        guess = await client.post(f"{url}/recovery-codes", json={"code": "000000"},
                                  headers=agent)
        statuses.append(guess.status_code)
    assert statuses == [422, 422, 429], statuses
    assert "retry-after" in guess.headers

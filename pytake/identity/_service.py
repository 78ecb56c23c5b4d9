"""`IdentityService`: users, sign-in, access tokens and rotating refresh tokens.

Tokens:

- The **access token** is an HS256 JWT signed with the current secret key (`pytake.keys`),
  whose id is its header's ``kid``, valid for ``access_token_ttl`` seconds, with claims
  ``iss`` (``"pytake"``), ``sub`` (the user id as a string), ``role``, ``email``, ``iat``,
  ``exp`` and ``jti``. `IdentityService.verify_access` checks it without touching the
  database, with the configured key its ``kid`` names (a token without one, issued before
  keys had ids, with the current key): a token signed with an older key still listed keeps
  working until it expires, one whose key was removed is refused. A deactivated user keeps
  access until the token expires (minutes), never longer.
- The **refresh token** is 32 random bytes (URL-safe text); only its SHA-256 is stored, in
  ``refresh_tokens``. Each use rotates it: the presented token is marked ``used_at`` and a new
  one is issued in the same ``family_id`` (one family per sign-in), valid ``refresh_token_ttl``
  seconds from then. Presenting a token that was already used means two parties hold it — it
  leaked — so the whole family is revoked and both must sign in again. No secret key is
  involved: rotating keys leaves refresh tokens working.

Every sign-in (successful or not), refresh, refresh reuse, sign-out and user creation writes an
``audit_logs`` row, in the same transaction as the change it records.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import re
import secrets
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs
import jwt
import sqlalchemy.exc as sa_exc
import trio
from sqlalchemy.orm import Session

from pytake.errors import AuthError, EmailTaken, InvalidUser, UserConflict
from pytake.identity import _repo
from pytake.identity._audit import audit as _audit
from pytake.identity._passwords import Passwords, password_problem
from pytake.identity._ratelimit import LoginLimiter
from pytake.identity._totp import Proof, Sealer, SecondFactors, claim
from pytake.keys import MIN_KEY_BYTES, KeyRing
from pytake.store import Database, User, UserRole

if TYPE_CHECKING:
    from pytake.config import Settings

__all__ = [
    "ISSUER",
    "MIN_SECRET_KEY_BYTES",
    "IdentityService",
    "Principal",
    "TokenPair",
    "UserInfo",
    "checked_email",
    "checked_name",
    "checked_role",
    "hash_refresh_token",
    "normalize_email",
]

log = logging.getLogger("pytake.identity")

#: ``iss`` of every access token; tokens from another issuer are refused.
ISSUER: Final = "pytake"
#: HS256 keys shorter than its 32-byte output weaken it (RFC 7518 §3.2).
MIN_SECRET_KEY_BYTES: Final = MIN_KEY_BYTES
_ALGORITHM: Final = "HS256"
_REQUIRED_CLAIMS: Final = ["iss", "sub", "role", "email", "iat", "exp", "jti"]
#: Tolerated clock difference between the node that issued a token and the one checking it.
_CLOCK_SKEW: Final = 60.0

_EMAIL: Final = re.compile(
    r"[^@\s<>()\[\],;:\"\\]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


# --- values ----------------------------------------------------------------------------------


@attrs.frozen
class Principal:
    """Who made a request, as its verified access token says."""

    user_id: int
    role: UserRole
    email: str
    #: The token's ``jti`` and ``exp`` (Unix seconds), for logs and revocation lists.
    token_id: str = ""
    expires_at: float = 0.0

    def has_role(self, *roles: UserRole | str) -> bool:
        """True if this principal's role is one of ``roles`` (any role when none given)."""
        return not roles or self.role in {UserRole(r) for r in roles}


@attrs.frozen
class TokenPair:
    """What a sign-in or a refresh hands out."""

    access_token: str
    #: Seconds the access token stays valid.
    expires_in: int
    refresh_token: str
    #: Seconds the refresh token stays valid (if not used or revoked before).
    refresh_expires_in: int
    token_type: str = "bearer"


@attrs.frozen
class UserInfo:
    """A user as callers may see it: never the password hash."""

    id: int
    email: str
    name: str
    role: UserRole
    active: bool
    created_at: datetime


def normalize_email(email: str) -> str:
    """``email`` as stored and compared: NFC-normalized, stripped, lower-cased."""
    return unicodedata.normalize("NFC", email).strip().lower()


def hash_refresh_token(token: str) -> str:
    """The SHA-256 hex digest stored for a refresh token (the token itself never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


def checked_email(email: str) -> str:
    """``email`` normalized (`normalize_email`), or `InvalidUser` naming ``email``."""
    email = normalize_email(email)
    if len(email) > 320 or len(email.partition("@")[0]) > 64 or not _EMAIL.fullmatch(email):
        raise InvalidUser(f"not a valid email address: {email!r}", field="email")
    return email


def checked_name(name: str) -> str:
    """``name`` with its whitespace collapsed, or `InvalidUser` naming ``name``."""
    name = " ".join(name.split())
    if not name:
        raise InvalidUser("name must not be empty", field="name")
    if len(name) > 200 or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidUser("name must be at most 200 printable characters", field="name")
    return name


def checked_role(role: UserRole | str) -> UserRole:
    """``role`` as a `UserRole`, or `InvalidUser` naming ``role``."""
    try:
        return UserRole(role)
    except ValueError:
        roles = ", ".join(r.value for r in UserRole)
        raise InvalidUser(f"role must be one of {roles}, got {role!r}", field="role") from None


# --- database work (runs on worker threads, inside `Database.run`) ---------------------------


@attrs.frozen
class _Account:
    id: int
    email: str
    role: UserRole
    active: bool
    password_hash: str

    @classmethod
    def of(cls, user: User | None) -> _Account | None:
        if user is None:
            return None
        return cls(user.id, user.email, UserRole(user.role), user.active, user.password_hash)


@attrs.frozen
class _NewToken:
    token_hash: str
    family_id: str
    expires_at: datetime


class _Rotation(enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    REUSED = "reused"
    EXPIRED = "expired"
    INACTIVE = "inactive"


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        email=user.email,
        name=user.name,
        role=UserRole(user.role),
        active=user.active,
        created_at=user.created_at,
    )


def _account_by_email(session: Session, email: str) -> _Account | None:
    return _Account.of(_repo.user_by_email(session, email))


def _account_by_id(session: Session, user_id: int) -> _Account | None:
    return _Account.of(_repo.user_by_id(session, user_id))


def _insert_first_admin(session: Session, user: User, ip: str | None,
                        at: datetime) -> UserInfo | None:
    # Two set-ups at once: the second waits here, then finds the first one's admin.
    _repo.lock_first_admin_setup(session)
    if _repo.any_user(session):
        return None
    return _insert_user(session, user, None, ip, at)


def _insert_user(
    session: Session,
    user: User,
    created_by: int | None,
    ip: str | None,
    at: datetime,
) -> UserInfo:
    _repo.insert_user(session, user)
    _audit(
        session,
        "user.create",
        at,
        actor=created_by,
        target=user.id,
        ip=ip,
        details={"email": user.email, "role": str(user.role)},
    )
    _repo.reload_user(session, user)
    return _info(user)


def _login(
    session: Session,
    account: _Account,
    new_password_hash: str | None,
    token: _NewToken,
    proof: Proof | None,
    ip: str | None,
    at: datetime,
) -> bool:
    # Spent first: of two sign-ins with one code, the second must open no session.
    if proof is not None and not claim(session, proof, at):
        return False
    if new_password_hash is not None:
        # Compare-and-set: a password changed meanwhile must not be overwritten.
        _repo.replace_password_hash(session, account.id, account.password_hash,
                                    new_password_hash)
    _repo.add_refresh_token(session, account.id, token.token_hash, token.family_id,
                            token.expires_at)
    details: dict[str, Any] = {"family_id": token.family_id}
    if new_password_hash is not None:
        details["password_rehashed"] = True
    if proof is not None:
        details["second_factor"] = proof.kind
    _audit(session, "auth.login", at, actor=account.id, target=account.id, ip=ip, details=details)
    return True


def _login_failed(
    session: Session, email: str, user_id: int | None, reason: str, ip: str | None, at: datetime
) -> None:
    _audit(
        session,
        "auth.login_failed",
        at,
        actor=None,
        target=user_id,
        ip=ip,
        details={"email": email[:320], "reason": reason},
    )


def _rotate(
    session: Session,
    presented_hash: str,
    new_hash: str,
    at: datetime,
    expires_at: datetime,
    ip: str | None,
) -> tuple[_Rotation, _Account | None]:
    # Locked: of two concurrent refreshes with one token, the second sees it used.
    row = _repo.locked_refresh_token(session, presented_hash)
    if row is None:
        return _Rotation.UNKNOWN, None
    token, user = row
    account = _Account(user.id, user.email, UserRole(user.role), user.active,
                       user.password_hash)
    family = {"family_id": token.family_id}
    if token.revoked_at is not None:
        return _Rotation.REVOKED, account
    if token.used_at is not None:
        count = _repo.revoke_family(session, token.family_id, at)
        _audit(
            session,
            "auth.refresh_reused",
            at,
            actor=None,
            target=user.id,
            ip=ip,
            details={**family, "revoked_tokens": count},
        )
        return _Rotation.REUSED, account
    if token.expires_at <= at:
        return _Rotation.EXPIRED, account
    if not user.active:
        _repo.revoke_family(session, token.family_id, at)
        return _Rotation.INACTIVE, account
    token.used_at = at
    _repo.add_refresh_token(session, user.id, new_hash, token.family_id, expires_at)
    _audit(session, "auth.refresh", at, actor=user.id, target=user.id, ip=ip, details=family)
    return _Rotation.OK, account


def _logout(session: Session, presented_hash: str, at: datetime, ip: str | None) -> bool:
    token = _repo.refresh_token(session, presented_hash)
    if token is None:
        return False
    count = _repo.revoke_family(session, token.family_id, at)
    _audit(
        session,
        "auth.logout",
        at,
        actor=token.user_id,
        target=token.user_id,
        ip=ip,
        details={"family_id": token.family_id, "revoked_tokens": count},
    )
    return True


def _revoke_family(
    session: Session, family_id: str, actor: int | None, ip: str | None, at: datetime
) -> int:
    user_id = _repo.family_owner(session, family_id)
    count = _repo.revoke_family(session, family_id, at)
    if user_id is not None:
        _audit(
            session,
            "auth.revoke_family",
            at,
            actor=actor,
            target=user_id,
            ip=ip,
            details={"family_id": family_id, "revoked_tokens": count},
        )
    return count


def _get_user(session: Session, user_id: int) -> UserInfo | None:
    user = _repo.user_by_id(session, user_id)
    return None if user is None else _info(user)


def _list_users(session: Session) -> list[UserInfo]:
    return [_info(u) for u in _repo.users(session)]


# --- the service ---------------------------------------------------------------------------


#: Why a refresh failed: (reason for the client, `AuthError.code`).
_ROTATION_ERRORS: Final = {
    _Rotation.UNKNOWN: ("invalid refresh token", "invalid_refresh_token"),
    _Rotation.REVOKED: ("refresh token was revoked; sign in again", "refresh_token_revoked"),
    _Rotation.REUSED: (
        "refresh token was already used; every session it belongs to is revoked, sign in again",
        "refresh_token_reused",
    ),
    _Rotation.EXPIRED: ("refresh token expired; sign in again", "refresh_token_expired"),
    _Rotation.INACTIVE: ("this account is deactivated", "account_inactive"),
}


#: Why a second factor was refused: (reason for the client, `AuthError.code`).
_SECOND_FACTOR_ERRORS: Final = {
    "second_factor_required": (
        "this account has a second factor: send totp_code or recovery_code",
        "second_factor_required",
    ),
    "invalid_second_factor": (
        "the code is wrong, expired or already used", "invalid_second_factor"
    ),
}

def _second_factor_error(reason: str) -> AuthError:
    message, code = _SECOND_FACTOR_ERRORS[reason]
    return AuthError(message, code=code)


#: Seconds a user's active flag is trusted before it is read again (see `ensure_active`).
ACTIVE_CHECK_TTL: Final = 1.0
#: Seconds after its last request that `keep_accounts_fresh` still watches an account.
ACCOUNT_WATCH: Final = 30.0


class IdentityService:
    """Users and their tokens, over the database of record.

    ``secret_key`` signs access tokens (at least 32 bytes; every node must share it): one key,
    or a `KeyRing` or several keys, the current one first, the older ones still verifying
    the tokens they signed. ``access_ttl`` and ``refresh_ttl`` are lifetimes in seconds;
    ``clock`` returns Unix time (tests pass a fake one). ``passwords`` sets the argon2
    parameters; ``login_limiter`` is the per-address and per-email sign-in rate limit the
    web edge applies.

    Errors: `AuthError` for anything that fails to authenticate, `InvalidUser` / `EmailTaken`
    from `create_user`, `pytake.errors.StorageUnavailable` when the database is unreachable.
    """

    def __init__(
        self,
        db: Database,
        secret_key: str | Sequence[str] | KeyRing,
        access_ttl: float = 900.0,
        refresh_ttl: float = 30 * 86400.0,
        clock: Callable[[], float] = time.time,
        *,
        passwords: Passwords | None = None,
        login_limiter: LoginLimiter | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        # KeyRing raises ValueError for a short key, naming the minimum (never the key).
        self._keys = secret_key if isinstance(secret_key, KeyRing) else KeyRing(secret_key)
        if access_ttl <= 0 or refresh_ttl <= 0:
            raise ValueError("token lifetimes must be positive")
        self._db = db
        self.access_ttl = max(1, round(access_ttl))
        self.refresh_ttl = max(1, round(refresh_ttl))
        self._clock = clock
        #: user id → (until when it holds, whether the account is active, its role)
        self._active: dict[int, tuple[float, bool, UserRole | None]] = {}
        #: user id → when `ensure_active` was last asked about it (trio's clock)
        self._asked: dict[int, float] = {}
        #: user id → when `forget_active` dropped it (a re-read begun before is stale)
        self._changed: dict[int, float] = {}
        self.passwords = passwords or Passwords()
        self.login_limiter = login_limiter or LoginLimiter()
        #: TOTP second factors; ``sealer`` encrypts their keys (none: enrolment is refused).
        self.second_factors = SecondFactors(db, sealer, clock)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, *,
                      sealer: Sealer | None = None) -> IdentityService:
        """The service as the settings describe it; ``sealer`` encrypts TOTP keys.

        The keys are ``secret_keys`` (or ``secret_key``). Neither set gets a random key for
        this process, with a warning: fine for trying PyTake out, but every restart signs
        everyone out, and several nodes would refuse each other's tokens.
        """
        keys: Sequence[str] = settings.secret_key_list
        if not keys:
            log.warning(
                "secret_key is not set: using a random key for this process; every restart "
                "signs all users out and nodes cannot verify each other's tokens. "
                "Set PYTAKE_SECRET_KEY (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)."
            )
            keys = (secrets.token_urlsafe(48),)
        ring = KeyRing(keys)
        if len(ring) > 1:
            # Every node should say the same here while keys are being changed.
            log.info("secret keys: %s", ", ".join(ring.describe(i) for i in ring.ids))
        return cls(
            db,
            ring,
            settings.access_token_ttl,
            settings.refresh_token_ttl,
            login_limiter=LoginLimiter(
                per_ip=settings.login_attempts_per_ip,
                per_email=settings.login_attempts_per_email,
            ),
            # A random key dies with the process: a TOTP key sealed with it would lock its
            # owner out at the next restart.
            sealer=sealer if settings.secret_key_list else None,
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def now(self) -> datetime:
        """The service's clock, as an aware UTC datetime."""
        return self._now()

    @property
    def db(self) -> Database:
        """The database of record (for `pytake.identity.UserAdmin`)."""
        return self._db

    # --- users ---------------------------------------------------------------------------

    async def create_user(
        self,
        email: str,
        name: str,
        role: UserRole | str,
        password: str,
        *,
        created_by: int | None = None,
        ip: str | None = None,
    ) -> UserInfo:
        """Create an active user; return it.

        ``email`` is stored lower-cased; ``role`` is ``admin``, ``supervisor`` or ``agent``;
        ``password`` must pass `password_problem`. ``created_by`` is the acting user's id for
        the audit log (``None``: the system, e.g. ``pytake users create``).
        Raises `InvalidUser` (with ``field``) or `EmailTaken`.
        """
        email, name, user_role = checked_email(email), checked_name(name), checked_role(role)
        problem = password_problem(password, email=email)
        if problem:
            raise InvalidUser(problem, field="password")
        # Checked before hashing, to answer quickly; the unique index settles races.
        if await self._db.run(_repo.email_taken, email, readonly=True):
            raise EmailTaken(email)
        password_hash = await self.passwords.hash(password)
        user = User(
            email=email, name=name, role=user_role, password_hash=password_hash, active=True
        )
        try:
            return await self._db.run(_insert_user, user, created_by, ip, self._now())
        except sa_exc.IntegrityError:
            raise EmailTaken(email) from None

    async def needs_setup(self) -> bool:
        """Whether no user exists yet (the first admin is still to be made)."""
        return not await self._db.run(_repo.any_user, readonly=True)

    async def create_first_admin(self, email: str, name: str, password: str, *,
                                 ip: str | None = None) -> UserInfo:
        """Create the first user, an admin, only while there is no user at all: of two
        concurrent calls one succeeds and the other raises `UserConflict`.  Raises
        `InvalidUser` (with ``field``) for a refused email, name or password."""
        email, name = checked_email(email), checked_name(name)
        problem = password_problem(password, email=email)
        if problem:
            raise InvalidUser(problem, field="password")
        if await self.needs_setup():
            password_hash = await self.passwords.hash(password)
            user = User(email=email, name=name, role=UserRole.ADMIN,
                        password_hash=password_hash, active=True)
            created = await self._db.run(_insert_first_admin, user, ip, self._now())
            if created is not None:
                return created
        raise UserConflict("PyTake is set up already: sign in instead")

    async def get_user(self, user_id: int) -> UserInfo | None:
        """The user with this id, or ``None``."""
        return await self._db.run(_get_user, user_id, readonly=True)

    async def list_users(self) -> list[UserInfo]:
        """Every user, by id."""
        return await self._db.run(_list_users, readonly=True)

    # --- tokens --------------------------------------------------------------------------

    def _issue(self, account: _Account, refresh_token: str) -> TokenPair:
        iat = math.floor(self._clock())
        claims = {
            "iss": ISSUER,
            "sub": str(account.id),
            "role": str(account.role),
            "email": account.email,
            "iat": iat,
            "exp": iat + self.access_ttl,
            "jti": uuid.uuid4().hex,
        }
        key = self._keys.current
        return TokenPair(
            access_token=jwt.encode(claims, key.secret, algorithm=_ALGORITHM,
                                    headers={"kid": key.id}),
            expires_in=self.access_ttl,
            refresh_token=refresh_token,
            refresh_expires_in=self.refresh_ttl,
        )

    def _refresh_expiry(self) -> datetime:
        return self._now() + timedelta(seconds=self.refresh_ttl)

    async def authenticate(
        self,
        email: str,
        password: str,
        *,
        ip: str | None = None,
        totp_code: str | None = None,
        recovery_code: str | None = None,
        signed_in: bool = False,
    ) -> TokenPair:
        """Sign in: check the password (and the second factor, if the user has one) and open
        a new refresh-token family.

        Raises `AuthError` (``invalid_credentials``: unknown email or wrong password, which
        take the same time and give the same answer; ``account_inactive``: right password,
        deactivated user; ``second_factor_required``: right password, but the user has a
        second factor and neither ``totp_code`` nor ``recovery_code`` came;
        ``invalid_second_factor``: the code is wrong, expired or already used). A hash made
        with older argon2 parameters is replaced.  ``signed_in``: the caller already holds an
        access token of this user, which the second factor was asked for when it was issued
        (a password change opening the new session), so it is not asked again.
        """
        email = normalize_email(email)
        account = await self._db.run(_account_by_email, email, readonly=True)
        ok, new_hash = await self.passwords.verify(
            account.password_hash if account else None, password
        )
        if account is None or not ok:
            user_id = account.id if account else None
            await self._failed(email, user_id, "invalid_credentials", ip)
            raise AuthError("invalid email or password", code="invalid_credentials")
        if not account.active:
            await self._failed(email, account.id, "account_inactive", ip)
            raise AuthError("this account is deactivated", code="account_inactive")
        proof = None if signed_in else await self._second_factor(
            account, email, totp_code, recovery_code, ip)
        refresh_token = secrets.token_urlsafe(32)
        token = _NewToken(
            hash_refresh_token(refresh_token), uuid.uuid4().hex, self._refresh_expiry()
        )
        if not await self._db.run(_login, account, new_hash, token, proof, ip, self._now()):
            await self._failed(email, account.id, "invalid_second_factor", ip)
            raise _second_factor_error("invalid_second_factor")
        return self._issue(account, refresh_token)

    async def _failed(self, email: str, user_id: int | None, reason: str,
                      ip: str | None) -> None:
        await self._db.run(_login_failed, email, user_id, reason, ip, self._now())

    async def _second_factor(self, account: _Account, email: str, totp_code: str | None,
                             recovery_code: str | None, ip: str | None) -> Proof | None:
        if not await self.second_factors.required(account.id):
            return None
        if not totp_code and not recovery_code:
            reason = "second_factor_required"
        else:
            proof = await self.second_factors.prove(account.id, code=totp_code,
                                                    recovery_code=recovery_code)
            if proof is not None:
                return proof
            reason = "invalid_second_factor"
        await self._failed(email, account.id, reason, ip)
        raise _second_factor_error(reason)

    async def check_password(self, user_id: int, password: str) -> None:
        """Raise `InvalidUser` (field ``password``) unless ``password`` is ``user_id``'s: a
        signed-in user proving it is them before a sensitive change."""
        user = await self._db.run(_account_by_id, user_id, readonly=True)
        ok, _ = await self.passwords.verify(user.password_hash if user else None, password)
        if not ok:
            # 422, not 401: the caller's token is fine, and a 401 would make clients refresh.
            raise InvalidUser("the password is wrong", field="password")

    async def refresh(self, refresh_token: str, *, ip: str | None = None) -> TokenPair:
        """Trade a refresh token for a new pair; the presented token is spent.

        Raises `AuthError`: ``invalid_refresh_token`` (never issued), ``refresh_token_expired``,
        ``refresh_token_revoked``, ``refresh_token_reused`` (it was spent before: its whole
        family is now revoked), ``account_inactive``. The new access token carries the user's
        current role.
        """
        new_token = secrets.token_urlsafe(32)
        outcome, account = await self._db.run(
            _rotate,
            hash_refresh_token(refresh_token),
            hash_refresh_token(new_token),
            self._now(),
            self._refresh_expiry(),
            ip,
        )
        if outcome is not _Rotation.OK or account is None:
            if outcome is _Rotation.REUSED:
                log.warning(
                    "a spent refresh token of user %s was presented again (from %s); "
                    "its family is revoked",
                    account.id if account else "?",
                    ip or "unknown address",
                )
            reason, code = _ROTATION_ERRORS[outcome]
            raise AuthError(reason, code=code)
        return self._issue(account, new_token)

    async def logout(self, refresh_token: str, *, ip: str | None = None) -> bool:
        """Revoke the family of ``refresh_token`` (sign out that session); ``False`` if the
        token is unknown. Access tokens already issued stay valid until they expire."""
        return await self._db.run(_logout, hash_refresh_token(refresh_token), self._now(), ip)

    async def revoke_family(
        self, family_id: str, *, actor_user_id: int | None = None, ip: str | None = None
    ) -> int:
        """Revoke every refresh token of a family (one sign-in session); return how many
        were still live."""
        return await self._db.run(_revoke_family, family_id, actor_user_id, ip, self._now())

    async def ensure_active(self, principal: Principal) -> None:
        """Raise `AuthError` (``account_inactive``) if ``principal``'s account has been
        deactivated, or no longer exists, and (``role_changed``) if its role is no longer the
        token's: a signed token outlives none of these.  The answer is
        kept `ACTIVE_CHECK_TTL` seconds per user, so a deactivation takes effect within that
        on every node, for one read a second per user at most."""
        now = trio.current_time()
        self._asked[principal.user_id] = now
        cached = self._active.get(principal.user_id)
        if cached is None or cached[0] <= now:
            user = await self._db.run(_get_user, principal.user_id, readonly=True)
            cached = (now + ACTIVE_CHECK_TTL, user is not None and user.active,
                      user.role if user is not None else None)
            if len(self._active) > 100_000:
                self._active.clear()
            self._active[principal.user_id] = cached
        if not cached[1]:
            raise AuthError("this account is deactivated", code="account_inactive")
        if cached[2] != principal.role:
            # A demoted admin must not keep the old role's powers until the token expires.
            raise AuthError("your role changed; sign in again", code="role_changed")

    def forget_active(self, user_id: int) -> None:
        """Drop what `ensure_active` knows of ``user_id`` (it changed on this node)."""
        self._active.pop(user_id, None)
        self._changed[user_id] = trio.current_time()

    async def keep_accounts_fresh(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Re-read, in one query every half `ACTIVE_CHECK_TTL`, the accounts `ensure_active`
        was asked about in the last `ACCOUNT_WATCH` seconds, so that its answers stay fresh
        without a read per user: forty connected agents cost one query, not forty.  Run it
        as a service; without it `ensure_active` reads each user itself."""
        task_status.started()
        while True:
            await trio.sleep(ACTIVE_CHECK_TTL / 2)
            now = trio.current_time()
            for user_id in [u for u, at in self._asked.items() if at < now - ACCOUNT_WATCH]:
                del self._asked[user_id]
                self._active.pop(user_id, None)
            watched = list(self._asked)
            if not watched:
                continue
            try:
                states = await self._db.run(_repo.account_states, watched,
                                            readonly=True)
            except Exception as exc:  # the database away: ensure_active reads (and fails) itself
                log.warning("re-reading %d accounts failed: %s", len(watched), exc)
                continue
            until = now + ACTIVE_CHECK_TTL
            for user_id in watched:
                if self._changed.pop(user_id, 0.0) >= now:
                    continue  # changed here while we read: our row may predate the change
                active, role = states.get(user_id, (False, None))
                self._active[user_id] = (until, active, role)
            # A change older than this read is in it; only newer ones still matter.
            self._changed = {u: at for u, at in self._changed.items() if at >= now}

    def verify_access(self, token: str) -> Principal:
        """The `Principal` an access token stands for. Pure: no database, no I/O.

        Raises `AuthError`: ``token_expired``, or ``invalid_token`` (malformed, not HS256,
        signed with a key no longer configured, wrong signature, wrong issuer, missing or
        ill-typed claims, issued in the future).
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if kid is not None and not isinstance(kid, str):
            raise AuthError("malformed token")
        # No kid: issued before tokens named their key, so by the key of that time (current).
        key = self._keys.current if kid is None else self._keys.get(kid)
        if key is None:
            raise AuthError("token signed with a key that is no longer accepted")
        try:
            claims = jwt.decode(
                token,
                key.secret,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                # Times are checked below against our clock, not PyJWT's.
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthError("invalid token signature") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in (exp, iat)):
            raise AuthError("malformed token")
        now = self._clock()
        if now >= exp:
            raise AuthError("access token expired", code="token_expired")
        if iat > now + _CLOCK_SKEW:
            raise AuthError("token issued in the future")
        try:
            user_id = int(claims["sub"])
            role = UserRole(claims["role"])
        except (TypeError, ValueError):
            raise AuthError("malformed token") from None
        email, jti = claims["email"], claims["jti"]
        if not isinstance(email, str) or not isinstance(jti, str):
            raise AuthError("malformed token")
        return Principal(user_id, role, email, token_id=jti, expires_at=float(exp))

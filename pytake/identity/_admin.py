"""`UserAdmin`: managing users after the first one — invitations, roles, deactivation,
password resets — and each user's own name and password.

Rules every change keeps:

- There is always at least one active admin: demoting or deactivating the last one is refused
  (`UserConflict`), whoever asks.  The active admins' rows are locked (``FOR UPDATE``) while
  this is checked, so two admins demoting each other at once cannot both succeed.
- A deactivation, a role change, a reset and a password change revoke every refresh token of
  the user, in the same transaction.  After a deactivation or a role change
  `IdentityService.ensure_active` also refuses the user's access tokens within a second on
  every node (this node's cache is dropped at once); after a reset or a password change an
  access token already handed out lives until it expires (``access_token_ttl``).
- An invitation or a reset hands out either a one-time set-password token (stored as its
  SHA-256 in ``password_tokens``, valid `INVITE_TTL` / `RESET_TTL`) or a temporary password;
  either is shown once and never stored in the clear.  Until a link is redeemed the account
  has a random password nobody knows.
- Every change writes an ``audit_logs`` row in its own transaction.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
import sqlalchemy.exc as sa_exc
from sqlalchemy.orm import Session

from pytake.errors import EmailTaken, InvalidUser, UserConflict, UserNotFound
from pytake.identity import _repo
from pytake.identity._audit import audit as _audit
from pytake.identity._passwords import password_problem
from pytake.identity._service import (
    IdentityService,
    UserInfo,
    _info,
    checked_email,
    checked_name,
    checked_role,
)
from pytake.store import PasswordToken, User, UserRole

__all__ = ["INVITE_TTL", "RESET_TTL", "Credential", "Delivery", "UserAdmin", "UserPage"]

#: How long an invitation's set-password token stays valid.
INVITE_TTL: Final = timedelta(days=7)
#: How long a reset's set-password token stays valid.
RESET_TTL: Final = timedelta(days=1)
#: Largest page of `UserAdmin.page`.
MAX_PAGE: Final = 200


class Delivery(enum.StrEnum):
    """How an invitation or a reset reaches the user."""

    #: a one-time token for the set-password page (the user chooses the password)
    LINK = "link"
    #: a random temporary password, told to the user by the admin
    PASSWORD = "password"


@attrs.frozen
class Credential:
    """What an invitation or a reset hands out, once: ``token`` (delivery ``link``, with
    ``expires_at``) or ``temporary_password`` (delivery ``password``)."""

    user: UserInfo
    delivery: Delivery
    token: str | None = None
    expires_at: datetime | None = None
    temporary_password: str | None = None


@attrs.frozen
class UserPage:
    """One page of users by id; ``next_after`` is the last id shown when more follow."""

    users: list[UserInfo]
    next_after: int | None


def hash_password_token(token: str) -> str:
    """The SHA-256 hex digest stored for a set-password token."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- database work (worker threads, inside `Database.run`) ----------------------------------


def _locked_user(session: Session, user_id: int) -> User:
    user = _repo.user_by_id(session, user_id, lock=True)
    if user is None:
        raise UserNotFound(user_id)
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take ``user`` out of the active admins if no other would be left."""
    if not _repo.lock_active_admins(session) - {user.id}:
        raise UserConflict(f"{user.email} is the last active admin; make another admin first")


@attrs.frozen
class _Audit:
    actor: int | None
    ip: str | None
    at: datetime


def _page(
    session: Session, after: int, limit: int, role: UserRole | None, active: bool | None
) -> UserPage:
    # One more than asked for: whether another page follows.
    found = _repo.users_after(session, after, limit + 1, role=role, active=active)
    users = [_info(u) for u in found]
    more = len(users) > limit
    users = users[:limit]
    return UserPage(users, users[-1].id if more and users else None)


def _invite(
    session: Session,
    user: User,
    token: PasswordToken | None,
    delivery: Delivery,
    audit: _Audit,
) -> UserInfo:
    _repo.insert_user(session, user)
    if token is not None:
        _repo.add_password_token(session, token, user.id)
    _audit(session, "user.invite", audit.at, actor=audit.actor, target=user.id, ip=audit.ip,
           details={"email": user.email, "role": str(user.role), "delivery": str(delivery)})
    _repo.reload_user(session, user)
    return _info(user)


def _update(
    session: Session,
    user_id: int,
    changes: dict[str, Any],
    audit: _Audit,
) -> tuple[UserInfo, int]:
    """Apply ``changes`` (``name``, ``role``, ``active``); return the user and how many
    refresh tokens were revoked."""
    user = _locked_user(session, user_id)
    role = changes.get("role", user.role)
    active = changes.get("active", user.active)
    if user.role == UserRole.ADMIN and user.active and (role != UserRole.ADMIN or not active):
        _keep_an_admin(session, user)
    done: dict[str, Any] = {}
    for field, value in changes.items():
        before = getattr(user, field)
        if before != value:
            done[field] = {"from": str(before), "to": str(value)}
            setattr(user, field, value)
    revoked = 0
    if "role" in done or ("active" in done and not active):
        revoked = _repo.revoke_user_sessions(session, user.id, audit.at)
    if done:
        _audit(session, "user.update", audit.at, actor=audit.actor, target=user.id,
               ip=audit.ip, details={**done, "revoked_tokens": revoked})
    _repo.reload_user(session, user)
    return _info(user), revoked


def _reset(
    session: Session,
    user_id: int,
    password_hash: str,
    token: PasswordToken | None,
    delivery: Delivery,
    audit: _Audit,
) -> UserInfo:
    user = _locked_user(session, user_id)
    user.password_hash = password_hash
    # An older link must not outlive the reset that replaced it.
    _repo.drop_unused_password_tokens(session, user.id)
    revoked = _repo.revoke_user_sessions(session, user.id, audit.at)
    if token is not None:
        _repo.add_password_token(session, token, user.id)
    _audit(session, "user.reset_password", audit.at, actor=audit.actor, target=user.id,
           ip=audit.ip, details={"delivery": str(delivery), "revoked_tokens": revoked})
    _repo.reload_user(session, user)
    return _info(user)


_BAD_TOKEN: Final = "the set-password token is unknown, expired or already used"


def _token_owner(session: Session, token_hash: str, at: datetime) -> str:
    """The email of the active user a live token belongs to (for the password policy)."""
    row = _repo.password_token_with_user(session, token_hash)
    if row is None or row[0].used_at is not None or row[0].expires_at <= at:
        raise InvalidUser(_BAD_TOKEN, field="token")
    if not row[1].active:
        raise InvalidUser("this account is deactivated", field="token")
    return str(row[1].email)


def _redeem(session: Session, token_hash: str, password_hash: str, audit: _Audit) -> UserInfo:
    token = _repo.password_token(session, token_hash, lock=True)
    # Checked again under the lock: of two redemptions of one token, only the first counts.
    if token is None or token.used_at is not None or token.expires_at <= audit.at:
        raise InvalidUser(_BAD_TOKEN, field="token")
    user = _locked_user(session, token.user_id)
    if not user.active:
        raise InvalidUser("this account is deactivated", field="token")
    token.used_at = audit.at
    user.password_hash = password_hash
    # An older link must not outlive the password that replaced it.
    _repo.drop_unused_password_tokens(session, user.id)
    revoked = _repo.revoke_user_sessions(session, user.id, audit.at)
    _audit(session, "user.set_password", audit.at, actor=user.id, target=user.id, ip=audit.ip,
           details={"purpose": token.purpose, "revoked_tokens": revoked})
    _repo.reload_user(session, user)
    return _info(user)


def _password_of(session: Session, user_id: int) -> tuple[str, str]:
    user = _repo.user_by_id(session, user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user.email, user.password_hash


def _change_password(
    session: Session, user_id: int, old_hash: str, new_hash: str, audit: _Audit
) -> int:
    # Compare-and-set: a reset that happened after the current password was checked wins.
    if not _repo.replace_password_hash(session, user_id, old_hash, new_hash):
        raise InvalidUser("the password changed meanwhile; try again", field="current_password")
    # An older link must not outlive the password that replaced it.
    _repo.drop_unused_password_tokens(session, user_id)
    revoked = _repo.revoke_user_sessions(session, user_id, audit.at)
    _audit(session, "user.change_password", audit.at, actor=user_id, target=user_id,
           ip=audit.ip, details={"revoked_tokens": revoked})
    return revoked


# --- the service ---------------------------------------------------------------------------


class UserAdmin:
    """User management over an `IdentityService` (its database, clock and password hasher).

    ``actor`` is the acting user's id for the audit log (``None``: the system, i.e. the CLI).
    Errors: `InvalidUser` (``field`` names the input), `EmailTaken`, `UserNotFound`,
    `UserConflict` (the last active admin).
    """

    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self._db = identity.db

    def _audit(self, actor: int | None, ip: str | None) -> _Audit:
        return _Audit(actor, ip[:45] if ip else None, self.identity.now())

    async def _unknowable_hash(self) -> str:
        # A hash of a password nobody was told: the account cannot sign in until a link is
        # redeemed.  A real argon2 hash (not a marker) keeps sign-in's timing and logs uniform.
        return await self.identity.passwords.hash(secrets.token_urlsafe(32))

    async def _handout(
        self, delivery: Delivery, purpose: str, ttl: timedelta, actor: int | None
    ) -> tuple[str, PasswordToken | None, str | None, datetime | None]:
        """(password hash to store, token row to add, the secret to show, its expiry)."""
        if delivery is Delivery.PASSWORD:
            temporary = secrets.token_urlsafe(12)
            return await self.identity.passwords.hash(temporary), None, temporary, None
        token = secrets.token_urlsafe(32)
        expires_at = self.identity.now() + ttl
        row = PasswordToken(purpose=purpose, token_hash=hash_password_token(token),
                            created_by=actor, expires_at=expires_at)
        return await self._unknowable_hash(), row, token, expires_at

    @staticmethod
    def _credential(
        user: UserInfo, delivery: Delivery, secret: str | None, expires_at: datetime | None
    ) -> Credential:
        if delivery is Delivery.PASSWORD:
            return Credential(user, delivery, temporary_password=secret)
        return Credential(user, delivery, token=secret, expires_at=expires_at)

    async def page(
        self,
        after: int = 0,
        limit: int = 50,
        *,
        role: UserRole | str | None = None,
        active: bool | None = None,
    ) -> UserPage:
        """Users with an id above ``after``, by id, at most ``limit`` (1 to `MAX_PAGE`)."""
        limit = max(1, min(limit, MAX_PAGE))
        wanted = checked_role(role) if role is not None else None
        return await self._db.run(_page, max(0, after), limit, wanted, active, readonly=True)

    async def get(self, user_id: int) -> UserInfo:
        """The user with this id; `UserNotFound` otherwise."""
        user = await self.identity.get_user(user_id) if 0 < user_id <= _repo.MAX_ID else None
        if user is None:
            raise UserNotFound(user_id)
        return user

    async def invite(
        self,
        email: str,
        name: str,
        role: UserRole | str,
        delivery: Delivery | str = Delivery.LINK,
        *,
        actor: int | None = None,
        ip: str | None = None,
    ) -> Credential:
        """Create an active user who sets a password with a one-time token (``link``) or
        signs in with a temporary password (``password``)."""
        email, name, user_role = checked_email(email), checked_name(name), checked_role(role)
        how = _delivery(delivery)
        password_hash, token, secret, expires_at = await self._handout(
            how, "invite", INVITE_TTL, actor
        )
        user = User(email=email, name=name, role=user_role, password_hash=password_hash,
                    active=True)
        try:
            info = await self._db.run(_invite, user, token, how, self._audit(actor, ip))
        except sa_exc.IntegrityError:
            raise EmailTaken(email) from None
        return self._credential(info, how, secret, expires_at)

    async def update(
        self,
        user_id: int,
        *,
        name: str | None = None,
        role: UserRole | str | None = None,
        active: bool | None = None,
        actor: int | None = None,
        ip: str | None = None,
    ) -> UserInfo:
        """Change a user's name, role or active flag.  A role change or a deactivation
        revokes the user's refresh tokens and takes their access tokens' effect away within
        a second (`IdentityService.ensure_active`)."""
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = checked_name(name)
        if role is not None:
            changes["role"] = checked_role(role)
        if active is not None:
            changes["active"] = active
        user, _ = await self._db.run(_update, user_id, changes, self._audit(actor, ip))
        self.identity.forget_active(user_id)
        return user

    async def reset_password(
        self,
        user_id: int,
        delivery: Delivery | str = Delivery.LINK,
        *,
        actor: int | None = None,
        ip: str | None = None,
    ) -> Credential:
        """Replace the user's password by a one-time token's or a temporary one; the old
        password stops working and every session of the user is signed out."""
        how = _delivery(delivery)
        await self.get(user_id)
        password_hash, token, secret, expires_at = await self._handout(
            how, "reset", RESET_TTL, actor
        )
        user = await self._db.run(_reset, user_id, password_hash, token, how,
                                  self._audit(actor, ip))
        return self._credential(user, how, secret, expires_at)

    async def redeem(self, token: str, password: str, *, ip: str | None = None) -> UserInfo:
        """Set the password with a one-time token (it is spent); every session of the user
        is signed out.  `InvalidUser` naming ``token`` or ``password`` otherwise."""
        token_hash = hash_password_token(token)
        email = await self._db.run(_token_owner, token_hash, self.identity.now(),
                                   readonly=True)
        problem = password_problem(password, email=email)
        if problem:
            raise InvalidUser(problem, field="password")
        password_hash = await self.identity.passwords.hash(password)
        return await self._db.run(_redeem, token_hash, password_hash, self._audit(None, ip))

    async def change_password(
        self, user_id: int, current: str, new: str, *, ip: str | None = None
    ) -> int:
        """A user changes their own password (``current`` must be right); every session of
        theirs is signed out.  Returns how many refresh tokens were revoked."""
        email, stored = await self._db.run(_password_of, user_id, readonly=True)
        ok, _ = await self.identity.passwords.verify(stored, current)
        if not ok:
            # 422, not 401: the caller's token is fine, and a 401 would make clients refresh.
            raise InvalidUser("the current password is wrong", field="current_password")
        problem = password_problem(new, email=email)
        if problem:
            raise InvalidUser(problem, field="new_password")
        if new == current:
            raise InvalidUser("the new password must differ from the current one",
                              field="new_password")
        new_hash = await self.identity.passwords.hash(new)
        return await self._db.run(_change_password, user_id, stored, new_hash,
                                  self._audit(user_id, ip))


def _delivery(value: Delivery | str) -> Delivery:
    try:
        return Delivery(value)
    except ValueError:
        options = ", ".join(d.value for d in Delivery)
        raise InvalidUser(f"delivery must be one of {options}, got {value!r}",
                          field="delivery") from None

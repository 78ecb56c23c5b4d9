"""Users, their sign-in sessions (refresh tokens), set-password tokens and second factors, as
stored: every query and write of the identity package.

The functions take a `Session` and run inside `Database.run`, in the transaction the service
opened; the rules (who may, what is refused, what is audited) are the services'. Rows handed
out belong to that session: a change made to one is written at commit (or at `reload_user`).
Where two transactions could race, the function says which lock or compare-and-set settles
it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pytake.store import (
    PasswordToken,
    RecoveryCode,
    RefreshToken,
    SecondFactor,
    User,
    UserRole,
    serialize,
)

__all__ = [
    "MAX_ID",
    "account_states",
    "add_password_token",
    "add_refresh_token",
    "add_second_factor",
    "advance_last_step",
    "any_user",
    "delete_second_factor",
    "drop_unused_password_tokens",
    "email_taken",
    "family_owner",
    "insert_user",
    "lock_active_admins",
    "lock_first_admin_setup",
    "locked_refresh_token",
    "password_token",
    "password_token_with_user",
    "refresh_token",
    "reload_user",
    "replace_password_hash",
    "replace_recovery_codes",
    "revoke_family",
    "revoke_user_sessions",
    "second_factor",
    "spend_recovery_code",
    "unused_recovery_codes",
    "user_by_email",
    "user_by_id",
    "user_email",
    "users",
    "users_after",
]

#: Ids beyond BIGINT name nobody (and must not reach the database as a parameter).
MAX_ID: Final = 2**63 - 1
#: Ids per ``IN (...)`` list: far below every backend's limit on bound parameters.
_IN_CHUNK: Final = 1000


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- users -----------------------------------------------------------------------------------


def user_by_id(session: Session, user_id: int, *, lock: bool = False) -> User | None:
    """The user with this id, or ``None`` (also for an id no BIGINT can hold).  ``lock``:
    ``FOR UPDATE``, so that changes to one user take turns."""
    if not 0 < user_id <= MAX_ID:
        return None
    return session.get(User, user_id, with_for_update=True if lock else None)


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this (normalized) email: emails are unique as stored."""
    return session.scalars(sa.select(User).where(User.email == email)).one_or_none()


def user_email(session: Session, user_id: int) -> str | None:
    """Only the email, for labelling an authenticator app's entry."""
    return session.scalar(sa.select(User.email).where(User.id == user_id))


def email_taken(session: Session, email: str) -> bool:
    """A quick answer before the expensive password hash; the unique index settles races."""
    return session.scalar(sa.select(User.id).where(User.email == email)) is not None


def any_user(session: Session) -> bool:
    """Whether set-up is over: any user at all, admin or not."""
    return session.scalar(sa.select(User.id).limit(1)) is not None


def users(session: Session) -> list[User]:
    """Every user, by id (the CLI's listing: small installations, no paging)."""
    return list(session.scalars(sa.select(User).order_by(User.id)))


def users_after(
    session: Session, after: int, limit: int, *, role: UserRole | None, active: bool | None
) -> list[User]:
    """Up to ``limit`` users with an id above ``after``, by id (keyset paging: a user added
    meanwhile never shifts a page); ``role`` and ``active`` filter when not ``None``."""
    query = sa.select(User).where(User.id > after).order_by(User.id).limit(limit)
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    return list(session.scalars(query))


def account_states(session: Session, user_ids: list[int]) -> dict[int, tuple[bool, UserRole]]:
    """user id → (active, role) of those of ``user_ids`` that exist: the one query that keeps
    many connected users' access checks fresh."""
    states: dict[int, tuple[bool, UserRole]] = {}
    for start in range(0, len(user_ids), _IN_CHUNK):
        rows = session.execute(sa.select(User.id, User.active, User.role)
                               .where(User.id.in_(user_ids[start:start + _IN_CHUNK])))
        states.update({user_id: (active, UserRole(role)) for user_id, active, role in rows})
    return states


def lock_active_admins(session: Session) -> set[int]:
    """The ids of the active admins, their rows locked (``FOR UPDATE``) until the transaction
    ends: two admins demoting each other at once take turns, and the second sees the first's
    change."""
    return set(session.scalars(
        sa.select(User.id)
        .where(User.role == UserRole.ADMIN, User.active.is_(True))
        .with_for_update()
    ))


def lock_first_admin_setup(session: Session) -> None:
    """Hold the first-admin lock until the transaction ends: of two set-ups at once, the
    second waits here, then finds the first one's admin."""
    serialize(session, "pytake.first-admin")


def insert_user(session: Session, user: User) -> None:
    """Add ``user`` and write it now, so that its id is known (for the audit row, tokens)."""
    session.add(user)
    session.flush()


def reload_user(session: Session, user: User) -> None:
    """Write what is pending and read ``user`` back: what a service returns is what was
    stored, with the database's ``created_at`` and ``updated_at``."""
    session.flush()
    session.refresh(user)


def replace_password_hash(session: Session, user_id: int, expected: str, new: str) -> bool:
    """Store ``new`` only if the hash is still ``expected`` (compare-and-set): a password
    changed meanwhile (a reset, another change) is not overwritten.  Whether it was."""
    result = session.execute(
        sa.update(User)
        .where(User.id == user_id, User.password_hash == expected)
        .values(password_hash=new)
    )
    return bool(getattr(result, "rowcount", 0))


# --- sign-in sessions (refresh tokens) -------------------------------------------------------


def add_refresh_token(
    session: Session, user_id: int, token_hash: str, family_id: str, expires_at: datetime
) -> None:
    """A new live token of a family (a sign-in opens one, each refresh adds the next)."""
    session.add(
        RefreshToken(
            user_id=user_id,
            token_hash=token_hash,
            family_id=family_id,
            expires_at=expires_at,
        )
    )


def refresh_token(session: Session, token_hash: str) -> RefreshToken | None:
    """The token stored under this hash, whatever its state."""
    return session.scalars(
        sa.select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    ).one_or_none()


def locked_refresh_token(session: Session, token_hash: str) -> tuple[RefreshToken, User] | None:
    """The token stored under this hash and its user, the token locked (``FOR UPDATE``): of
    two concurrent refreshes with one token, the second waits for the first to commit, then
    sees the token used (PostgreSQL re-reads a locked row).  SQLite write transactions are
    serialized anyway (``BEGIN IMMEDIATE``)."""
    row = session.execute(
        sa.select(RefreshToken, User)
        .join(User, User.id == RefreshToken.user_id)
        .where(RefreshToken.token_hash == token_hash)
        .with_for_update(of=RefreshToken)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def family_owner(session: Session, family_id: str) -> int | None:
    """The user a family belongs to (every token of a family is one user's)."""
    return session.scalar(
        sa.select(RefreshToken.user_id).where(RefreshToken.family_id == family_id).limit(1)
    )


def revoke_family(session: Session, family_id: str, at: datetime) -> int:
    """Revoke the family's tokens not revoked yet; how many (already revoked ones keep their
    time)."""
    result = session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return _rowcount(result)


def revoke_user_sessions(session: Session, user_id: int, at: datetime) -> int:
    """Revoke every token of the user not revoked yet, all families; how many."""
    result = session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return _rowcount(result)


# --- set-password tokens ---------------------------------------------------------------------


def add_password_token(session: Session, token: PasswordToken, user_id: int) -> None:
    """Store ``token`` for ``user_id`` (whose id a new user has only once inserted)."""
    token.user_id = user_id
    session.add(token)


def password_token(
    session: Session, token_hash: str, *, lock: bool = False
) -> PasswordToken | None:
    """The token stored under this hash.  ``lock``: ``FOR UPDATE``, so that of two
    redemptions of one token the second sees it spent."""
    query = sa.select(PasswordToken).where(PasswordToken.token_hash == token_hash)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def password_token_with_user(
    session: Session, token_hash: str
) -> tuple[PasswordToken, User] | None:
    """The token stored under this hash and its user, unlocked (a check before hashing the
    new password; redeeming checks again under the lock)."""
    row = session.execute(
        sa.select(PasswordToken, User)
        .join(User, User.id == PasswordToken.user_id)
        .where(PasswordToken.token_hash == token_hash)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def drop_unused_password_tokens(session: Session, user_id: int) -> None:
    """Delete the user's tokens not redeemed yet (spent ones stay, as history)."""
    session.execute(
        sa.delete(PasswordToken).where(
            PasswordToken.user_id == user_id, PasswordToken.used_at.is_(None)
        )
    )


# --- second factors --------------------------------------------------------------------------


def second_factor(session: Session, user_id: int, *, lock: bool = False) -> SecondFactor | None:
    """The user's factor, confirmed or being enrolled.  ``lock``: ``FOR UPDATE``, so that
    enrolments of one user take turns."""
    return session.get(SecondFactor, user_id, with_for_update=True if lock else None)


def unused_recovery_codes(session: Session, user_id: int) -> int:
    """How many of the user's recovery codes are still unspent."""
    count = session.scalar(
        sa.select(sa.func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


def add_second_factor(session: Session, user_id: int, sealed_secret: str) -> None:
    """A factor being enrolled: unconfirmed, no step accepted yet."""
    session.add(SecondFactor(user_id=user_id, secret=sealed_secret, last_step=0))


def replace_recovery_codes(session: Session, user_id: int, hashes: list[str]) -> None:
    """Delete every recovery code of the user, spent or not, and store ``hashes`` instead."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in hashes)


def advance_last_step(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as the last accepted one if it comes after it (compare-and-set): of two
    uses of one code, or of a code and an older one, only the first counts.  Whether it
    did."""
    result = session.execute(
        sa.update(SecondFactor)
        .where(SecondFactor.user_id == user_id, SecondFactor.last_step < step)
        .values(last_step=step)
    )
    return bool(getattr(result, "rowcount", 0))


def spend_recovery_code(session: Session, user_id: int, code_hash: str, at: datetime) -> bool:
    """Mark the code used if it is the user's and unspent (compare-and-set): of two uses at
    once, only the first counts.  Whether it did."""
    result = session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id,
               RecoveryCode.code_hash == code_hash,
               RecoveryCode.used_at.is_(None))
        .values(used_at=at)
    )
    return bool(getattr(result, "rowcount", 0))


def delete_second_factor(session: Session, user_id: int) -> bool:
    """Delete the user's factor and all their recovery codes; whether there was a factor."""
    existed = session.get(SecondFactor, user_id) is not None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(sa.delete(SecondFactor).where(SecondFactor.user_id == user_id))
    return existed

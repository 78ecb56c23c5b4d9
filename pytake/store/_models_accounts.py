"""People and access: users, teams, team membership, refresh tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from pytake.store._base import (
    Base,
    BigID,
    JSONType,
    UTCDateTime,
    created_at_column,
    enum_type,
    updated_at_column,
    utcnow,
)
from pytake.store._enums import RoutingStrategy, UserRole

__all__ = [
    "AuditLog",
    "PasswordToken",
    "RecoveryCode",
    "RefreshToken",
    "SecondFactor",
    "Team",
    "TeamMember",
    "User",
]


class User(Base):
    """Someone who signs in: an admin, a supervisor or an agent.

    ``email`` is unique as stored; callers store it lower-cased so that sign-in is
    case-insensitive. ``password_hash`` is an argon2 hash, never a password. A user who leaves
    is deactivated (``active = false``) rather than deleted, so the audit log keeps its author.
    """

    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[UserRole] = mapped_column(enum_type(UserRole, "user_role"))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Team(Base):
    """A group of agents with one queue.

    ``business_hours`` is ``{}`` (none: always open) or ``{"weekly": {...}, "holidays": [...],
    "exceptions": {...}}``, the arguments of `pytake.routing.BusinessHours` in the team's
    ``timezone`` (an IANA name); ``settings`` holds the queue policy (``reservation_timeout``,
    ``sticky_hours``, ``aging_per_minute``, ``offline_policy``) and ``after_hours``.
    """

    __tablename__ = "teams"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    business_hours: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=sa.text("'{}'")
    )
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    routing_strategy: Mapped[RoutingStrategy] = mapped_column(
        enum_type(RoutingStrategy, "routing_strategy"),
        default=RoutingStrategy.ROUND_ROBIN,
        server_default=RoutingStrategy.ROUND_ROBIN.value,
    )
    settings: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=sa.text("'{}'")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class TeamMember(Base):
    """A user's membership of a team, with the skills used by skills-based routing and the
    number of conversations the user may hold at once in that team."""

    __tablename__ = "team_members"
    __table_args__ = (
        sa.CheckConstraint("max_concurrent > 0", name="max_concurrent_positive"),
        sa.Index("ix_team_members_user_id", "user_id"),
    )

    team_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skills: Mapped[list[Any]] = mapped_column(
        JSONType, default=list, server_default=sa.text("'[]'")
    )
    max_concurrent: Mapped[int] = mapped_column(default=5, server_default="5")
    created_at: Mapped[datetime] = created_at_column()


class RefreshToken(Base):
    """One refresh token, stored as a hash. Rotation chains tokens in a ``family_id``: reusing a
    token already ``used_at`` means it leaked, and the whole family is revoked."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        sa.Index("ix_refresh_tokens_user_id", "user_id"),
        sa.Index("ix_refresh_tokens_family_id", "family_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    family_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordToken(Base):
    """A one-time token that sets a user's password: an invitation (``purpose`` ``invite``)
    or a reset by an administrator (``reset``).  Stored as its SHA-256 only; it works once
    (``used_at``) and until ``expires_at``."""

    __tablename__ = "password_tokens"
    __table_args__ = (
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name="purpose"),
        sa.Index("ix_password_tokens_user_id", "user_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_by: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SecondFactor(Base):
    """A user's TOTP second factor (RFC 6238).  ``secret`` is the shared key, encrypted with a
    key derived from ``PYTAKE_SECRET_KEY`` and bound to the user; until ``confirmed_at`` the
    user is still enrolling and sign-in does not ask for a code.  ``last_step`` is the
    30-second step of the last code accepted: a code is good once, even within its window."""

    __tablename__ = "second_factors"

    user_id: Mapped[int] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(sa.Text())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code when the device is lost.  Stored as
    its SHA-256 only (the codes are random, so no slow hash is needed); used once."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        sa.Index("ix_recovery_codes_user_id", "user_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigID, sa.ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditLog(Base):
    """One mutating action or read of personal data: who (``actor_user_id``, NULL for the
    system; ``role``), what (``action``, e.g. ``"conversation.assign"``), on what
    (``target_type``/``target_id``), from where (``ip``, ``user_agent``, ``request_id``).

    Rows form a hash chain (`pytake.store.verify_audit_chain`): ``chain_seq`` numbers them
    1, 2, 3 …, ``prev_hash`` is the previous row's ``hash``, and ``hash`` is the SHA-256 of
    this row's fields with ``prev_hash``. On PostgreSQL a trigger refuses UPDATE and DELETE
    (retention's pruning of the oldest rows excepted)."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index("ix_audit_logs_at", "at"),
        sa.Index("ix_audit_logs_actor_user_id_at", "actor_user_id", "at"),
        sa.Index("ix_audit_logs_target_type_target_id_at", "target_type", "target_id", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        BigID, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(sa.String(100))
    target_type: Mapped[str | None] = mapped_column(sa.String(64))
    target_id: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, server_default=sa.text("'{}'")
    )
    #: Client address, IPv4 or IPv6 text (45 characters fit any IPv6 form).
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.now()
    )
    #: The actor's role then (``admin``, ``supervisor``, ``agent``; ``cli``; NULL: the system).
    role: Mapped[str | None] = mapped_column(sa.String(20))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    request_id: Mapped[str | None] = mapped_column(sa.String(100))
    chain_seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditChain(Base):
    """The head of the audit log's hash chain (one row, ``id`` 1): how many rows were ever
    chained and the last one's hash, so that removing the newest rows is seen too; and where
    retention's pruning left the chain (rows up to ``pruned_seq`` removed on purpose, the last
    of them hashed ``pruned_hash``). Writers update this row first: that serializes them."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    rows: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    head: Mapped[str] = mapped_column(sa.String(64))
    pruned_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    pruned_hash: Mapped[str] = mapped_column(sa.String(64))

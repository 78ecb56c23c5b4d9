"""Who may do what: users, passwords, access and refresh tokens, sign-in rate limits.

Layers, bottom up:

- ``_errors``     `AuthError` (401), `Forbidden` (403), `InvalidUser` / `EmailTaken`
- ``_passwords``  argon2id hashing off the trio loop, rehash on sign-in, the password policy
- ``_ratelimit``  in-memory token buckets for sign-in attempts, per address and per email
- ``_repo``       every query and write: users, refresh tokens, set-password tokens, second
                  factors (the services keep the rules and the transactions)
- ``_service``    `IdentityService`: create users, sign in, rotate refresh tokens (reuse of a
                  spent one revokes its family), verify access tokens (HS256 JWT)
- ``_audit``      the ``audit_logs`` row written with each change
- ``_totp``       `SecondFactors`: optional TOTP second factors and one-time recovery codes
- ``_admin``      `UserAdmin`: invitations, roles, deactivation, password resets and one-time
                  set-password tokens, a user's own password; never without an active admin

The HTTP routes (``/api/v1/auth/...``) and the ``require_role`` decorator live in
``pytake.web._auth_routes``; ``pytake users`` in ``pytake.cli._users``. ``docs/auth.md``
describes the whole scheme. Users import from here, never from the underscore modules.
"""

from pytake.errors import (
    AuthError,
    EmailTaken,
    Forbidden,
    IdentityError,
    InvalidSecondFactor,
    InvalidUser,
    SecondFactorConflict,
    SecondFactorUnavailable,
    UserConflict,
    UserNotFound,
)
from pytake.identity._admin import (
    INVITE_TTL,
    RESET_TTL,
    Credential,
    Delivery,
    UserAdmin,
    UserPage,
)
from pytake.identity._passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Passwords,
    password_problem,
)
from pytake.identity._ratelimit import LoginLimiter, RateLimiter
from pytake.identity._service import (
    ISSUER,
    MIN_SECRET_KEY_BYTES,
    IdentityService,
    Principal,
    TokenPair,
    UserInfo,
    hash_refresh_token,
    normalize_email,
)
from pytake.identity._totp import (
    RECOVERY_CODES,
    Enrollment,
    SecondFactors,
    SecondFactorState,
    second_factor_context,
)

__all__ = [
    "INVITE_TTL",
    "ISSUER",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MIN_SECRET_KEY_BYTES",
    "RECOVERY_CODES",
    "RESET_TTL",
    "AuthError",
    "Credential",
    "Delivery",
    "EmailTaken",
    "Enrollment",
    "Forbidden",
    "IdentityError",
    "IdentityService",
    "InvalidSecondFactor",
    "InvalidUser",
    "LoginLimiter",
    "Passwords",
    "Principal",
    "RateLimiter",
    "SecondFactorConflict",
    "SecondFactorState",
    "SecondFactorUnavailable",
    "SecondFactors",
    "TokenPair",
    "UserAdmin",
    "UserConflict",
    "UserInfo",
    "UserNotFound",
    "UserPage",
    "hash_refresh_token",
    "normalize_email",
    "password_problem",
    "second_factor_context",
]

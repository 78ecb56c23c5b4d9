"""The identity errors, all `pytake.errors.PyTakeError`.

```
PyTakeError
└── IdentityError
    ├── AuthError         who you are could not be established: bad credentials, a missing,
    │                     malformed, tampered or expired token, a spent refresh token  → 401
    ├── Forbidden         you are signed in, but your role may not do this              → 403
    └── InvalidUser       ``create_user`` refused its input (email, name, role, password)
        └── EmailTaken    a user with that email already exists
```

Each carries ``reason``, a short sentence meant for the client (the web edge answers it as
``{"error": reason}``), and ``AuthError`` also a machine-readable ``code``.
"""

from __future__ import annotations

from pytake.errors import PyTakeError

__all__ = ["AuthError", "EmailTaken", "Forbidden", "IdentityError", "InvalidUser"]


class IdentityError(PyTakeError):
    """Base of the identity errors; ``reason`` is safe to show to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthError(IdentityError):
    """Authentication failed (HTTP 401).

    ``code`` is one of: ``missing_token``, ``invalid_token``, ``token_expired``,
    ``invalid_credentials``, ``account_inactive``, ``invalid_refresh_token``,
    ``refresh_token_expired``, ``refresh_token_reused``, ``refresh_token_revoked``.
    The reason never says whether an email is registered.
    """

    def __init__(self, reason: str, *, code: str = "invalid_token") -> None:
        super().__init__(reason)
        self.code = code


class Forbidden(IdentityError):
    """The caller is authenticated but lacks the role the action needs (HTTP 403)."""


class InvalidUser(IdentityError):
    """``create_user`` refused its input; ``field`` names the offending field."""

    def __init__(self, reason: str, *, field: str) -> None:
        super().__init__(reason)
        self.field = field


class EmailTaken(InvalidUser):
    """A user with this email already exists (emails are compared lower-cased)."""

    def __init__(self, email: str) -> None:
        super().__init__(f"a user with email {email} already exists", field="email")
        self.email = email

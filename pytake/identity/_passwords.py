"""Password hashing with argon2id, and the password policy.

`Passwords` wraps an `argon2.PasswordHasher` (RFC 9106 "low memory" profile by default: 64 MiB,
3 passes, 4 lanes) and runs every hash and verification on a worker thread, at most
``max_concurrent`` at a time: each one takes tens of milliseconds and 64 MiB, which must
neither block the trio loop nor let a burst of logins exhaust memory.

Timing: `Passwords.verify` with ``stored_hash=None`` (an unknown email) verifies against a dummy
hash made with the same parameters, so "no such user" costs what "wrong password" costs and
response times don't reveal which emails are registered.
"""

from __future__ import annotations

import logging
from typing import Final

import argon2
import trio
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Passwords",
    "password_problem",
]

log = logging.getLogger("pytake.identity")

MIN_PASSWORD_LENGTH: Final = 8
#: Longer passwords are refused: nobody types them, and they only cost hashing work.
MAX_PASSWORD_LENGTH: Final = 1024

# The handful of passwords that every credential-stuffing list starts with; anything on it
# (compared lower-cased) is refused even when long enough.
_COMMON: Final = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "11111111",
        "00000000",
        "qwertyui",
        "qwerty123",
        "qwertyuiop",
        "1q2w3e4r",
        "abc12345",
        "abcd1234",
        "iloveyou",
        "letmein1",
        "welcome1",
        "sunshine",
        "football",
        "baseball",
        "princess",
        "admin123",
        "administrator",
        "changeme",
        "senha123",
        "mudar123",
        "pytake123",
    }
)


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` is refused as a new password, or ``None`` if it is acceptable.

    The rules: at least 8 and at most 1024 characters, not a single repeated character, not
    one of the most common passwords, not the account's email (or its local part).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if len(set(password)) == 1:
        return "password must not be one character repeated"
    if lowered in _COMMON:
        return "password is too common; choose another"
    if email:
        email = email.strip().lower()
        if lowered in (email, email.partition("@")[0]):
            return "password must not be the email address"
    return None


class Passwords:
    """Hash and verify passwords off the trio loop.

    ``hasher`` sets the argon2 parameters (tests pass cheap ones). Hashes made with other
    parameters still verify; `verify` then also returns a new hash to store (rehash on login),
    so raising the parameters upgrades every account as its owner next signs in.
    """

    def __init__(
        self, hasher: argon2.PasswordHasher | None = None, *, max_concurrent: int = 4
    ) -> None:
        self.hasher = hasher or argon2.PasswordHasher()
        self._limiter = trio.CapacityLimiter(max_concurrent)
        self._dummy: str | None = None

    def hash_sync(self, password: str) -> str:
        """The argon2id hash of ``password`` (blocking; prefer `hash`)."""
        return self.hasher.hash(password)

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``, computed on a worker thread."""
        return await trio.to_thread.run_sync(self.hash_sync, password, limiter=self._limiter)

    def verify_sync(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """Blocking `verify`."""
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash("pytake: no such user")
            stored_hash, known = self._dummy, False
        else:
            known = True
        try:
            self.hasher.verify(stored_hash, password)
        except InvalidHashError:
            log.warning("a stored password hash is not a valid argon2 hash; refusing sign-in")
            return False, None
        except VerificationError:
            return False, None
        if not known:
            return False, None
        if self.hasher.check_needs_rehash(stored_hash):
            return True, self.hasher.hash(password)
        return True, None

    async def verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """Check ``password`` against ``stored_hash`` (``None``: unknown user, always false).

        Returns ``(ok, new_hash)``; ``new_hash`` is set when the password was right but the
        stored hash uses other parameters than ours, and should replace it.
        """
        return await trio.to_thread.run_sync(
            self.verify_sync, stored_hash, password, limiter=self._limiter
        )

"""`SecondFactors`: an optional TOTP second factor (RFC 6238) with one-time recovery codes.

The life of a second factor:

1. `SecondFactors.begin` makes a fresh key, stores it encrypted and unconfirmed, and hands
   it out once (base32, and as an ``otpauth://`` URI for an authenticator app's QR code).
   Sign-in does not ask for a code yet: a user who never finishes is not locked out.
2. `SecondFactors.confirm` takes a code from the app; from then on sign-in needs a code or a
   recovery code, and the user receives `RECOVERY_CODES` recovery codes, shown only then.
3. `SecondFactors.disable` (the user, with a code) or `SecondFactors.reset` (an admin, for a
   user who lost both the device and the codes) removes the factor and its codes.

A code is accepted within one 30-second step either side of the server's clock, and only
once: the step of the last accepted code is stored, and a code of that step or an earlier one
is refused, so a code seen over a shoulder cannot be replayed.  Recovery codes are random
(50 bits each), stored as SHA-256 and spent by their first use.  Every change writes an
``audit_logs`` row.  The key is encrypted with a key derived from ``PYTAKE_SECRET_KEY`` and
bound to the user; without a configured secret key there is nothing to encrypt it with that
outlives the process, so enrolment is refused (`SecondFactorUnavailable`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Protocol

import attrs
import pyotp
from sqlalchemy.orm import Session

from pytake.errors import (
    InvalidSecondFactor,
    PyTakeError,
    SecondFactorConflict,
    SecondFactorUnavailable,
)
from pytake.identity import _repo
from pytake.identity._audit import audit
from pytake.store import Database

__all__ = [
    "ISSUER_NAME",
    "RECOVERY_CODES",
    "Enrollment",
    "Proof",
    "Sealer",
    "SecondFactorState",
    "SecondFactors",
    "claim",
    "hash_recovery_code",
    "second_factor_context",
]

log = logging.getLogger("pytake.identity")

#: How many recovery codes a confirmation or a regeneration hands out.
RECOVERY_CODES: Final = 10
#: The issuer an authenticator app shows beside the account.
ISSUER_NAME: Final = "PyTake"
#: Steps either side of now that still count (clocks of phones drift).
_WINDOW: Final = 1
_DIGITS: Final = 6


class Sealer(Protocol):
    """Encrypts the TOTP key for its row and reads it back (`pytake.modules.SecretBox`)."""

    def encrypt_text(self, value: str, *, context: str) -> str: ...

    def decrypt_text(self, text: str, *, context: str, what: str = "a secret") -> str: ...


@attrs.frozen
class Enrollment:
    """A key being enrolled: ``secret`` (base32) and ``uri`` (``otpauth://``), shown once."""

    secret: str
    uri: str


@attrs.frozen
class SecondFactorState:
    """What the user (or an admin) may know of a second factor: never its key."""

    enabled: bool
    pending: bool
    recovery_codes_left: int


@attrs.frozen
class Proof:
    """A second factor that matched and is yet to be spent: a TOTP ``step`` or a recovery
    code's hash.  `claim` spends it in the sign-in's transaction."""

    user_id: int
    step: int | None = None
    recovery_hash: str | None = None

    @property
    def kind(self) -> str:
        return "totp" if self.step is not None else "recovery_code"


def second_factor_context(user_id: int) -> str:
    """What a user's sealed TOTP key is bound to (copied onto another row it does not
    decrypt); ``pytake secrets rotate`` re-encrypts it under the same."""
    return f"second-factor:{user_id}"


def _normalized_code(code: str) -> str:
    return "".join(code.split())


def hash_recovery_code(code: str) -> str:
    """SHA-256 of a recovery code as typed: case, spaces and hyphens do not matter."""
    canonical = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()


def _new_recovery_code() -> str:
    letters = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:10]
    return f"{letters[:5]}-{letters[5:]}"


def _matching_step(secret: str, code: str, now: float, after_step: int) -> int | None:
    """The step within the window whose code is ``code`` and that comes after
    ``after_step``, or ``None``."""
    code = _normalized_code(code)
    if len(code) != _DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=_DIGITS)
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in range(current - _WINDOW, current + _WINDOW + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- database work (worker threads) ----------------------------------------------------------


@attrs.frozen
class _Stored:
    secret: str
    confirmed: bool
    last_step: int


def _stored(session: Session, user_id: int) -> _Stored | None:
    row = _repo.second_factor(session, user_id)
    if row is None:
        return None
    return _Stored(row.secret, row.confirmed_at is not None, row.last_step)


def _state(session: Session, user_id: int) -> SecondFactorState:
    row = _repo.second_factor(session, user_id)
    left = _repo.unused_recovery_codes(session, user_id)
    return SecondFactorState(
        enabled=row is not None and row.confirmed_at is not None,
        pending=row is not None and row.confirmed_at is None,
        recovery_codes_left=left if row is not None else 0,
    )


def _begin(session: Session, user_id: int, sealed: str, ip: str | None, at: datetime) -> None:
    row = _repo.second_factor(session, user_id, lock=True)
    if row is not None and row.confirmed_at is not None:
        raise SecondFactorConflict("a second factor is already enabled; disable it first")
    if row is None:
        _repo.add_second_factor(session, user_id, sealed)
    else:
        row.secret, row.last_step = sealed, 0
    audit(session, "auth.second_factor_begin", at, actor=user_id, target=user_id, ip=ip)


def claim(session: Session, proof: Proof, at: datetime) -> bool:
    """Spend ``proof`` (compare-and-set): ``False`` if a concurrent sign-in spent it first,
    or the factor changed meanwhile."""
    if proof.step is not None:
        return _repo.advance_last_step(session, proof.user_id, proof.step)
    if proof.recovery_hash is None:
        return False  # neither a step nor a code: nothing matches (no stored hash is NULL)
    return _repo.spend_recovery_code(session, proof.user_id, proof.recovery_hash, at)


def _confirm(session: Session, proof: Proof, hashes: list[str], ip: str | None,
             at: datetime) -> bool:
    row = _repo.second_factor(session, proof.user_id, lock=True)
    if row is None or row.confirmed_at is not None or not claim(session, proof, at):
        return False
    row.confirmed_at = at
    _repo.replace_recovery_codes(session, proof.user_id, hashes)
    audit(session, "auth.second_factor_enabled", at, actor=proof.user_id,
          target=proof.user_id, ip=ip)
    return True


def _regenerate(session: Session, proof: Proof, hashes: list[str], ip: str | None,
                at: datetime) -> bool:
    if not claim(session, proof, at):
        return False
    _repo.replace_recovery_codes(session, proof.user_id, hashes)
    audit(session, "auth.recovery_codes_replaced", at, actor=proof.user_id,
          target=proof.user_id, ip=ip, details={"by": proof.kind})
    return True


def _remove(session: Session, user_id: int, actor: int | None, proof: Proof | None,
            ip: str | None, at: datetime) -> bool:
    if proof is not None and not claim(session, proof, at):
        return False
    existed = _repo.delete_second_factor(session, user_id)
    action = "auth.second_factor_disabled" if actor == user_id else "auth.second_factor_reset"
    audit(session, action, at, actor=actor, target=user_id, ip=ip,
          details={"had_factor": existed})
    return existed


def _failed(session: Session, user_id: int, action: str, ip: str | None, at: datetime) -> None:
    audit(session, "auth.second_factor_failed", at, actor=user_id, target=user_id, ip=ip,
          details={"during": action})


# --- the service -----------------------------------------------------------------------------


class SecondFactors:
    """TOTP second factors over the database of record.  ``sealer`` encrypts keys (``None``:
    no ``PYTAKE_SECRET_KEY``, so no enrolment); ``clock`` returns Unix time."""

    def __init__(self, db: Database, sealer: Sealer | None,
                 clock: Callable[[], float]) -> None:
        self._db = db
        self.sealer = sealer
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _sealer(self) -> Sealer:
        if self.sealer is None:
            raise SecondFactorUnavailable(
                "a second factor needs PYTAKE_SECRET_KEY to be set (its key is stored "
                "encrypted with it)")
        return self.sealer

    async def state(self, user_id: int) -> SecondFactorState:
        """Whether ``user_id`` has a second factor, one being enrolled, and how many
        recovery codes are left."""
        return await self._db.run(_state, user_id, readonly=True)

    async def required(self, user_id: int) -> bool:
        """Whether sign-in must ask ``user_id`` for a code."""
        stored = await self._db.run(_stored, user_id, readonly=True)
        return stored is not None and stored.confirmed

    async def begin(self, user_id: int, *, ip: str | None = None) -> Enrollment:
        """Start (or restart) enrolment with a fresh key.  Raises `SecondFactorConflict` if
        a confirmed factor exists, `SecondFactorUnavailable` without a secret key."""
        sealer = self._sealer()
        email = await self._db.run(_repo.user_email, user_id, readonly=True) or str(user_id)
        secret = pyotp.random_base32()
        sealed = sealer.encrypt_text(secret, context=second_factor_context(user_id))
        await self._db.run(_begin, user_id, sealed, ip, self._now())
        uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER_NAME)
        return Enrollment(secret=secret, uri=uri)

    async def prove(self, user_id: int, *, code: str | None = None,
                    recovery_code: str | None = None, confirmed: bool = True) -> Proof | None:
        """A `Proof` if ``code`` (TOTP) or ``recovery_code`` is right for ``user_id``'s
        factor (``confirmed``: the enabled one; otherwise the one being enrolled), else
        ``None``.  Nothing is spent yet."""
        stored = await self._db.run(_stored, user_id, readonly=True)
        if stored is None or stored.confirmed is not confirmed:
            return None
        if code:
            secret = self._unsealed(user_id, stored.secret)
            if secret is None:
                return None
            step = _matching_step(secret, code, self._clock(), stored.last_step)
            return None if step is None else Proof(user_id, step=step)
        if recovery_code and confirmed:
            return Proof(user_id, recovery_hash=hash_recovery_code(recovery_code))
        return None

    def _unsealed(self, user_id: int, sealed: str) -> str | None:
        try:
            return self._sealer().decrypt_text(sealed, context=second_factor_context(user_id),
                                               what="a second factor key")
        except PyTakeError as exc:
            # The user must not get a 500 for the server's key problem: the code is refused,
            # recovery codes (hashes, nothing to decrypt) still work, and the log says why.
            log.error("cannot read the second-factor key of user %s (%s); was "
                      "PYTAKE_SECRET_KEY changed? `pytake users reset-2fa` removes it",
                      user_id, exc)
            return None

    async def _refused(self, user_id: int, action: str,
                       ip: str | None) -> InvalidSecondFactor:
        await self._db.run(_failed, user_id, action, ip, self._now())
        return InvalidSecondFactor("the code is wrong, expired or already used")

    async def confirm(self, user_id: int, code: str, *, ip: str | None = None) -> list[str]:
        """Finish enrolment with a code from the app; return the recovery codes (shown
        once).  Raises `InvalidSecondFactor`."""
        proof = await self.prove(user_id, code=code, confirmed=False)
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        hashes = [hash_recovery_code(c) for c in codes]
        if proof is None or not await self._db.run(_confirm, proof, hashes, ip, self._now()):
            raise await self._refused(user_id, "confirm", ip)
        return codes

    async def regenerate(self, user_id: int, *, code: str | None = None,
                         recovery_code: str | None = None,
                         ip: str | None = None) -> list[str]:
        """Replace every recovery code (the old ones stop working); needs a current code."""
        proof = await self.prove(user_id, code=code, recovery_code=recovery_code)
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        hashes = [hash_recovery_code(c) for c in codes]
        if proof is None or not await self._db.run(_regenerate, proof, hashes, ip,
                                                   self._now()):
            raise await self._refused(user_id, "regenerate", ip)
        return codes

    async def disable(self, user_id: int, *, code: str | None = None,
                      recovery_code: str | None = None, ip: str | None = None) -> None:
        """The user removes their own factor, proving it with a code or a recovery code."""
        proof = await self.prove(user_id, code=code, recovery_code=recovery_code)
        if proof is None or not await self._db.run(_remove, user_id, user_id, proof, ip,
                                                   self._now()):
            raise await self._refused(user_id, "disable", ip)

    async def reset(self, user_id: int, *, actor: int | None,
                    ip: str | None = None) -> bool:
        """An admin (or ``pytake users reset-2fa``) removes a user's factor; ``False`` if
        there was none."""
        return await self._db.run(_remove, user_id, actor, None, ip, self._now())

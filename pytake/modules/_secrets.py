"""`SecretBox`: secrets encrypted at rest with keys derived from the configured secret keys.

The cipher is AES-256-GCM (authenticated: a changed byte fails to decrypt instead of
decrypting to garbage). Its key is derived from a secret key (``secret_keys``, or
``secret_key`` alone; see `pytake.keys`) with HKDF-SHA256, under a label of its own, so it is
never the key that signs access tokens.

Layout of an encrypted value (binary; `SecretBox.encrypt_text` gives the same as text,
``pts1:`` followed by URL-safe base64 of everything after the magic)::

    b"PTS1"   key id (4 bytes)   nonce (12 bytes)   ciphertext + GCM tag (16 bytes)

- ``PTS1`` says the format and its version; a later format gets a new magic, and old values
  stay readable.
- The key id (`pytake.keys.key_id`) names the secret key the value was sealed with: values are
  sealed with the current key and read with whichever configured key their id names, so
  older keys keep their values readable until ``pytake secrets rotate`` re-encrypts them
  (`reseal`); a value whose key is no longer configured is reported as exactly that, with
  its key id, not as corrupt data. Values sealed before keys could rotate have the same
  layout and ids, and read as before.
- The caller's ``context`` (which record the value belongs to) is authenticated with it, so
  a value copied into another record does not decrypt there.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pytake.errors import ModuleConfigError
from pytake.keys import KEY_ID_BYTES, MIN_KEY_BYTES, KeyRing

if TYPE_CHECKING:
    from pytake.config import Settings

__all__ = ["MIN_KEY_BYTES", "SecretBox"]

#: How much of a ``pts1:`` text `key_id_of` decodes: the key id is at its start.
_ID_TEXT: Final = 8

_MAGIC: Final = b"PTS1"
_TEXT_PREFIX: Final = "pts1:"
_KEY_ID_LEN: Final = KEY_ID_BYTES
_NONCE_LEN: Final = 12
_TAG_LEN: Final = 16
_HEADER_LEN: Final = len(_MAGIC) + _KEY_ID_LEN + _NONCE_LEN
_SALT: Final = b"pytake.modules.secrets"


def _derive(secret_key: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=label).derive(
        secret_key
    )


class SecretBox:
    """Encrypts secrets with the current key, decrypts them with whichever key sealed them.

    ``keys`` is a `KeyRing`, one secret key, or several (the current one first), each at
    least 32 bytes, the same on every node; `from_settings` builds one from the settings and
    says clearly when no key is set. Decrypting raises `ModuleConfigError` (never returns
    garbage): for a value sealed with a key that is not configured, its message says so and
    names the value's key id and the configured ones.
    """

    def __init__(self, keys: KeyRing | str | Iterable[str]) -> None:
        if not isinstance(keys, KeyRing):
            try:
                keys = KeyRing(keys)
            except ValueError as exc:
                raise ModuleConfigError(
                    f"PYTAKE_SECRET_KEY cannot encrypt module secrets: {exc}") from None
        self._ring = keys
        self._aeads = {
            bytes.fromhex(key.id): AESGCM(_derive(key.secret.encode(), b"aes-256-gcm v1", 32))
            for key in keys
        }
        self._key_id = bytes.fromhex(keys.current.id)
        self._aead = self._aeads[self._key_id]

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box for the ``secret_keys`` (or ``secret_key``) setting; `ModuleConfigError` if
        neither is set (a random per-process key would make stored secrets unreadable after
        a restart)."""
        ring = KeyRing.from_settings(settings)
        if ring is None:
            raise ModuleConfigError(
                "PYTAKE_SECRET_KEY is not set (nor PYTAKE_SECRET_KEYS): module secrets cannot "
                f"be encrypted or read; set it to at least {MIN_KEY_BYTES} random bytes, the "
                "same on every node"
            )
        return cls(ring)

    @property
    def key_id(self) -> str:
        """The current key's id in hex: safe to show, and the same for the same key."""
        return self._key_id.hex()

    @property
    def keys(self) -> KeyRing:
        """The keys this box reads with; the first one seals."""
        return self._ring

    def __repr__(self) -> str:
        return f"SecretBox(key id {self.key_id})"

    # -- bytes --------------------------------------------------------------------------------

    def encrypt(self, plaintext: bytes, *, context: str) -> bytes:
        """``plaintext`` encrypted, bound to ``context`` (e.g. the record it is stored in)."""
        nonce = os.urandom(_NONCE_LEN)
        header = _MAGIC + self._key_id + nonce
        return header + self._aead.encrypt(nonce, plaintext, self._aad(header, context))

    def decrypt(self, blob: bytes, *, context: str, what: str = "a secret") -> bytes:
        """The plaintext of ``blob``; `ModuleConfigError` naming ``what`` if it cannot be had."""
        if len(blob) < _HEADER_LEN + _TAG_LEN or not blob.startswith(_MAGIC):
            raise ModuleConfigError(
                f"{what} is not an encrypted value PyTake can read (unknown format or "
                "truncated)"
            )
        key_id = blob[len(_MAGIC) : len(_MAGIC) + _KEY_ID_LEN]
        aead = self._aeads.get(key_id)
        if aead is None:
            ids = "ids" if len(self._ring) > 1 else "id"
            configured = ", ".join(self._ring.describe(i) for i in self._ring.ids)
            raise ModuleConfigError(
                f"{what} was encrypted with a different PYTAKE_SECRET_KEY (key id "
                f"{key_id.hex()}, which is not configured; this process has key {ids} "
                f"{configured}): add that key to PYTAKE_SECRET_KEYS after the current one, "
                "or store the secret again"
            )
        header = blob[:_HEADER_LEN]
        nonce = header[len(_MAGIC) + _KEY_ID_LEN :]
        try:
            return aead.decrypt(nonce, blob[_HEADER_LEN:], self._aad(header, context))
        except InvalidTag:
            raise ModuleConfigError(
                f"{what} cannot be decrypted: it was altered, or belongs to another record"
            ) from None

    @staticmethod
    def _aad(header: bytes, context: str) -> bytes:
        return header + b"\x00" + context.encode()

    # -- JSON and text ------------------------------------------------------------------------

    def encrypt_json(self, value: Any, *, context: str) -> bytes:
        """``value`` (JSON) encrypted."""
        return self.encrypt(json.dumps(value, separators=(",", ":")).encode(), context=context)

    def decrypt_json(self, blob: bytes, *, context: str, what: str = "a secret") -> Any:
        """The JSON value `encrypt_json` encrypted."""
        plaintext = self.decrypt(blob, context=context, what=what)
        try:
            return json.loads(plaintext)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ModuleConfigError(f"{what} decrypted, but is not JSON") from None

    def encrypt_text(self, value: str, *, context: str) -> str:
        """``value`` encrypted as ASCII text (``pts1:...``), for text columns."""
        return _as_text(self.encrypt(value.encode(), context=context))

    def decrypt_text(self, text: str, *, context: str, what: str = "a secret") -> str:
        """The text `encrypt_text` encrypted."""
        plaintext = self.decrypt(_from_text(text, what), context=context, what=what)
        try:
            return plaintext.decode()
        except UnicodeDecodeError:
            raise ModuleConfigError(f"{what} decrypted, but is not text") from None

    # -- rotation -----------------------------------------------------------------------------

    @staticmethod
    def key_id_of(sealed: bytes | str) -> str | None:
        """The id of the key a stored value (bytes or ``pts1:`` text) was sealed with, read
        from its header without decrypting it; ``None`` if it is not a sealed value."""
        if isinstance(sealed, str):
            if not sealed.startswith(_TEXT_PREFIX):
                return None
            start = sealed[len(_TEXT_PREFIX) : len(_TEXT_PREFIX) + _ID_TEXT]
            try:
                raw = base64.urlsafe_b64decode(start.encode())
            except (binascii.Error, ValueError):
                return None
            return raw[:_KEY_ID_LEN].hex() if len(raw) >= _KEY_ID_LEN else None
        if len(sealed) < _HEADER_LEN + _TAG_LEN or not sealed.startswith(_MAGIC):
            return None
        return sealed[len(_MAGIC) : len(_MAGIC) + _KEY_ID_LEN].hex()

    @overload
    def reseal(self, sealed: bytes, *, context: str, what: str = ...) -> bytes: ...

    @overload
    def reseal(self, sealed: str, *, context: str, what: str = ...) -> str: ...

    def reseal(self, sealed: bytes | str, *, context: str,
               what: str = "a secret") -> bytes | str:
        """``sealed`` decrypted with the key that sealed it and sealed again with the current
        key, in the same form (bytes or text) and bound to the same ``context``; raises
        `ModuleConfigError` as `decrypt` does."""
        if isinstance(sealed, str):
            blob = _from_text(sealed, what)
            return _as_text(self.encrypt(self.decrypt(blob, context=context, what=what),
                                         context=context))
        return self.encrypt(self.decrypt(sealed, context=context, what=what), context=context)


def _as_text(blob: bytes) -> str:
    return _TEXT_PREFIX + base64.urlsafe_b64encode(blob[len(_MAGIC) :]).decode()


def _from_text(text: str, what: str) -> bytes:
    if not text.startswith(_TEXT_PREFIX):
        raise ModuleConfigError(f"{what} is not an encrypted value PyTake can read")
    try:
        raw = base64.urlsafe_b64decode(text[len(_TEXT_PREFIX) :].encode())
    except (binascii.Error, ValueError):
        raise ModuleConfigError(f"{what} is not an encrypted value PyTake can read") from None
    return _MAGIC + raw

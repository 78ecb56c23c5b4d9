"""`SecretBox`: module secrets encrypted at rest with a key derived from ``PYTAKE_SECRET_KEY``.

The cipher is AES-256-GCM (authenticated: a changed byte fails to decrypt instead of
decrypting to garbage). Its key is derived from the ``secret_key`` setting with HKDF-SHA256,
under a label of its own, so it is never the key that signs access tokens.

Layout of an encrypted value (binary; `SecretBox.encrypt_text` gives the same as text,
``pts1:`` followed by URL-safe base64 of everything after the magic)::

    b"PTS1"   key id (4 bytes)   nonce (12 bytes)   ciphertext + GCM tag (16 bytes)

- ``PTS1`` says the format and its version; a later format gets a new magic, and old values
  stay readable.
- The key id is derived from the key (HKDF again, another label), so a value encrypted under
  another ``PYTAKE_SECRET_KEY`` is reported as exactly that, not as corrupt data.
- The caller's ``context`` (which record the value belongs to) is authenticated with it, so
  a value copied into another record does not decrypt there.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pytake.errors import ModuleConfigError

if TYPE_CHECKING:
    from pytake.config import Settings

__all__ = ["MIN_KEY_BYTES", "SecretBox"]

#: Shortest ``PYTAKE_SECRET_KEY`` accepted (the same rule as the setting's own).
MIN_KEY_BYTES: Final = 32

_MAGIC: Final = b"PTS1"
_TEXT_PREFIX: Final = "pts1:"
_KEY_ID_LEN: Final = 4
_NONCE_LEN: Final = 12
_TAG_LEN: Final = 16
_HEADER_LEN: Final = len(_MAGIC) + _KEY_ID_LEN + _NONCE_LEN
_SALT: Final = b"pytake.modules.secrets"


def _derive(secret_key: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=label).derive(
        secret_key
    )


class SecretBox:
    """Encrypts and decrypts secrets with a key derived from ``secret_key``.

    ``secret_key`` is the ``PYTAKE_SECRET_KEY`` setting, at least 32 bytes, the same on every
    node; `from_settings` builds one from the settings and says clearly when the key is not
    set. Decrypting raises `ModuleConfigError` (never returns garbage): for a value encrypted
    with a different key, its message says so and names both key ids.
    """

    def __init__(self, secret_key: str) -> None:
        raw = secret_key.encode()
        if len(raw) < MIN_KEY_BYTES:
            raise ModuleConfigError(
                f"PYTAKE_SECRET_KEY must be at least {MIN_KEY_BYTES} bytes long to encrypt "
                "module secrets"
            )
        self._aead = AESGCM(_derive(raw, b"aes-256-gcm v1", 32))
        self._key_id = _derive(raw, b"key id v1", _KEY_ID_LEN)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box for ``settings.secret_key``; `ModuleConfigError` if it is not set (a random
        per-process key would make stored secrets unreadable after a restart)."""
        if not settings.secret_key:
            raise ModuleConfigError(
                "PYTAKE_SECRET_KEY is not set: module secrets cannot be encrypted or read; "
                f"set it to at least {MIN_KEY_BYTES} random bytes, the same on every node"
            )
        return cls(settings.secret_key)

    @property
    def key_id(self) -> str:
        """The key's id in hex: safe to show, and the same for the same ``secret_key``."""
        return self._key_id.hex()

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
        if key_id != self._key_id:
            raise ModuleConfigError(
                f"{what} was encrypted with a different PYTAKE_SECRET_KEY (key id "
                f"{key_id.hex()}; this process has key id {self.key_id}): start PyTake with "
                "the key it was stored with, or store the secret again"
            )
        header = blob[:_HEADER_LEN]
        nonce = header[len(_MAGIC) + _KEY_ID_LEN :]
        try:
            return self._aead.decrypt(nonce, blob[_HEADER_LEN:], self._aad(header, context))
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
        blob = self.encrypt(value.encode(), context=context)
        return _TEXT_PREFIX + base64.urlsafe_b64encode(blob[len(_MAGIC) :]).decode()

    def decrypt_text(self, text: str, *, context: str, what: str = "a secret") -> str:
        """The text `encrypt_text` encrypted."""
        if not text.startswith(_TEXT_PREFIX):
            raise ModuleConfigError(f"{what} is not an encrypted value PyTake can read")
        try:
            raw = base64.urlsafe_b64decode(text[len(_TEXT_PREFIX) :].encode())
        except (binascii.Error, ValueError):
            raise ModuleConfigError(f"{what} is not an encrypted value PyTake can read") from None
        plaintext = self.decrypt(_MAGIC + raw, context=context, what=what)
        try:
            return plaintext.decode()
        except UnicodeDecodeError:
            raise ModuleConfigError(f"{what} decrypted, but is not text") from None

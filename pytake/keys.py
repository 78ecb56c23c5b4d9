"""`KeyRing`: the secret keys, the current one first and the older ones still accepted, and
their ids.

One key does two jobs: it signs access tokens (HS256, the key itself) and, through a key
derived from it, encrypts the secrets stored in the database (`pytake.modules.SecretBox`). To
change it without signing everyone out or losing a stored secret, the ``secret_keys`` setting
lists the new key first and the old ones after it:

- everything new uses the current key: access tokens are signed with it, secrets sealed;
- a token or a stored secret made with an older key names that key's id, and is still
  verified or decrypted with it;
- ``pytake secrets rotate`` re-encrypts the stored secrets under the current key; once it has
  run and the last tokens signed with the old key have expired (``access_token_ttl``), the old
  key can leave the list. docs/privacy.md, "Keys", gives the whole procedure.

A key's **id** is 8 hex digits derived from the key with HKDF-SHA256 under labels of its own:
it tells keys apart in token headers (``kid``), in sealed values' headers, in messages and in
``pytake secrets status``, and says nothing about the key. The derivation never changes:
values sealed years ago carry ids made this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

import attrs
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from pytake.config import Settings

__all__ = ["KEY_ID_BYTES", "MIN_KEY_BYTES", "Key", "KeyRing", "key_id"]

#: Shortest key accepted: HS256 keys shorter than its 32-byte output weaken it (RFC 7518 §3.2).
MIN_KEY_BYTES: Final = 32
#: Length of a key id in bytes (its text is twice as many hex digits).
KEY_ID_BYTES: Final = 4
# The salt and label SecretBox used for its key ids before keys had ids of their own: kept, so
# that the ids inside values sealed back then still name their keys.
_ID_SALT: Final = b"pytake.modules.secrets"
_ID_LABEL: Final = b"key id v1"


def key_id(secret: str) -> str:
    """The id of the key ``secret``: 8 hex digits, the same on every node, safe to show."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_ID_BYTES, salt=_ID_SALT, info=_ID_LABEL)
    return hkdf.derive(secret.encode()).hex()


@attrs.frozen(repr=False)
class Key:
    """One secret key and its id; its ``repr`` shows the id only."""

    secret: str
    id: str

    def __repr__(self) -> str:
        return f"Key(id={self.id!r})"


class KeyRing:
    """The keys, the current one first, then older ones (for reading only).

    ``keys`` is one key or several, each at least `MIN_KEY_BYTES` bytes (UTF-8). Raises
    `ValueError` for none, a short key or two keys with one id (the same key twice); the
    message names keys by position, never by value.
    """

    def __init__(self, keys: str | Iterable[str]) -> None:
        secrets = (keys,) if isinstance(keys, str) else tuple(keys)
        if not secrets:
            raise ValueError("no secret key given")
        ring: list[Key] = []
        for number, secret in enumerate(secrets, 1):
            if len(secret.encode()) < MIN_KEY_BYTES:
                where = f" (key {number} of {len(secrets)})" if len(secrets) > 1 else ""
                raise ValueError(f"a secret key must have at least {MIN_KEY_BYTES} bytes{where}")
            key = Key(secret, key_id(secret))
            for earlier, other in enumerate(ring, 1):
                if other.id == key.id:
                    raise ValueError(f"keys {earlier} and {number} have the same id {key.id}: "
                                     "a key is listed twice")
            ring.append(key)
        self._keys: Final = tuple(ring)
        self._by_id: Final = {key.id: key for key in ring}

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing | None:
        """The ring of ``secret_keys`` (or ``secret_key``); ``None`` when neither is set."""
        keys = settings.secret_key_list
        return cls(keys) if keys else None

    @property
    def current(self) -> Key:
        """The key everything new is signed or sealed with."""
        return self._keys[0]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key's id, the current one first."""
        return tuple(key.id for key in self._keys)

    def get(self, key_id: str) -> Key | None:
        """The key with this id, or ``None`` when no configured key has it."""
        return self._by_id.get(key_id)

    def describe(self, key_id: str) -> str:
        """``"1a2b3c4d (current)"``, ``"… (older)"`` or ``"… (not configured)"``."""
        if key_id == self.current.id:
            return f"{key_id} (current)"
        return f"{key_id} ({'older' if key_id in self._by_id else 'not configured'})"

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(self.ids)})"

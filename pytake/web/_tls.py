"""The web edge's TLS: the server context built from the ``tls_certfile``/``tls_keyfile``
settings, checked at start so that a bad file stops PyTake with a line naming it.

The context is Hypercorn's own (`hypercorn.config.Config.create_ssl_context`): ALPN offers
``h2`` then ``http/1.1``, compression is off and TLS 1.2 uses ECDHE with AES-GCM only, as
HTTP/2 requires (RFC 9113 section 9.2).  On top of it this module makes sure of what PyTake
promises whatever Hypercorn's version: TLS 1.2 at least (an older client's hello is answered
with a ``protocol_version`` alert), TLS 1.3 whenever the client has it (OpenSSL picks the
highest version both sides allow), and no renegotiation (RFC 9113 section 9.2.1).
"""

from __future__ import annotations

import ssl

from hypercorn.config import Config as HypercornConfig

from pytake.errors import ConfigError

__all__ = ["tls_context"]


def _unreadable(key: str, path: str) -> ConfigError | None:
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        return ConfigError(f"{key}: cannot read {path}: {exc.strerror or exc}", key=key)


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """The server-side TLS context for a certificate chain and its private key (PEM files).

    Raises `ConfigError` naming the setting and the file when a file cannot be read, holds no
    certificate or no private key, or when the key is not the certificate's; an encrypted
    key is refused too (never a passphrase prompt on the terminal).
    """
    for key, path in (("tls_certfile", certfile), ("tls_keyfile", keyfile)):
        if (error := _unreadable(key, path)) is not None:
            raise error
    # load_cert_chain says "PEM lib" for any unparsable file; reading the chain as trust
    # anchors first tells a bad certificate file from a bad key file.
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=certfile)
    except ssl.SSLError:
        raise ConfigError(f"tls_certfile: no PEM certificate in {certfile}",
                          key="tls_certfile") from None
    config = HypercornConfig()
    config.certfile, config.keyfile = certfile, keyfile
    # Not None: OpenSSL would ask for an encrypted key's passphrase on the terminal.
    config.keyfile_password = ""
    try:
        context = config.create_ssl_context()
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            problem = (f"the private key in {keyfile} is not the key of the certificate "
                       f"in {certfile}")
        else:
            problem = f"no private key (unencrypted PEM) in {keyfile}"
        raise ConfigError(f"tls_keyfile: {problem}", key="tls_keyfile") from None
    assert context is not None  # both files are set
    if context.minimum_version < ssl.TLSVersion.TLSv1_2:  # MINIMUM_SUPPORTED is below too
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    context.options |= ssl.OP_NO_RENEGOTIATION
    return context

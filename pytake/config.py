"""Settings: what PyTake reads at start-up, and from where.

Sources, each overriding the one before it:

1. the defaults below;
2. a TOML file, if one is named by ``--config FILE`` or ``PYTAKE_CONFIG`` (sections are
   tables: ``[actors]`` / ``idle_timeout = 60``);
3. the plain ``PORT`` variable (the convention of most hosting platforms);
4. ``PYTAKE_*`` environment variables: ``PYTAKE_PORT``, and for a section a double underscore,
   ``PYTAKE_ACTORS__IDLE_TIMEOUT``;
5. command-line options (``--host``, ``--port``).

Everything is checked at start-up, so a bad value stops PyTake with a `ConfigError` naming the
variable or key and the problem, never later with a crash. Unknown ``PYTAKE_*`` variables and
unknown TOML keys are errors too (with a did-you-mean hint), because a misspelt setting that is
silently ignored is worse than one that stops the process. Variables starting with
``PYTAKE_TEST_`` are reserved for the test suite and ignored here.

``docs/configuration.md`` lists every setting; a test keeps it in step with this module.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import attrs
import cattrs

from pytake.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "LOG_LEVELS",
    "ActorSettings",
    "RetentionSettings",
    "Setting",
    "Settings",
    "all_settings",
    "load_settings",
]

ENV_PREFIX: Final = "PYTAKE_"
#: Names the TOML file to read (``--config`` wins over it).
CONFIG_ENV: Final = "PYTAKE_CONFIG"
#: ``PYTAKE_*`` names that are not settings: the file name above, and the test suite's knobs.
_RESERVED_ENV: Final = (CONFIG_ENV,)
_RESERVED_ENV_PREFIXES: Final = ("PYTAKE_TEST_",)
LOG_LEVELS: Final = ("critical", "error", "warning", "info", "debug")

_N = TypeVar("_N", int, float)
_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


# --- validators ---------------------------------------------------------------------------
# They raise ConfigError with the dotted key, so `load_settings` can say which variable or
# file key the bad value came from; constructing Settings directly in code gets the same checks.


def _key(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return ".".join((*_SECTION_PATHS.get(type(instance), ()), attribute.name))


def _fail(instance: object, attribute: attrs.Attribute[Any], problem: str) -> typing.NoReturn:
    key = _key(instance, attribute)
    raise ConfigError(f"{key} {problem}", key=key)


def _between(lo: _N, hi: _N) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: _N) -> None:
        if not lo <= value <= hi:
            _fail(instance, attribute, f"must be between {lo} and {hi}, got {value!r}")

    return check


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        _fail(instance, attribute, f"must be greater than 0, got {value!r}")


def _at_least(lo: int) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
        if value < lo:
            _fail(instance, attribute, f"must be at least {lo}, got {value!r}")

    return check


def _not_empty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value.strip():
        _fail(instance, attribute, "must not be empty")


def _one_of(choices: tuple[str, ...]) -> _Validator:
    def check(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in choices:
            _fail(instance, attribute, f"must be one of {', '.join(choices)}, got {value!r}")

    return check


def _secret_key(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # HS256 keys shorter than its 32-byte output weaken it (RFC 7518 section 3.2).
    if value and len(value.encode()) < 32:
        _fail(instance, attribute, "must be empty or at least 32 bytes long")


def secret_key_list(text: str) -> tuple[str, ...]:
    """``"new-key, old-key"`` → ``("new-key", "old-key")``: the ``secret_keys`` setting split
    at commas, spaces around each key and empty items dropped."""
    return tuple(key for key in (part.strip() for part in text.split(",")) if key)


def _secret_keys(instance: Settings, attribute: attrs.Attribute[Any], value: str) -> None:
    # Messages name keys by position, never by value: these end up in logs.
    keys = secret_key_list(value)
    if value.strip() and not keys:
        _fail(instance, attribute, "must be empty or name at least one key")
    for number, key in enumerate(keys, 1):
        if len(key.encode()) < 32:
            _fail(instance, attribute, "must hold keys of at least 32 bytes each; key "
                  f"{number} of {len(keys)} is shorter")
        if key in keys[: number - 1]:
            _fail(instance, attribute, f"must not repeat a key; key {number} repeats key "
                  f"{keys.index(key) + 1}")
    if keys and instance.secret_key and instance.secret_key != keys[0]:
        _fail(instance, attribute, "and secret_key (PYTAKE_SECRET_KEYS and PYTAKE_SECRET_KEY) "
              "are both set to different current keys: set secret_keys alone, the current "
              "key first")


def _cidrs(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # Checked here so that a typo stops start-up instead of trusting nobody (or everybody).
    import ipaddress

    for part in filter(None, (p.strip() for p in value.split(","))):
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            _fail(instance, attribute, f"must be IP addresses or CIDRs, got {part!r}")


#: Each TLS file setting: the other one it goes with, and where it is set (for messages).
_TLS_PAIRS: Final = {
    "tls_certfile": ("tls_keyfile", "PYTAKE_TLS_CERTFILE or pytake serve --certfile"),
    "tls_keyfile": ("tls_certfile", "PYTAKE_TLS_KEYFILE or pytake serve --keyfile"),
}


def _tls_pair(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    # Runs once every field is set, so it sees the other file too; only the missing one
    # fails, so the message names it.  Whether the files can be loaded is checked when
    # serving starts (`pytake.web.tls_context`): commands that never serve don't need them.
    other, where = _TLS_PAIRS[attribute.name]
    if value is None and getattr(instance, other) is not None:
        _fail(instance, attribute, f"is not set but {other} is: TLS needs both the "
              f"certificate and its private key ({where})")


def _none_if_blank(value: str | None) -> str | None:
    return value if value is None or value.strip() else None


def _lower(value: str) -> str:
    return value.lower()


def _redact_secret(value: str) -> str:
    return "'***'" if value else "''"


def _redact_url(url: str | None) -> str:
    """Hide the password of a URL, so that logging the settings never leaks it."""
    if url is None:
        return "None"
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return repr(urlunsplit(parts._replace(netloc=netloc)))


# --- the settings -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ActorSettings:
    """The actor runtime and its supervisors (TOML ``[actors]``, ``PYTAKE_ACTORS__*``)."""

    #: Seconds without a message after which an actor snapshots itself and stops.
    idle_timeout: float = attrs.field(default=300.0, validator=_positive)
    #: Capacity of each actor's mailbox; a full mailbox makes senders wait (backpressure).
    mailbox_size: int = attrs.field(default=1000, validator=_at_least(1))
    #: Crashes on the same message after which it goes to the dead letters.
    poison_threshold: int = attrs.field(default=3, validator=_at_least(1))
    #: Seconds that shutdown waits for mailboxes to drain before it cancels what is left.
    drain_deadline: float = attrs.field(default=10.0, validator=_positive)
    #: Seconds between writes of the snapshots that changed (written behind, batched): an
    #: actor busy all the while is written once per interval; after a crash the journal
    #: replays at most this much.
    snapshot_interval: float = attrs.field(default=5.0, validator=_positive)
    #: Seconds before the first restart of a crashed actor; doubles on each further crash.
    backoff_initial: float = attrs.field(default=0.1, validator=_positive)
    #: Upper bound of the restart backoff, in seconds.
    backoff_max: float = attrs.field(default=30.0, validator=_positive)
    #: Restart intensity: more than ``max_restarts`` restarts within ``restart_period``
    #: seconds make a supervisor give up and escalate to its parent.
    max_restarts: int = attrs.field(default=10, validator=_at_least(0))
    restart_period: float = attrs.field(default=10.0, validator=_positive)

    @backoff_max.validator
    def _check_backoff_max(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.backoff_initial:
            _fail(self, attribute, f"must be at least backoff_initial ({self.backoff_initial!r})")


@attrs.frozen(kw_only=True)
class RetentionSettings:
    """How long each class of data is kept (TOML ``[retention]``, ``PYTAKE_RETENTION__*``):
    a maximum age in days, ``0`` keeping it for ever. docs/privacy.md#retention says why the
    defaults are what they are."""

    #: Messages (and the outbox rows that sent them): five years, the time a consumer has to
    #: bring a claim under the CDC (art. 27).
    messages_days: int = attrs.field(default=1825, validator=_at_least(0))
    #: Media files downloaded from customers or uploaded by agents.
    media_days: int = attrs.field(default=180, validator=_at_least(0))
    #: Raw webhook bodies once processed (kept only to replay and debug).
    inbox_days: int = attrs.field(default=7, validator=_at_least(0))
    #: Agents' desk events (what a reconnecting desk replays).
    agent_events_days: int = attrs.field(default=90, validator=_at_least(0))
    #: Outbound webhook delivery logs.
    deliveries_days: int = attrs.field(default=30, validator=_at_least(0))
    #: Audit log rows.
    audit_days: int = attrs.field(default=1825, validator=_at_least(0))
    #: Seconds between two sweeps.
    interval: float = attrs.field(default=3600.0, validator=_positive)
    #: Rows deleted per transaction: small, so the message path never waits long on them.
    batch: int = attrs.field(default=500, validator=_between(1, 100_000))


def keyword_pairs(text: str) -> dict[str, str]:
    """``"boleto=boleto, menu=triage"`` → ``{"boleto": "boleto", "menu": "triage"}``; raises
    ValueError naming a pair that is not ``word=flow``."""
    pairs: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        word, sep, flow = (x.strip() for x in item.partition("="))
        if not sep or not word or not flow:
            raise ValueError(f"{item!r} is not word=flow")
        pairs[word] = flow
    return pairs


def default_flows(text: str) -> tuple[str, dict[str, str]]:
    """``"triage, 4200001=vendas"`` → ``("triage", {"4200001": "vendas"})``: the default flow
    and the business numbers with their own; ValueError names a bad item."""
    default = ""
    numbers: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        number, sep, flow = (x.strip() for x in item.partition("="))
        if not sep:
            if default:
                raise ValueError(f"two default flows: {default!r} and {item!r}")
            default = item
        elif not number or not flow:
            raise ValueError(f"{item!r} is not phone_number_id=flow")
        else:
            numbers[number] = flow
    return default, numbers


def _default_flows(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        default_flows(value)
    except ValueError as exc:
        _fail(instance, attribute, str(exc))


def _keyword_pairs(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        keyword_pairs(value)
    except ValueError as exc:
        _fail(instance, attribute, str(exc))


@attrs.frozen(kw_only=True)
class Settings:
    """Everything PyTake reads at start-up; build it with `load_settings`."""

    #: Address the web edge listens on.
    host: str = attrs.field(default="127.0.0.1", validator=_not_empty)
    #: TCP port the web edge listens on.
    port: int = attrs.field(default=8000, validator=_between(1, 65535))
    #: PEM file of the server's certificate chain (its certificate first); set together
    #: with ``tls_keyfile``, the web edge speaks only HTTPS and WSS on ``port``.
    tls_certfile: str | None = attrs.field(
        default=None, converter=_none_if_blank, validator=_tls_pair
    )
    #: PEM file of the certificate's private key (not encrypted with a passphrase).
    tls_keyfile: str | None = attrs.field(
        default=None, converter=_none_if_blank, validator=_tls_pair
    )
    #: ``max-age`` of the ``Strict-Transport-Security`` header of answers served over TLS,
    #: in seconds (default one year); 0 sends none.  Never sent over plain HTTP.
    hsts_max_age: int = attrs.field(default=365 * 86400, validator=_at_least(0))
    #: Log level: critical, error, warning, info or debug (any case).
    log_level: str = attrs.field(default="info", converter=_lower, validator=_one_of(LOG_LEVELS))
    #: SQLAlchemy URL of the database of record; SQLite is the embedded default.
    database_url: str = attrs.field(
        default="sqlite:///pytake.db", validator=_not_empty, repr=_redact_url
    )
    #: Apply pending database migrations when the server starts.
    database_auto_migrate: bool = True
    #: Worker threads (and, on PostgreSQL, pooled connections) for database work.
    database_threads: int = attrs.field(default=8, validator=_between(1, 256))
    #: On PostgreSQL, run the group-committed transactions (and the reads on a message's path)
    #: in a child process, off the server's interpreter lock; off: in worker threads.
    #: Ignored on SQLite.
    database_writer_processes: bool = True
    #: Redis URL (``redis://host:6379/0``) for a second copy of the actor snapshots; unset:
    #: the database's copy only.
    redis_url: str | None = attrs.field(default=None, repr=_redact_url)
    #: Prefix of every Redis key PyTake writes (several deployments can share one Redis).
    redis_prefix: str = attrs.field(default="pytake:", validator=_not_empty)
    #: Token Meta sends in the webhook verification handshake (``hub.verify_token``).
    whatsapp_verify_token: str = attrs.field(default="", repr=_redact_secret)
    #: App secret that signs webhooks (``X-Hub-Signature-256``); unset refuses every POST.
    whatsapp_app_secret: str = attrs.field(default="", repr=_redact_secret)
    #: The previous app secret, accepted too while a rotation is under way.
    whatsapp_app_secret_previous: str = attrs.field(default="", repr=_redact_secret)
    #: Bearer token for the Cloud API (a system-user token in production).
    whatsapp_access_token: str = attrs.field(default="", repr=_redact_secret)
    #: Base URL of the Cloud API; point it at ``pytake whatsapp-sim serve`` for tests and demos.
    whatsapp_api_base: str = attrs.field(
        default="https://graph.facebook.com", validator=_not_empty
    )
    #: Graph API version used for every call (pin it: webhook shapes depend on it too).
    whatsapp_api_version: str = attrs.field(default="v23.0", validator=_not_empty)
    #: Largest webhook body accepted, in bytes (Meta sends up to about 3 MB).
    whatsapp_max_body_bytes: int = attrs.field(
        default=4 * 1024 * 1024, validator=_between(1024, 64 * 1024 * 1024)
    )
    #: Stored webhook bodies waiting for processing above which a webhook's answer is held
    #: back (its body is stored already) until the backlog is under it again (0: never).
    whatsapp_inbox_backlog_limit: int = attrs.field(
        default=1000, validator=_between(0, 50_000)
    )
    #: Longest a webhook's answer is held back for the backlog, in seconds (Meta's target
    #: is a median answer within 0.25 s).
    whatsapp_inbox_backlog_wait: float = attrs.field(
        default=0.25, validator=_between(0.0, 10.0)
    )
    #: Messages per second per business number the sender allows itself (Meta's default 80).
    whatsapp_send_rate: float = attrs.field(default=80.0, validator=_positive)
    #: Seconds between two messages to the same customer (Meta's pair rate limit is ~6 s;
    #: 0 sends as fast as the number's rate allows and relies on backing off on 131056).
    whatsapp_pair_interval: float = attrs.field(default=0.0, validator=_at_least(0))
    #: WhatsApp Business Account id, for the template catalogue (empty: no template sync).
    whatsapp_waba_id: str = ""
    #: Business phone number ids served here, comma-separated; empty accepts every number.
    whatsapp_phone_number_ids: str = ""
    #: Directory where inbound media files are stored.
    whatsapp_media_dir: str = attrs.field(default="media", validator=_not_empty)
    #: Key that signs access tokens (HS256) and encrypts stored secrets, at least 32 bytes,
    #: the same on every node, when ``secret_keys`` is not set; neither set means a random
    #: key per process (with a warning): restarts sign everyone out.
    secret_key: str = attrs.field(default="", repr=_redact_secret, validator=_secret_key)
    #: The current key and the older ones still accepted, comma-separated, current first,
    #: each at least 32 bytes (docs/privacy.md, "Keys"); set, it replaces ``secret_key``
    #: (which may then only repeat the first key).
    secret_keys: str = attrs.field(default="", repr=_redact_secret, validator=_secret_keys)
    #: Origins (``https://desk.example.com``, comma-separated) whose browser pages may call
    #: the API (CORS); empty: none, only pages served by PyTake itself.
    cors_origins: str = ""
    #: Folder of the built web app (its ``index.html``); empty: the wheel's copy, else the
    #: checkout's ``ui/dist``.
    ui_dir: str = ""
    #: The first-run set-up code (``XXXX-XXXX``); empty: a random one, printed at start
    #: while no user exists.
    setup_code: str = attrs.field(default="", repr=_redact_secret)
    #: Bearer token a Prometheus scraper sends to ``/metrics``; empty: ``/metrics`` answers
    #: without one only while the server listens on a loopback address.
    metrics_token: str = attrs.field(default="", repr=_redact_secret)
    #: Seconds an access token (JWT) stays valid.
    access_token_ttl: float = attrs.field(default=900.0, validator=_positive)
    #: Seconds a refresh token stays valid; each refresh issues a new one.
    refresh_token_ttl: float = attrs.field(default=30 * 86400.0, validator=_positive)
    #: Sign-in attempts allowed per client address per minute.
    login_attempts_per_ip: int = attrs.field(default=30, validator=_at_least(1))
    #: Sign-in attempts allowed per email per minute.
    login_attempts_per_email: int = attrs.field(default=10, validator=_at_least(1))
    #: Proxies (IP addresses or CIDRs, comma-separated) whose ``X-Forwarded-For`` names the
    #: client; empty: the direct peer is the client (the header is ignored).
    trusted_proxies: str = attrs.field(default="", validator=_cidrs)
    #: Seconds of one rate-limit window; every ``rate_limit_*`` budget below is per window
    #: (docs/auth.md, "Rate limits").  A budget of 0 turns that limit off.
    rate_limit_window: float = attrs.field(default=60.0, validator=_between(0.1, 86400.0))
    #: Sign-in, refresh and sign-out calls per client address per window.
    rate_limit_sign_in_per_ip: int = attrs.field(default=600, validator=_at_least(0))
    #: REST reads (GET, HEAD, OPTIONS) per client address per window.
    rate_limit_reads_per_ip: int = attrs.field(default=12000, validator=_at_least(0))
    #: REST reads per signed-in user per window.
    rate_limit_reads_per_user: int = attrs.field(default=3000, validator=_at_least(0))
    #: REST writes (POST, PUT, PATCH, DELETE) per client address per window.
    rate_limit_writes_per_ip: int = attrs.field(default=6000, validator=_at_least(0))
    #: REST writes per signed-in user per window.
    rate_limit_writes_per_user: int = attrs.field(default=1200, validator=_at_least(0))
    #: Agent socket connections opened per client address per window.
    rate_limit_socket_connects_per_ip: int = attrs.field(default=1200, validator=_at_least(0))
    #: Agent socket connections opened per user per window.
    rate_limit_socket_connects_per_user: int = attrs.field(default=60, validator=_at_least(0))
    #: Agent socket commands (not pings) per user per window.
    rate_limit_socket_commands_per_user: int = attrs.field(
        default=3000, validator=_at_least(0)
    )
    #: Team (name or id) a conversation goes to when the bot hands off; empty: the bot keeps
    #: it (flows decide hand-offs themselves).
    routing_default_team: str = ""
    #: Seconds after a resolution during which a customer message reopens the conversation
    #: with the same team (and its last agent first); later it starts over with the bot.
    routing_reopen_window: float = attrs.field(default=86400.0, validator=_at_least(0))
    #: Customer messages closer together than this many seconds reach the bot as one turn.
    routing_burst_gap: float = attrs.field(default=0.0, validator=_at_least(0))
    #: The published flow (its id) that answers conversations the bot owns, and per business
    #: number ``phone_number_id=flow`` pairs, comma-separated; empty: none.
    flows_default: str = attrs.field(default="", validator=_default_flows)
    #: Keywords that start a flow, ``word=flow`` pairs separated by commas.
    flows_keywords: str = attrs.field(default="", validator=_keyword_pairs)
    #: Seconds an agent stays online after its last WebSocket closed (reloads, blips).
    agent_offline_grace: float = attrs.field(default=10.0, validator=_at_least(0))
    #: Events queued per agent connection before a slow client is disconnected to resume.
    agent_send_queue: int = attrs.field(default=256, validator=_between(8, 100_000))
    #: Seconds without any frame from an agent client before its connection is closed.
    agent_idle_timeout: float = attrs.field(default=60.0, validator=_positive)
    #: Seconds between two samples of the operations dashboard's numbers (docs/operations.md).
    ops_sample_interval: float = attrs.field(default=1.0, validator=_between(0.1, 60))
    actors: ActorSettings = attrs.field(factory=ActorSettings)
    retention: RetentionSettings = attrs.field(factory=RetentionSettings)

    @property
    def secret_key_list(self) -> tuple[str, ...]:
        """The secret keys, the current one first, then the older ones still accepted:
        ``secret_keys`` if set, else ``secret_key`` alone; empty when neither is set."""
        keys = secret_key_list(self.secret_keys)
        return keys or ((self.secret_key,) if self.secret_key else ())


# Types are strings under `from __future__ import annotations`; resolve them once for the
# schema walk below and for cattrs.
attrs.resolve_types(ActorSettings)
attrs.resolve_types(RetentionSettings)
attrs.resolve_types(Settings)


# --- schema: every leaf setting, by its dotted path ----------------------------------------


@attrs.frozen
class Setting:
    """One leaf setting, as `all_settings` describes it (used by docs and tests)."""

    path: tuple[str, ...]
    type: Any
    default: Any

    @property
    def key(self) -> str:
        """Dotted TOML key, e.g. ``actors.idle_timeout``."""
        return ".".join(self.path)

    @property
    def env(self) -> str:
        """Environment variable, e.g. ``PYTAKE_ACTORS__IDLE_TIMEOUT``."""
        return ENV_PREFIX + "__".join(self.path).upper()


def _walk(cls: type, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], type | None]]:
    """Yield ``(path, cls)`` for each section and ``(path, None)`` for each leaf."""
    yield prefix, cls
    for field in attrs.fields(cls):
        path = (*prefix, field.name)
        if isinstance(field.type, type) and attrs.has(field.type):
            yield from _walk(field.type, path)
        else:
            yield path, None


def _default(path: tuple[str, ...]) -> Any:
    value: Any = Settings()
    for name in path:
        value = getattr(value, name)
    return value


_SECTION_PATHS: Final[dict[type, tuple[str, ...]]] = {
    cls: path for path, cls in _walk(Settings, ()) if cls is not None
}
_SECTIONS: Final = frozenset(_SECTION_PATHS.values())


def _leaves() -> dict[tuple[str, ...], Setting]:
    classes = {path: cls for cls, path in _SECTION_PATHS.items()}
    return {
        path: Setting(path, attrs.fields_dict(classes[path[:-1]])[path[-1]].type, _default(path))
        for path, cls in _walk(Settings, ())
        if cls is None
    }


_LEAVES: Final = _leaves()
_ENV_NAMES: Final = {setting.env: path for path, setting in _LEAVES.items()}


def all_settings() -> list[Setting]:
    """Every leaf setting with its TOML key, environment variable and default."""
    return list(_LEAVES.values())


# --- coercion: raw values to the field's type, with messages naming the source -------------

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _is_optional(tp: Any) -> bool:
    return isinstance(tp, types.UnionType) and type(None) in typing.get_args(tp)


def _describe(value: object) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def _from_text(raw: str, tp: Any, label: str) -> object:
    """Parse an environment variable's text as a value of type ``tp``."""
    text = raw.strip()
    try:
        if tp is int:
            return int(text)
        if tp is float:
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
    except ValueError:
        kind = "an integer" if tp is int else "a number"
        raise ConfigError(f"{label}: expected {kind}, got {raw!r}") from None
    if tp is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ConfigError(f"{label}: expected true or false, got {raw!r}")
    if _is_optional(tp):
        # An empty variable means "unset", the only way to say None in the environment.
        return raw if text else None
    return raw


def _from_typed(value: object, tp: Any, label: str) -> object:
    """Check a value that already has a Python type (TOML, CLI options)."""
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{label}: expected an integer, got {_describe(value)}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"{label}: expected a number, got {_describe(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{label}: expected true or false, got {_describe(value)}")
    if value is None and _is_optional(tp):
        return None
    if isinstance(value, str):
        return value
    raise ConfigError(f"{label}: expected a string, got {_describe(value)}")


def _suggest(name: str, candidates: list[str], *, prefix: str = "", quote: bool = False) -> str:
    """``" (did you mean X?)"`` for the closest candidate, or ``""``.

    ``prefix`` is shared by all names (``PYTAKE_``): comparing it would make every name
    look close to every other, so only the rest is compared.
    """
    rest = {c.removeprefix(prefix): c for c in candidates}
    close = difflib.get_close_matches(name.removeprefix(prefix), list(rest), n=1, cutoff=0.6)
    if not close:
        return ""
    match = rest[close[0]]
    return f" (did you mean {match!r}?)" if quote else f" (did you mean {match}?)"


# --- loading --------------------------------------------------------------------------------


class _Layers:
    """The merged raw values, and for each leaf the label of the source that set it last."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.sources: dict[tuple[str, ...], str] = {}

    def set(self, path: tuple[str, ...], value: object, label: str) -> None:
        table = self.values
        for name in path[:-1]:
            table = table.setdefault(name, {})
        table[path[-1]] = value
        self.sources[path] = label


def _read_toml(file: Path, layers: _Layers) -> None:
    try:
        with file.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        # The message carries the line and column: "Expected '=' ... (at line 3, column 7)".
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    _read_table(data, (), file, layers)


def _read_table(
    table: Mapping[str, Any], prefix: tuple[str, ...], file: Path, layers: _Layers
) -> None:
    for name, value in table.items():
        path = (*prefix, name)
        key = ".".join(path)
        if path in _LEAVES:
            label = f"{file}: {key}"
            layers.set(path, _from_typed(value, _LEAVES[path].type, label), label)
        elif path in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: {key}: expected a table ([{key}]), got {value!r}")
            _read_table(value, path, file, layers)
        else:
            known = [".".join(p) for p in (*_LEAVES, *_SECTIONS) if p]
            hint = _suggest(key, known, quote=True)
            raise ConfigError(f"{file}: unknown setting {key!r}{hint}")


def _read_env(environ: Mapping[str, str], layers: _Layers) -> None:
    if "PORT" in environ:
        layers.set(("port",), _from_text(environ["PORT"], int, "PORT"), "PORT")
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in _RESERVED_ENV:
            continue
        if name.startswith(_RESERVED_ENV_PREFIXES):
            continue
        path = _ENV_NAMES.get(name)
        if path is None:
            hint = _suggest(name, list(_ENV_NAMES), prefix=ENV_PREFIX)
            raise ConfigError(f"unknown setting {name}{hint}")
        layers.set(path, _from_text(environ[name], _LEAVES[path].type, name), name)


# No detailed validation: values reaching cattrs are already type-checked above, and we want
# the validators' ConfigError itself, not wrapped in a cattrs exception group.
_converter: Final = cattrs.Converter(forbid_extra_keys=True, detailed_validation=False)


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Build `Settings` from defaults, TOML file, environment and ``overrides``, in that order.

    ``config_file`` wins over ``PYTAKE_CONFIG``; ``environ`` defaults to ``os.environ``;
    ``overrides`` maps dotted keys to typed values (the CLI's ``--port``); ``None`` values
    are skipped so that unset options fall through. Raises `ConfigError`.
    """
    env = os.environ if environ is None else environ
    layers = _Layers()

    file: str | os.PathLike[str] | None = config_file
    if file is None:
        file = env.get(CONFIG_ENV) or None  # empty means unset
    if file is not None:
        _read_toml(Path(file), layers)
    _read_env(env, layers)
    for key, value in (overrides or {}).items():
        path = tuple(key.split("."))
        if path not in _LEAVES:
            raise ConfigError(f"unknown setting {key!r}")
        if value is not None:
            label = "--" + key.replace(".", "-").replace("_", "-")
            layers.set(path, _from_typed(value, _LEAVES[path].type, label), label)

    try:
        return _converter.structure(layers.values, Settings)
    except ConfigError as exc:
        # Name the source of the bad value: "PYTAKE_PORT: port must be between ...".
        source = layers.sources.get(tuple(exc.key.split("."))) if exc.key else None
        if source is None:
            raise
        raise ConfigError(f"{source}: {exc}", key=exc.key) from None

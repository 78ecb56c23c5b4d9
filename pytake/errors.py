"""Every exception PyTake raises on purpose, in one hierarchy.

Catch ``PyTakeError`` to handle anything PyTake reports deliberately; anything else escaping
PyTake code is a bug.  Each class below is public where its package exports it; those defined
elsewhere than this module are marked with their module (they carry data of that module).

```
PyTakeError
├── ConfigError               bad setting in the environment, a TOML file or a CLI option
├── CommandError              a ``pytake`` CLI command failed; reported in one line    (cli)
├── StorageUnavailable        PostgreSQL/SQLite or Redis cannot be reached right now  [retryable]
├── SchemaError               the database's schema revision is unknown or not reachable
├── ActorError                something about one actor address ``(kind, id)``
│   ├── MailboxFull           the mailbox stayed full past the sender's wait        [retryable]
│   ├── AskTimeout            ``ref.ask(...)`` got no reply within its timeout
│   ├── ActorStopped          the router is shutting down / not accepting messages
│   ├── MessageDeadLettered   the message crashed the actor repeatedly (poison message)
│   └── UnknownActorKind      no actor class is registered for that kind
├── SupervisorEscalation      a supervisor exceeded its restart intensity
├── IdentityError             who the caller is and what they may do; ``reason`` is for the client
│   ├── AuthError             bad credentials, a missing, malformed, tampered or expired token,
│   │                         a spent refresh token (``code`` says which)              → 401
│   ├── Forbidden             signed in, but the role may not do this                   → 403
│   ├── InvalidUser           a user's fields were refused (``field`` names which)     → 422
│   │   ├── EmailTaken        a user with that email already exists                    → 409
│   │   └── InvalidSecondFactor  a wrong, expired or spent TOTP/recovery code          → 422
│   ├── UserNotFound          no user with that id                                      → 404
│   ├── UserConflict          the change would leave no active admin                    → 409
│   │   └── SecondFactorConflict  a second factor is already enabled                   → 409
│   └── SecondFactorUnavailable   no PYTAKE_SECRET_KEY to encrypt a TOTP key with     → 409
├── RoutingError              conversations' owners, queues, team hours
│   ├── InvalidTransition     the owner state machine has no rule for (state, event)
│   ├── QueueError            a queue operation names something the queue does not hold
│   │   └── OfferNotFound     accept of an offer that is gone (expired, withdrawn, never made)
│   ├── InvalidBusinessHours  a team's hours are malformed (also a ``ValueError``)
│   └── TeamError             a change of a team or of its members was refused         (queues)
│       ├── TeamNotFound      the team, user or membership named does not exist          → 404
│       ├── TeamConflict      a name taken, open conversations, a row changed meanwhile  → 409
│       ├── InvalidTeam       a team's or member's fields are refused (also ``ValueError``) → 400
│       └── CannedResponseError  a change of a team's canned responses was refused    (queues)
│           ├── CannedResponseNotFound  no such canned response (also ``LookupError``)  → 404
│           ├── CannedResponseConflict  the team has a response with that shortcut      → 409
│           └── InvalidCannedResponse   a field is refused (``field``; also ``ValueError``) → 422
├── CommandRefused            an agent command frame is malformed (also ``ValueError``)  (web)
│   └── ConversationNotFound  the command names a conversation that does not exist      (web)
├── WhatsAppError             about talking to the WhatsApp Cloud API
│   ├── WindowClosed          free-form message outside the 24-hour window: a template is needed
│   ├── InvalidMessage        an outbound message breaks WhatsApp's limits (checked before sending)
│   ├── CloudApiError         the Cloud API refused a request (``code``, ``details``, ``retryable``)
│   ├── InvalidNotification   a webhook body is not a JSON object (also ``ValueError``)
│   └── NumberError           a business number change was refused              (messaging)
│       ├── NumberNotFound    no such business number (also ``LookupError``)            → 404
│       ├── NumberConflict    the number is configured already                          → 409
│       └── InvalidNumber     a field is refused (``field``; also ``ValueError``)       → 422
├── HttpProtocolError         about HTTP under the outbound HTTP client
│   └── ProtocolError         the server broke HTTP/1.1; the message says how    (httpclient)
├── FlowError                 about flows: their documents, versions and simulations
│   ├── InvalidFlow           a flow document has problems (``problems`` lists them)    (flows)
│   ├── FlowNotFound          no such flow or version (also ``LookupError``)          (flowrun)
│   ├── FlowConflict          the flow's state does not allow the change              (flowrun)
│   └── BadSimulation         a simulation's messages or stubs are malformed          (flowrun)
├── PrivacyError              a customer's data request (export, anonymise, erase)      (privacy)
│   ├── CustomerNotFound      no such customer, and none erased (also ``LookupError``)   → 404
│   ├── DataRequestNotFound   no such data request (also ``LookupError``)                → 404
│   └── DataRequestFailed     a step failed; the request is ``failed`` (run it again) or, when
│                             not even that could be written, left ``running`` (resumed)
├── ModuleError               about a module (plugin): its manifest, its registration
│   ├── UnknownModule         no module of that name is registered (``known`` lists those that are)
│   ├── ModuleConfigError     a module's configuration is invalid, missing, or its secrets cannot
│   │                         be decrypted (wrong ``PYTAKE_SECRET_KEY``); ``field`` names the field
│   ├── TemplateError         a ``{{placeholder}}`` names nothing (also ``ValueError``)   (modules)
│   ├── WebhookError          an outbound webhook subscription change was refused (modules.builtin)
│   │   ├── WebhookNotFound   no such subscription or logged delivery (also ``LookupError``) → 404
│   │   └── InvalidWebhook    a field is refused (``field``; also ``ValueError``)        → 422
│   └── InvalidDigitableLine  not a valid bank slip line (also ``ValueError``)  (modules.builtin)
└── StandInError              raised by the local stand-ins of outside services  (whatsapp.sim)
    ├── DeliveryFailed        a simulated customer's webhook was never acknowledged
    └── ApiProblem            the Cloud API stand-in refuses a request, as Meta would
```

A module's *call* never raises: `pytake.modules.ModuleRunner` turns every failure into an
``error`` outcome. These errors come from setting modules up and configuring them.

The web edge turns the two *retryable* errors into ``503 Service Unavailable`` with a
``Retry-After`` header taken from their ``retry_after`` attribute (seconds), so callers such
as the WhatsApp Cloud API retry instead of losing a message.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActorError",
    "ActorStopped",
    "AskTimeout",
    "AuthError",
    "CloudApiError",
    "CommandError",
    "CommandRefused",
    "ConfigError",
    "EmailTaken",
    "FlowError",
    "Forbidden",
    "HttpProtocolError",
    "IdentityError",
    "InvalidBusinessHours",
    "InvalidMessage",
    "InvalidSecondFactor",
    "InvalidTransition",
    "InvalidUser",
    "MailboxFull",
    "MessageDeadLettered",
    "ModuleConfigError",
    "ModuleError",
    "OfferNotFound",
    "PyTakeError",
    "QueueError",
    "RoutingError",
    "SchemaError",
    "SecondFactorConflict",
    "SecondFactorUnavailable",
    "StandInError",
    "StorageUnavailable",
    "SupervisorEscalation",
    "UnknownActorKind",
    "UnknownModule",
    "UserConflict",
    "UserNotFound",
    "WhatsAppError",
    "WindowClosed",
]


class PyTakeError(Exception):
    """Base class of every exception PyTake raises on purpose."""


class ConfigError(PyTakeError):
    """A setting is missing, unknown or invalid.

    The message names where the bad value came from (``PYTAKE_PORT``, ``pytake.toml:
    actors.mailbox_size``, ``--port``) and what is wrong with it; the CLI prints it as is.
    ``key`` is the dotted setting name (``"actors.mailbox_size"``) when one is known.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class StorageUnavailable(PyTakeError):
    """A store (database or Redis) cannot be reached; the operation may succeed later."""

    def __init__(self, detail: str = "storage is unavailable", *, retry_after: float = 1.0) -> None:
        super().__init__(detail)
        self.detail = detail
        #: Seconds a caller should wait before retrying (the web edge's ``Retry-After``).
        self.retry_after = retry_after


class ActorError(PyTakeError):
    """An error about the actor addressed by ``(kind, id)``."""

    def __init__(self, message: str, *, kind: str | None = None, id: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.id = id


def _address(kind: str | None, id: str | None) -> str:
    if kind is None:
        return "actor"
    return f"actor {kind}/{id}" if id is not None else f"actor kind {kind!r}"


class MailboxFull(ActorError):
    """The actor's bounded mailbox stayed full for as long as the sender was willing to wait.

    Internal senders normally wait instead of seeing this; the web edge waits a bounded time,
    then answers 503 with ``Retry-After``.
    """

    def __init__(self, kind: str, id: str, capacity: int, *, retry_after: float = 1.0) -> None:
        super().__init__(
            f"{_address(kind, id)}: mailbox full ({capacity} messages)", kind=kind, id=id
        )
        self.capacity = capacity
        #: Seconds a caller should wait before retrying (the web edge's ``Retry-After``).
        self.retry_after = retry_after


class AskTimeout(ActorError):
    """``ref.ask(message, timeout=...)`` got no reply in time.

    The message may still be handled later: a timeout says nothing about whether it was.
    """

    def __init__(self, kind: str, id: str, message_type: str, timeout: float) -> None:
        super().__init__(
            f"{_address(kind, id)}: no reply to {message_type} within {timeout:g}s",
            kind=kind,
            id=id,
        )
        self.message_type = message_type
        self.timeout = timeout


class ActorStopped(ActorError):
    """The message was not accepted: the router is shutting down or the actor has stopped."""

    def __init__(
        self,
        kind: str | None = None,
        id: str | None = None,
        reason: str = "not accepting messages",
    ) -> None:
        super().__init__(f"{_address(kind, id)}: {reason}", kind=kind, id=id)
        self.reason = reason


class MessageDeadLettered(ActorError):
    """The message crashed its actor ``crashes`` times and went to the dead letters.

    The actor carries on with its next message; operators see the dead letter.
    """

    def __init__(self, kind: str, id: str, message_type: str, crashes: int) -> None:
        super().__init__(
            f"{_address(kind, id)}: {message_type} dead-lettered after {crashes} crashes",
            kind=kind,
            id=id,
        )
        self.message_type = message_type
        self.crashes = crashes


class UnknownActorKind(ActorError):
    """No actor class is registered for ``kind``; ``known`` lists the kinds that are."""

    def __init__(self, kind: str, known: tuple[str, ...] | list[str] = ()) -> None:
        known = tuple(sorted(known))
        hint = f" (known kinds: {', '.join(known)})" if known else ""
        super().__init__(f"unknown actor kind {kind!r}{hint}", kind=kind)
        self.known = known


class SupervisorEscalation(PyTakeError):
    """A supervisor's children crashed more than ``max_restarts`` times in ``period`` seconds.

    The supervisor gives up and its parent decides what to do (restart it, or escalate further);
    at the root this stops the application.
    """

    def __init__(
        self,
        supervisor: str,
        max_restarts: int,
        period: float,
        *,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(
            f"supervisor {supervisor!r} exceeded {max_restarts} restarts in {period:g}s"
        )
        self.supervisor = supervisor
        self.max_restarts = max_restarts
        self.period = period
        self.cause = cause


class IdentityError(PyTakeError):
    """Base of the identity errors; ``reason`` is safe to show to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthError(IdentityError):
    """Authentication failed (HTTP 401).

    ``code`` is one of: ``missing_token``, ``invalid_token``, ``token_expired``,
    ``invalid_credentials``, ``account_inactive``, ``invalid_refresh_token``,
    ``refresh_token_expired``, ``refresh_token_reused``, ``refresh_token_revoked``,
    ``role_changed`` (the token's role is no longer the user's: sign in again).
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


class UserNotFound(IdentityError):
    """No user has the id named."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"no user with id {user_id}")
        self.user_id = user_id


class UserConflict(IdentityError):
    """The change is refused in the users' current state (it would leave no active admin)."""


class InvalidSecondFactor(InvalidUser):
    """A signed-in user's TOTP or recovery code is wrong, expired or spent (a 422 naming the
    field: a 401 would make clients refresh a token that is fine)."""

    def __init__(self, reason: str, *, field: str = "code") -> None:
        super().__init__(reason, field=field)


class SecondFactorConflict(UserConflict):
    """A second factor is already enabled: it must be disabled before a new one is set up."""


class SecondFactorUnavailable(IdentityError):
    """Second factors need ``PYTAKE_SECRET_KEY``: their keys are stored encrypted with it."""


class RoutingError(PyTakeError):
    """Base class of the routing core's errors."""


class InvalidTransition(RoutingError):
    """``event`` is not allowed while the conversation is in ``state``.

    ``state`` is the :class:`~pytake.routing.Owner`, ``event`` the event object, and ``kind``
    the event kind the table was consulted with (``"accept_other_agent"`` when an agent
    other than the one offered tries to accept, for instance).
    """

    def __init__(self, state: Any, event: Any, kind: str | None = None) -> None:
        name = getattr(state, "name", str(state))
        what = kind or type(event).__name__
        super().__init__(f"no transition from {name} on {what}: {event!r}")
        self.state = state
        self.event = event
        self.kind = kind


class QueueError(RoutingError):
    """A queue operation refers to a conversation or agent in the wrong place."""


class OfferNotFound(QueueError):
    """The agent tried to accept an offer that is no longer outstanding.

    The offer expired (its reservation timed out), was withdrawn (the conversation was
    transferred or resolved, the agent went away), or went to someone else.  The agent's UI
    says "too late"; nothing changed.
    """

    def __init__(self, conversation: str, agent: str, reason: str) -> None:
        super().__init__(f"no outstanding offer of {conversation!r} to {agent!r}: {reason}")
        self.conversation = conversation
        self.agent = agent
        self.reason = reason


class InvalidBusinessHours(RoutingError, ValueError):
    """A team's business hours cannot be used; the message says which value and why."""


class SchemaError(PyTakeError):
    """The schema cannot be migrated as asked: the database is at a revision this PyTake does
    not know (a newer PyTake migrated it), or the requested revision does not exist."""


class CommandError(PyTakeError):
    """A failure the CLI reports in one line (exit status 1), without a traceback."""


class CommandRefused(PyTakeError, ValueError):
    """Base of the agent desk's refusals of a command frame (the web edge defines them)."""


class HttpProtocolError(PyTakeError):
    """Base of the outbound HTTP client's protocol errors (see `pytake.httpclient`)."""


class FlowError(PyTakeError):
    """Base of the errors about flows (documents, versions, simulations)."""


class StandInError(PyTakeError):
    """Base of the errors of the local stand-ins of outside services (tests, demos)."""


class WhatsAppError(PyTakeError):
    """Something about the WhatsApp Cloud API boundary."""


class WindowClosed(WhatsAppError):
    """A free-form message was refused before sending: the customer's 24-hour service window
    is closed (last customer message at ``last_customer_at``, epoch seconds, or never)."""

    def __init__(self, recipient: str, last_customer_at: float | None) -> None:
        when = "never wrote" if last_customer_at is None else "last wrote more than 24 h ago"
        super().__init__(
            f"cannot send a free-form message to {recipient}: the customer {when}; "
            "only an approved template can be sent outside the 24-hour window"
        )
        self.recipient = recipient
        self.last_customer_at = last_customer_at


class InvalidMessage(WhatsAppError):
    """An outbound message breaks a documented WhatsApp limit; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid WhatsApp message: " + "; ".join(problems))
        self.problems = problems


class CloudApiError(WhatsAppError):
    """The Cloud API answered with an error object (or not at all, ``code`` 0 then)."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        details: str = "",
        http_status: int | None = None,
        fbtrace_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        suffix = f" ({details})" if details else ""
        super().__init__(f"Cloud API error {code}: {message}{suffix}")
        self.code = code
        self.details = details
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id
        self.retryable = retryable


class ModuleError(PyTakeError):
    """Something about a module (plugin): an invalid manifest, a duplicate name, an unknown
    action. ``module`` names the module when one is known."""

    def __init__(self, message: str, *, module: str | None = None) -> None:
        super().__init__(message)
        self.module = module


class UnknownModule(ModuleError):
    """No module named ``name`` is registered; ``known`` lists the names that are."""

    def __init__(self, name: str, known: tuple[str, ...] | list[str] = ()) -> None:
        known = tuple(sorted(known))
        hint = f" (known modules: {', '.join(known)})" if known else " (no module is registered)"
        super().__init__(f"unknown module {name!r}{hint}", module=name)
        self.known = known


class ModuleConfigError(ModuleError):
    """A module's configuration is invalid or missing, or its secrets cannot be decrypted.

    The message names the module and, when one is at fault, the ``field``; it never contains
    a secret's value.
    """

    def __init__(
        self, message: str, *, module: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message, module=module)
        self.field = field

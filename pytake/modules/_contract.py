"""The module contract: what a module declares (`Manifest`), what it is given (`ModuleContext`)
and what it answers (`ModuleResponse`).

Everything in this file is plain data and pure checks; nothing here does I/O. A module is any
object with ``name``, ``version``, ``manifest`` and ``async execute(context)``; subclassing
`Module` gives it the optional hooks (`Module.bind`, `Module.retry_safe`, `Module.aclose`)
with sensible defaults.

Value types, for configuration fields and action inputs and outputs alike:

===========  =====================================================================
``string``   a ``str``
``url``      a ``str`` starting with ``http://`` or ``https://``
``integer``  an ``int`` (not a ``bool``)
``number``   an ``int`` or ``float`` (not a ``bool``)
``boolean``  ``True`` or ``False``
``object``   a JSON object (``dict`` with ``str`` keys)
``array``    a JSON array (``list``)
``any``      any JSON value
===========  =====================================================================
"""

from __future__ import annotations

import abc
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, runtime_checkable

import attrs
import cattrs

from pytake.errors import ModuleConfigError, ModuleError

if TYPE_CHECKING:
    import httpx

    from pytake.modules._secrets import SecretBox
    from pytake.store import Database

__all__ = [
    "ERROR",
    "KNOWN_PERMISSIONS",
    "NOT_FOUND",
    "OK",
    "VALUE_TYPES",
    "Action",
    "ConfigField",
    "Manifest",
    "Module",
    "ModuleContext",
    "ModuleLike",
    "ModuleResponse",
    "ModuleServices",
    "Param",
    "reply_document",
    "reply_text",
]

#: The outcome of a call that did what it was asked.
OK: Final = "ok"
#: The outcome of a lookup that found nothing (a normal answer, not a failure).
NOT_FOUND: Final = "not_found"
#: The outcome of every failure; every action has it, declared or not.
ERROR: Final = "error"

VALUE_TYPES: Final = ("string", "url", "integer", "number", "boolean", "object", "array", "any")

#: Permissions PyTake knows how to explain to an administrator. A module may declare others
#: (``area:verb``); they are shown as they are.
KNOWN_PERMISSIONS: Final[Mapping[str, str]] = {
    "network:outbound": "calls HTTP APIs outside PyTake",
    "customer:write": "updates the customer's attributes",
    "messages:send": "sends messages to the customer",
    "events:read": "receives conversation and message events",
    "database:webhooks": "reads webhook subscriptions and writes their delivery log",
}

#: What the value of a masked secret looks like in listings.
MASK: Final = "***"

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PERMISSION = re.compile(r"^[a-z][a-z0-9_]*:[a-z*][a-z0-9_*]*$")


# --- values ----------------------------------------------------------------------------------


def _type_problem(kind: str, value: Any) -> str | None:
    """Why ``value`` is not of value type ``kind``, or ``None`` if it is."""
    ok: bool
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "url":
        ok = isinstance(value, str) and value.startswith(("http://", "https://"))
        if not ok:
            return f"must be an http:// or https:// URL, got {_show(value)}"
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "object":
        ok = isinstance(value, dict) and all(isinstance(k, str) for k in value)
    elif kind == "array":
        ok = isinstance(value, list)
    else:
        ok = True
    article = "an" if kind[0] in "aeiou" else "a"
    return None if ok else f"must be {article} {kind}, got {_show(value)}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModuleError(
            f"{what} {name!r} is not a valid name (lower-case letters, digits and _, "
            "starting with a letter, at most 63 characters)"
        )


def _value_type(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in VALUE_TYPES:
        raise ModuleError(
            f"{type(instance).__name__} {getattr(instance, 'name', '?')!r}: type {value!r} is "
            f"not one of {', '.join(VALUE_TYPES)}"
        )


# --- the manifest ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ConfigField:
    """One field of a module's configuration.

    ``secret`` fields (API keys, tokens) are encrypted at rest, masked in listings and never
    logged. ``default`` applies when the field is absent (a required field has none).
    ``choices`` restricts a string to a few values.
    """

    name: str
    type: str = attrs.field(default="string", validator=_value_type)
    required: bool = False
    secret: bool = False
    default: Any = None
    description: str = ""
    choices: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        _check_name("configuration field", self.name)
        if self.secret and self.type not in ("string", "object"):
            raise ModuleError(f"secret field {self.name!r} must be a string or an object")
        problem = None if self.default is None else _type_problem(self.type, self.default)
        if problem is not None:
            raise ModuleError(f"field {self.name!r}: default {problem}")


@attrs.frozen(kw_only=True)
class Param:
    """An action's input or output: a flow node's field, or a variable it sets."""

    name: str
    type: str = attrs.field(default="string", validator=_value_type)
    required: bool = False
    default: Any = None
    description: str = ""

    def __attrs_post_init__(self) -> None:
        _check_name("parameter", self.name)


def _params(value: Iterable[Param]) -> tuple[Param, ...]:
    return tuple(value)


def _fields(value: Iterable[ConfigField]) -> tuple[ConfigField, ...]:
    return tuple(value)


def _actions(value: Iterable[Action]) -> tuple[Action, ...]:
    return tuple(value)


def _with_error(outcomes: Iterable[str]) -> tuple[str, ...]:
    result = tuple(outcomes)
    return result if ERROR in result else (*result, ERROR)


@attrs.frozen(kw_only=True)
class Action:
    """Something a module does; each action is one flow node type, ``<module>.<action>``.

    ``outcomes`` are the node's exits (edges); ``error`` is always among them, added if not
    declared. ``idempotent`` says whether calling twice is as good as calling once, so that
    the runner may retry it after a failure (a GET is; a POST that creates something is not).
    ``timeout`` overrides the runner's default per attempt, in seconds.
    """

    name: str
    description: str = ""
    inputs: tuple[Param, ...] = attrs.field(default=(), converter=_params)
    outputs: tuple[Param, ...] = attrs.field(default=(), converter=_params)
    outcomes: tuple[str, ...] = attrs.field(default=(OK,), converter=_with_error)
    idempotent: bool = False
    timeout: float | None = None

    def __attrs_post_init__(self) -> None:
        _check_name("action", self.name)
        for group in ("inputs", "outputs"):
            names = [p.name for p in getattr(self, group)]
            if len(set(names)) != len(names):
                raise ModuleError(f"action {self.name!r}: duplicate {group} {_dups(names)}")
        for outcome in self.outcomes:
            _check_name(f"action {self.name!r}: outcome", outcome)
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ModuleError(f"action {self.name!r}: duplicate outcomes {_dups(self.outcomes)}")
        if self.timeout is not None and not self.timeout > 0:
            raise ModuleError(f"action {self.name!r}: timeout must be > 0, got {self.timeout!r}")

    def validate_inputs(self, inputs: Mapping[str, Any], *, module: str = "") -> dict[str, Any]:
        """``inputs`` checked against the declared inputs, with defaults filled in.

        Raises `ModuleError` naming every problem (missing, unknown, wrong type). Inputs
        that are ``None`` count as absent.
        """
        where = f"{module}.{self.name}" if module else self.name
        declared = {p.name: p for p in self.inputs}
        problems = [f"unknown input {k!r}" for k in inputs if k not in declared]
        result: dict[str, Any] = {}
        for param in self.inputs:
            value = inputs.get(param.name)
            if value is None:
                if param.required:
                    problems.append(f"input {param.name!r} is required")
                elif param.default is not None:
                    result[param.name] = param.default
                continue
            problem = _type_problem(param.type, value)
            if problem:
                problems.append(f"input {param.name!r} {problem}")
            result[param.name] = value
        if problems:
            raise ModuleError(f"{where}: " + "; ".join(problems), module=module or None)
        return result


def _dups(names: Sequence[str]) -> str:
    return ", ".join(sorted({n for n in names if list(names).count(n) > 1}))


def _permissions(values: Iterable[str]) -> tuple[str, ...]:
    result = tuple(values)
    for permission in result:
        if not isinstance(permission, str) or not _PERMISSION.match(permission):
            raise ModuleError(f"permission {permission!r} is not of the form area:verb")
    return result


@attrs.frozen(kw_only=True)
class Manifest:
    """What a module declares: its configuration schema, its actions and its permissions.

    The registry checks a manifest when it loads the module; `validate_config` checks a
    configuration against it before it is stored, and again before a call.
    """

    description: str = ""
    config: tuple[ConfigField, ...] = attrs.field(default=(), converter=_fields)
    actions: tuple[Action, ...] = attrs.field(default=(), converter=_actions)
    permissions: tuple[str, ...] = attrs.field(default=(), converter=_permissions)

    def __attrs_post_init__(self) -> None:
        for group, items in (("configuration fields", self.config), ("actions", self.actions)):
            names = [item.name for item in items]
            if len(set(names)) != len(names):
                raise ModuleError(f"duplicate {group} {_dups(names)}")

    @property
    def secret_fields(self) -> frozenset[str]:
        """Names of the configuration fields that are secrets."""
        return frozenset(f.name for f in self.config if f.secret)

    def action(self, name: str, *, module: str = "") -> Action:
        """The action called ``name``; `ModuleError` naming the known ones if there is none."""
        for action in self.actions:
            if action.name == name:
                return action
        known = ", ".join(a.name for a in self.actions) or "none"
        where = f"module {module!r}" if module else "the module"
        raise ModuleError(f"{where} has no action {name!r} (actions: {known})", module=module)

    def validate_config(self, config: Mapping[str, Any], *, module: str = "") -> dict[str, Any]:
        """``config`` checked against the schema, with defaults filled in.

        Raises `ModuleConfigError` for the first field at fault, naming it (``field``) and the
        problem: unknown, missing, of the wrong type or not among its choices. A secret's
        value never appears in the message.
        """
        where = f"{module}: " if module else ""
        fields = {f.name: f for f in self.config}
        for key in config:
            if key not in fields:
                known = ", ".join(fields) or "none"
                raise ModuleConfigError(
                    f"{where}unknown configuration field {key!r} (fields: {known})",
                    module=module or None,
                    field=key,
                )
        result: dict[str, Any] = {}
        for field in self.config:
            value = config.get(field.name)
            if value is None or (value == "" and field.required):
                if field.required:
                    raise ModuleConfigError(
                        f"{where}configuration field {field.name!r} is required"
                        + (f" ({field.description})" if field.description else ""),
                        module=module or None,
                        field=field.name,
                    )
                if field.default is not None:
                    result[field.name] = field.default
                continue
            problem = _type_problem(field.type, value)
            if problem is None and field.choices and value not in field.choices:
                problem = f"must be one of {', '.join(field.choices)}, got {_show(value)}"
            if problem is not None:
                if field.secret:
                    problem = problem.split(", got ")[0]  # never echo a secret
                raise ModuleConfigError(
                    f"{where}configuration field {field.name!r} {problem}",
                    module=module or None,
                    field=field.name,
                )
            result[field.name] = value
        return result

    def split_secrets(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``config`` as (plain fields, secret fields)."""
        secret = self.secret_fields
        plain = {k: v for k, v in config.items() if k not in secret}
        return plain, {k: v for k, v in config.items() if k in secret}

    def mask(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with every secret that is set replaced by ``"***"``, for listings."""
        secret = self.secret_fields
        return {k: (MASK if k in secret and v not in (None, "") else v) for k, v in config.items()}

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON (stored in the ``modules`` table, shown to administrators)."""
        result: dict[str, Any] = _converter.unstructure(self)
        return result

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """The inverse of `to_json`; raises `ModuleError` for an invalid document."""
        try:
            return _converter.structure(dict(data), cls)
        except ModuleError:
            raise
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
            raise ModuleError(f"invalid manifest: {exc}") from None


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_unstructure_hook(tuple, list)


# --- calls -----------------------------------------------------------------------------------


def _frozen_dict(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class ModuleContext:
    """Everything one call of an action is given. Modules must not mutate it.

    ``config`` is the module's configuration for ``tenant_key`` with secrets decrypted and
    defaults filled in; it is left out of ``repr`` so that logging a context never leaks a
    secret. ``inputs`` are the flow node's fields, already rendered by the flow engine (a module
    never renders them again), checked against the action's inputs by the runner, defaults
    filled in. ``customer`` is the customer as the flow sees it (``id``, ``wa_id``, ``phone``,
    ``name``, ``attributes``). ``call_id`` is the same
    for every retry of one call: modules send it as an idempotency key or request id.
    """

    action: str
    inputs: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    config: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict, repr=False)
    customer: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    variables: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    conversation_id: int | None = None
    conversation_key: str = ""
    tenant_key: str = "default"
    call_id: str = attrs.field(factory=lambda: uuid.uuid4().hex)


def _message_tuple(value: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(dict(m) for m in value)


@attrs.frozen(kw_only=True)
class ModuleResponse:
    """What a call answered.

    ``outcome`` names the exit the flow takes: ``"ok"``, ``"not_found"``, any outcome the
    action declares, or ``"error"``. ``outputs`` are merged into the flow's variables;
    ``messages`` are sent to the customer in order, each as reply content
    (``{"type": "text", "text": ...}``, ``{"type": "document", "link": ..., "filename": ...}``,
    see `reply_text` and `reply_document`); ``customer_attributes`` are merged into the
    customer's attributes.

    For an ``error``, ``error`` says why (never a secret) and ``transient`` whether the failure
    may pass by itself (a timeout, a 5xx, a dropped connection: retried for idempotent
    actions and counted by the circuit breaker) or not (bad input, a 4xx: neither).
    The runner sets ``attempts`` and ``elapsed`` (seconds, all attempts included).
    """

    outcome: str = OK
    outputs: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    messages: tuple[dict[str, Any], ...] = attrs.field(default=(), converter=_message_tuple)
    customer_attributes: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_dict)
    error: str | None = None
    transient: bool = False
    attempts: int = 1
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True for the ``ok`` outcome."""
        return self.outcome == OK

    @property
    def failed(self) -> bool:
        """True for the ``error`` outcome."""
        return self.outcome == ERROR

    @classmethod
    def success(
        cls,
        outputs: Mapping[str, Any] | None = None,
        *,
        outcome: str = OK,
        messages: Sequence[Mapping[str, Any]] = (),
        customer_attributes: Mapping[str, Any] | None = None,
    ) -> ModuleResponse:
        """A non-error answer (``outcome`` ``ok`` unless told otherwise)."""
        if outcome == ERROR:
            raise ValueError("use ModuleResponse.failure for errors")
        return cls(
            outcome=outcome,
            outputs=dict(outputs or {}),
            messages=messages,
            customer_attributes=dict(customer_attributes or {}),
        )

    @classmethod
    def failure(cls, reason: str, *, transient: bool = True) -> ModuleResponse:
        """An ``error`` answer; ``transient`` unless the failure will not pass by itself."""
        return cls(outcome=ERROR, error=reason, transient=transient)


def reply_text(text: str) -> dict[str, Any]:
    """Reply content for a text message."""
    return {"type": "text", "text": text}


def reply_document(
    link: str, *, filename: str | None = None, caption: str | None = None
) -> dict[str, Any]:
    """Reply content for a document (a PDF, say) WhatsApp fetches from ``link``."""
    content: dict[str, Any] = {"type": "document", "link": link}
    if filename:
        content["filename"] = filename
    if caption:
        content["caption"] = caption
    return content


# --- modules ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ModuleServices:
    """What PyTake hands a module when it is registered (`Module.bind`).

    ``database`` for modules with tables of their own (the webhook module's subscriptions and
    delivery log); ``secrets`` to encrypt or decrypt their secrets; ``http_client`` a shared
    ``httpx.AsyncClient`` (connection pooling) that modules may use instead of opening their
    own per call. Any of them may be ``None``: a module needing one says so when called.
    """

    database: Database | None = None
    secrets: SecretBox | None = None
    http_client: httpx.AsyncClient | None = None


@runtime_checkable
class ModuleLike(Protocol):
    """The duck type of a module; `Module` is the convenient base class."""

    name: str
    version: str
    manifest: Manifest

    async def execute(self, context: ModuleContext) -> ModuleResponse: ...


class Module(abc.ABC):
    """Base class of modules. A subclass sets ``name``, ``version`` and ``manifest`` and
    implements `execute`; the registry instantiates it without arguments.

    `execute` may raise or hang: the `ModuleRunner` turns exceptions, timeouts and malformed
    answers into an ``error`` outcome, so a module only has to report the failures it
    understands (``ModuleResponse.failure("billing API answered 503")``).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    manifest: ClassVar[Manifest]

    services: ModuleServices = ModuleServices()

    def bind(self, services: ModuleServices) -> None:
        """Receive PyTake's services; called by the registry before the first call."""
        self.services = services

    def retry_safe(self, context: ModuleContext) -> bool:
        """Whether this call may be retried after a failure. The default is the action's
        ``idempotent`` flag; override it when it depends on the inputs (an HTTP method)."""
        return self.manifest.action(context.action, module=self.name).idempotent

    @abc.abstractmethod
    async def execute(self, context: ModuleContext) -> ModuleResponse:
        """Do ``context.action`` and say how it went."""

    async def aclose(self) -> None:  # noqa: B027  # optional hook, not abstract
        """Release what the module holds (clients, connections); the default does nothing."""

    def __repr__(self) -> str:
        return f"<module {self.name} {self.version}>"

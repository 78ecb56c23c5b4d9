"""The exception hierarchy: its shape, its messages, and its drawing in the docstring."""

from __future__ import annotations

import pytest

import pytake.errors as errors
from pytake.errors import (
    ActorError,
    ActorStopped,
    AskTimeout,
    ConfigError,
    MailboxFull,
    MessageDeadLettered,
    PyTakeError,
    StorageUnavailable,
    SupervisorEscalation,
    UnknownActorKind,
)


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (ConfigError, PyTakeError),
        (StorageUnavailable, PyTakeError),
        (ActorError, PyTakeError),
        (MailboxFull, ActorError),
        (AskTimeout, ActorError),
        (ActorStopped, ActorError),
        (MessageDeadLettered, ActorError),
        (UnknownActorKind, ActorError),
        (SupervisorEscalation, PyTakeError),
    ],
)
def test_hierarchy(cls: type[Exception], parent: type[Exception]) -> None:
    assert cls.__bases__ == (parent,)


def test_docstring_draws_every_exception() -> None:
    assert errors.__doc__ is not None
    for name in errors.__all__:
        assert name in errors.__doc__, name


def test_messages_and_attributes() -> None:
    full = MailboxFull("conversation", "5511", 1000)
    assert str(full) == "actor conversation/5511: mailbox full (1000 messages)"
    assert (full.kind, full.id, full.capacity, full.retry_after) == (
        "conversation",
        "5511",
        1000,
        1.0,
    )

    timeout = AskTimeout("agent", "7", "GetPresence", 2.5)
    assert str(timeout) == "actor agent/7: no reply to GetPresence within 2.5s"
    assert (timeout.message_type, timeout.timeout) == ("GetPresence", 2.5)

    assert str(ActorStopped()) == "actor: not accepting messages"
    assert str(ActorStopped("queue", "sales", "router is shutting down")) == (
        "actor queue/sales: router is shutting down"
    )

    dead = MessageDeadLettered("conversation", "5511", "Inbound", 3)
    assert str(dead) == "actor conversation/5511: Inbound dead-lettered after 3 crashes"

    unknown = UnknownActorKind("conversaton", ["conversation", "agent"])
    assert str(unknown) == "unknown actor kind 'conversaton' (known kinds: agent, conversation)"
    assert unknown.known == ("agent", "conversation")

    escalation = SupervisorEscalation("root", 10, 10.0)
    assert str(escalation) == "supervisor 'root' exceeded 10 restarts in 10s"

    down = StorageUnavailable("redis: connection refused", retry_after=5)
    assert (str(down), down.retry_after) == ("redis: connection refused", 5)

    config = ConfigError("PYTAKE_PORT: expected an integer, got 'abc'", key="port")
    assert config.key == "port"

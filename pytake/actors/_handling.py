"""Whether the running task does an actor's work (a kind's worker task).

A router that is shutting down refuses new messages from outside but lets actors keep
telling each other while it drains: a turn under way (a conversation handing over to its
team's queue) completes instead of crashing on a stopped router.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["IN_ACTOR"]

#: True in the worker tasks of a kind runtime (each task has its own context).
IN_ACTOR: ContextVar[bool] = ContextVar("pytake_in_actor", default=False)

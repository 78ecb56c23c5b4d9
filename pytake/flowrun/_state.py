"""Where a running flow is: part of the ConversationActor's snapshot, so a flow resumes at
the node where it was after a crash or a restart."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.define
class Frame:
    """A subflow's caller: resume ``flow`` (``version``) after node ``node``."""

    flow: str
    version: int | None
    node: str


@attrs.define
class FlowRun:
    flow: str
    version: int | None
    #: the node the flow is at: the one waiting (for an answer, a timer) or about to run
    node: str
    variables: dict[str, Any] = attrs.Factory(dict)
    #: wrong answers (or reminders sent) at the current waiting node
    retries: int = 0
    #: what the current node waits for: ``answer``, ``timer`` or ``silence``; None: nothing
    waiting: str | None = None
    #: a number that changes with every wait, so a stale timer is recognised and ignored
    token: int = 0
    loops: dict[str, int] = attrs.Factory(dict)
    stack: list[Frame] = attrs.Factory(list)
    steps: int = 0

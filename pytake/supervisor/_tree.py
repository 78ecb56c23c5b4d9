"""The supervision tree as operators see it (``GET /api/v1/ops/supervision``)."""

from __future__ import annotations

import attrs


@attrs.define
class TreeNode:
    """One node of the live supervision tree.

    ``kind`` is ``"supervisor"``, ``"service"``, ``"actor-kind"`` or ``"actor"``;
    ``state`` is a short word (``running``, ``idle``, ``backoff``, ``restarting`` ...);
    ``mailbox_depth`` is ``None`` for nodes without a mailbox.
    ``truncated`` counts children left out of ``children`` (large actor populations).
    """

    kind: str
    id: str
    state: str
    restarts: int = 0
    mailbox_depth: int | None = None
    children: list[TreeNode] = attrs.Factory(list)
    truncated: int = 0

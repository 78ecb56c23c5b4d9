"""Supervision: keep long-running trio tasks alive, in the style of Erlang/OTP.

The package is layered bottom-up; import everything from here, never from its modules:

- ``_spec``: what to run. ``ChildSpec`` (a start function and its ``Restart`` type) and
  ``Strategy`` (which siblings restart together). Plain data and decision tables.
- ``_backoff``, ``_intensity``: pure policy, no tasks. ``Backoff`` says how long to wait
  before a restart; ``Intensity`` and ``RestartWindow`` say when restarts are too many.
- ``_tree``: ``TreeNode``, the live supervision tree as operators see it.
- ``_supervisor``: ``Supervisor``, the only part that runs tasks (one nursery per supervisor,
  one cancel scope per child) and the ``SupervisorObserver`` hooks for metrics.
  ``Supervisor.as_child()`` nests supervisors; one that gives up raises
  ``pytake.errors.SupervisorEscalation``, which its parent handles like any crash.
"""

from ._backoff import Backoff
from ._intensity import Intensity, RestartWindow
from ._metrics import SupervisionMetrics
from ._spec import ChildSpec, Restart, Strategy
from ._supervisor import ChildState, Supervisor, SupervisorObserver
from ._tree import TreeNode

__all__ = [
    "Backoff",
    "ChildSpec",
    "ChildState",
    "Intensity",
    "Restart",
    "RestartWindow",
    "Strategy",
    "SupervisionMetrics",
    "Supervisor",
    "SupervisorObserver",
    "TreeNode",
]

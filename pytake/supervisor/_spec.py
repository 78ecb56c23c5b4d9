"""What a supervisor runs: child specifications, restart types and strategies.

Everything here is plain data. The rules that turn an exit into a decision live in two
small tables on the enums (``Restart.restarts_after`` and ``Strategy.affected``), so they
can be read and tested without running a task.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import attrs

from ._tree import TreeNode

T = TypeVar("T")


class Restart(enum.Enum):
    """When a child that exited is started again.

    - ``PERMANENT``: always, whether it raised or returned (a service that returns has stopped
      serving, which is as bad as a crash). Each restart counts against the intensity.
    - ``TRANSIENT``: only if it raised; returning normally means "my job is done".
    - ``TEMPORARY``: never; the child is removed from the supervisor when it exits, and also
      when a sibling's failure takes it down (one-for-all, rest-for-one).
    """

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"

    def restarts_after(self, error: BaseException | None) -> bool:
        """Whether a child of this type is restarted after exiting with ``error``.

        ``error`` is ``None`` for a normal return.
        """
        if self is Restart.PERMANENT:
            return True
        if self is Restart.TRANSIENT:
            return error is not None
        return False


class Strategy(enum.Enum):
    """Which children are restarted together when one of them has to be restarted.

    - ``ONE_FOR_ONE``: only the child that exited. Use it for independent children.
    - ``ONE_FOR_ALL``: every child; the others are stopped first, in reverse start order. Use it
      when the children only make sense together.
    - ``REST_FOR_ONE``: the child and every child started after it; those are stopped first,
      in reverse start order. Use it when later children depend on earlier ones.
    """

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"

    def affected(self, children: Sequence[T], index: int) -> list[T]:
        """The children (in start order) restarted when ``children[index]`` is."""
        if self is Strategy.ONE_FOR_ONE:
            return [children[index]]
        if self is Strategy.ONE_FOR_ALL:
            return list(children)
        return list(children[index:])


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


@attrs.frozen
class ChildSpec:
    """How to run one child of a supervisor.

    ``start`` is called as ``await start(task_status=status)`` through ``nursery.start``:
    it must call ``status.started()`` once it is ready to serve, then keep running until it
    is cancelled (a service), or return when its job is done (a ``TRANSIENT`` job). The
    supervisor starts its children one at a time, in order, each after the previous one has
    called ``started()``, so a child may rely on the children before it being up. Raising
    before ``started()`` is a crash like any other; returning before it is a normal exit.

    ``id`` is unique among the supervisor's children and names the child in logs, metrics and
    the tree. ``kind`` is the node kind shown in the tree (``"service"``, ``"supervisor"``,
    ``"actor-kind"``...).

    ``describe``, if given, renders the child's own subtree (an actor runtime lists its
    actors, a nested supervisor its children). The supervisor calls it whenever its tree is
    rendered, even while the child is down, and overrides the returned node's ``kind``,
    ``id``, ``restarts``, and its ``state`` whenever the child is not running.
    """

    id: str = attrs.field(validator=_non_empty)
    start: Callable[..., Awaitable[None]]
    restart: Restart = Restart.PERMANENT
    kind: str = "service"
    describe: Callable[[], TreeNode] | None = None

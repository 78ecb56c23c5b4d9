"""Running a handler coroutine while noticing whether it suspends.

Most handlers finish without ever waiting.  Driving the first step by hand lets the worker
pool learn, at the moment a handler really blocks (on I/O, an ``ask``, a full mailbox), that
its worker is busy, and start another worker only then.  This keeps one worker draining
thousands of quick actors without a scheduler pass per message, yet never lets blocked
handlers starve the ready queue (an actor asking another actor of its own kind would
otherwise deadlock a fixed pool).
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any


@types.coroutine
def resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Finish ``coro`` after its first step yielded ``yielded`` to the event loop.

    Equivalent to the rest of ``await coro``: values and exceptions from the loop are passed
    through unchanged, so cancellation and trio's traps work as usual.
    """
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as stop:
                return stop.value

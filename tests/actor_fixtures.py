"""Actor classes shared by the actor runtime tests."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from pytake.actors import Actor


@attrs.define
class LogState:
    applied: list[int] = attrs.Factory(list)
    total: int = 0


@attrs.frozen
class Apply:
    n: int


@attrs.frozen
class Get:
    pass


@attrs.frozen
class CrashOn:
    """Mutates the state, then crashes the first ``times`` attempts."""

    n: int
    times: int


@attrs.frozen
class Block:
    event: trio.Event = attrs.field(eq=False)


@attrs.frozen
class AskPeer:
    peer: str


@attrs.frozen
class ForwardAfter:
    """Waits for ``event``, then tells ``peer`` to apply ``n``."""

    event: trio.Event = attrs.field(eq=False)
    peer: str = ""
    n: int = 0


#: attempts per CrashOn.n, kept outside the actor (the actor's own state is rolled back)
ATTEMPTS: dict[tuple[str, int], int] = {}
INITS: list[str] = []


class LogActor(Actor[LogState]):
    kind = "log"
    state_type = LogState

    @classmethod
    def initial_state(cls, id: str) -> LogState:
        INITS.append(id)
        return LogState()

    async def receive(self, message: Any) -> Any:
        match message:
            case Apply(n):
                self.state.applied.append(n)
                self.state.total += n
                return self.state.total
            case Get():
                return list(self.state.applied)
            case CrashOn(n, times):
                self.state.applied.append(n)  # half-applied: must be rolled back on crash
                key = (self.id, n)
                ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
                if ATTEMPTS[key] <= times:
                    raise RuntimeError(f"boom on {n}")
                self.state.total += n
                return self.state.total
            case Block(event):
                await event.wait()
                return "unblocked"
            case AskPeer(peer):
                return await self.ref("log", peer).ask(Get(), timeout=10)
            case ForwardAfter(event, peer, n):
                await event.wait()
                await self.ref("log", peer).tell(Apply(n))
                return "forwarded"
        raise TypeError(f"unexpected message {message!r}")

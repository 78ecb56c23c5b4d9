"""Live agent connections: who is connected, and a bounded send queue per connection.

The registry lives outside the AgentActor on purpose: an actor that crashes is rebuilt from
its snapshot, and open sockets are not state a snapshot can hold.  The AgentActor pushes each
stored event here; every connection of that agent gets it through its own bounded queue, and
a connection whose queue is full is cut (its client resumes from its last seq) instead of
slowing the actor or the other connections.

A new connection starts *buffering*: the WebSocket handler first replays stored events after
the client's last seq, then calls :meth:`Connection.go_live`, which flushes what arrived
meanwhile without repeating anything the replay already sent.
"""

from __future__ import annotations

from typing import Any

import trio

#: Why a connection was cut, as sent in the WebSocket close frame.
SLOW_CONSUMER = "too slow: events were not read in time; reconnect with your last seq"
GOING_AWAY = "server shutting down; reconnect with your last seq"


class Connection:
    def __init__(self, agent: str, queue_size: int) -> None:
        self.agent = agent
        self.queue_size = queue_size
        self._send, self.outgoing = trio.open_memory_channel[dict[str, Any]](queue_size)
        self._buffer: list[dict[str, Any]] | None = []
        self.cut_reason: str | None = None
        #: the WebSocket close code to send when cut by `AgentSockets.disconnect`
        self.cut_code: int | None = None
        #: events up to this seq were sent by the replay; a late push of one is dropped
        self._floor = 0

    def offer(self, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        if self.cut_reason is not None or (seq is not None and seq <= self._floor):
            return
        if self._buffer is not None:
            if len(self._buffer) >= self.queue_size:
                self.cut(SLOW_CONSUMER)
            else:
                self._buffer.append(frame)
            return
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            self.cut(SLOW_CONSUMER)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    def go_live(self, replayed_through: int) -> None:
        """Switch from buffering to direct sending; events up to ``replayed_through`` were
        already sent by the replay and are dropped from the buffer."""
        buffered, self._buffer = self._buffer or [], None
        self._floor = replayed_through
        for frame in buffered:
            self.offer(frame)

    def reply(self, frame: dict[str, Any]) -> None:
        """Queue a command answer (no seq) behind the events already queued."""
        if self._buffer is not None:
            self._buffer.append(frame)
        else:
            self.offer(frame)

    def cut(self, reason: str, code: int | None = None) -> None:
        if self.cut_reason is None:
            self.cut_reason = reason
            self.cut_code = code
            self._send.close()


class AgentSockets:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._by_agent: dict[str, set[Connection]] = {}

    def open(self, agent: str) -> Connection:
        conn = Connection(agent, self.queue_size)
        self._by_agent.setdefault(agent, set()).add(conn)
        return conn

    def close(self, conn: Connection) -> None:
        conns = self._by_agent.get(conn.agent)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_agent[conn.agent]
        conn.cut("closed")

    def close_all(self, reason: str = GOING_AWAY) -> None:
        """Cut every connection (the server is stopping): each is closed with ``reason``."""
        for conns in list(self._by_agent.values()):
            for conn in list(conns):
                conn.cut(reason)

    def disconnect(self, agent: str, code: int, reason: str) -> int:
        """Cut every connection of ``agent`` on this node (its account was deactivated or its
        role changed): each is closed with ``code`` and ``reason``.  Returns how many."""
        conns = list(self._by_agent.get(agent, ()))
        for conn in conns:
            conn.cut(reason, code)
        return len(conns)

    def count(self, agent: str) -> int:
        return len(self._by_agent.get(agent, ()))

    def connected_agents(self) -> list[str]:
        return list(self._by_agent)

    def push(self, agent: str, frame: dict[str, Any]) -> None:
        for conn in list(self._by_agent.get(agent, ())):
            conn.offer(frame)

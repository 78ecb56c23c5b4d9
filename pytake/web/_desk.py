"""The agent desk: a command from an agent client (WebSocket frame or REST body) → the actor
message that carries it out → a :class:`CommandResult`.

Commands name conversations by their row id (``conversation_id``); the desk finds the actor.
Accepting and declining go to the team's queue (which holds the offer), everything else to
the conversation, which checks that the agent owns it (or is a supervisor).  Bad input is a
refused command with a reason, never an exception out of here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ..actors import Router
from ..agents import AgentDirectory
from ..contracts import (
    AcceptOffer,
    AddNote,
    CommandResult,
    ConversationView,
    DeclineOffer,
    GetConversation,
    GetQueueStats,
    MarkRead,
    OfferAnswer,
    ReassignConversation,
    ResolveConversation,
    SendReply,
    SetLabels,
    SetPresence,
    SetPriority,
    Transfer,
)
from ..conversations import ConversationDirectory
from ..errors import ActorError, CommandRefused, StorageUnavailable
from ..queues import TeamDirectory
from ._permissions import COMMAND_PERMISSIONS, allowed

#: How long a command may take before the client is told to retry.
COMMAND_TIMEOUT = 10.0




class ConversationNotFound(CommandRefused):
    """The command names a conversation that does not exist."""


def _field(frame: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    value = frame.get(name, default)
    if value is ...:
        raise CommandRefused(f"{name} is required")
    # bool is an int to Python, never to a client.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise CommandRefused(f"{name} must be {_TYPE_NAMES.get(kind, kind.__name__)}")
    return value


_TYPE_NAMES = {int: "an integer", str: "a string", dict: "an object"}


def _strings(frame: dict[str, Any], name: str) -> tuple[str, ...]:
    value = frame.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CommandRefused(f"{name} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def _optional_id(frame: dict[str, Any], name: str) -> str | None:
    value = frame.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise CommandRefused(f"{name} must be an id")
    return str(value)


class AgentDesk:
    def __init__(
        self,
        router: Router,
        conversations: ConversationDirectory,
        teams: TeamDirectory,
        agents: AgentDirectory,
    ) -> None:
        self._router = router
        self._conversations = conversations
        self._teams = teams
        self._agents = agents
        self._handlers: dict[str, Callable[[str, str, dict[str, Any]],
                                           Awaitable[CommandResult]]] = {
            "accept": self._accept,
            "decline": self._decline,
            "send": self._send,
            "note": self._note,
            "label": self._label,
            "priority": self._priority,
            "transfer": self._transfer,
            "assign": self._assign,
            "resolve": self._resolve,
            "mark_read": self._mark_read,
            "typing": self._typing,
            "presence": self._presence,
            "queue_stats": self._queue_stats,
        }

    @property
    def commands(self) -> list[str]:
        return sorted(self._handlers)

    async def execute(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        handler = self._handlers.get(str(frame.get("type")))
        if handler is None:
            return CommandResult(
                False, f"unknown command {frame.get('type')!r}; one of {', '.join(self.commands)}",
                code="invalid",
            )
        needed = COMMAND_PERMISSIONS[str(frame.get("type"))]
        if not allowed(role, needed):
            return CommandResult(False, f"{frame.get('type')} needs permission {needed}, "
                                        f"which role {role} does not have", code="forbidden")
        try:
            return await handler(agent, role, frame)
        except ConversationNotFound as exc:
            return CommandResult(False, str(exc), code="not_found")
        except CommandRefused as exc:
            return CommandResult(False, str(exc), code="invalid")
        except StorageUnavailable as exc:
            return CommandResult(False, f"storage unavailable ({exc}); try again",
                                 code="unavailable")
        except (ActorError, TimeoutError) as exc:
            return CommandResult(False, f"busy ({exc}); try again", code="unavailable")

    async def conversation_key(self, conversation_id: int) -> str | None:
        return await self._conversations.key_for(conversation_id)

    async def team_exists(self, team: str) -> bool:
        return (await self._teams.profile(int(team))).exists

    # --- helpers -----------------------------------------------------------------------------

    async def _check_agent(self, agent: str) -> None:
        if not (await self._agents.profile(int(agent))).exists:
            raise ConversationNotFound(f"no active user {agent}")

    async def _key(self, frame: dict[str, Any]) -> str:
        conversation_id = _field(frame, "conversation_id", int)
        key = await self._conversations.key_for(conversation_id)
        if key is None:
            raise ConversationNotFound(f"no conversation {conversation_id}")
        return key

    async def _ask(self, key: str, message: Any) -> CommandResult:
        result = await self._router.ask("conversation", key, message, timeout=COMMAND_TIMEOUT)
        assert isinstance(result, CommandResult)
        return result

    async def _view(self, key: str) -> ConversationView:
        view = await self._router.ask("conversation", key, GetConversation(),
                                      timeout=COMMAND_TIMEOUT)
        assert isinstance(view, ConversationView)
        return view

    # --- commands ----------------------------------------------------------------------------

    async def _accept(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        return await self._offer(agent, frame, accept=True)

    async def _decline(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        return await self._offer(agent, frame, accept=False)

    async def _offer(self, agent: str, frame: dict[str, Any], *, accept: bool) -> CommandResult:
        key = await self._key(frame)
        view = await self._view(key)
        if view.owner != "offered" or view.agent != agent or view.team is None:
            return CommandResult(False, "this conversation is not offered to you (too late?)")
        if not accept:
            await self._router.tell("queue", view.team, DeclineOffer(key, agent))
            return CommandResult(True)
        answer = await self._router.ask("queue", view.team, AcceptOffer(key, agent),
                                        timeout=COMMAND_TIMEOUT)
        assert isinstance(answer, OfferAnswer)
        if not answer.accepted:
            return CommandResult(False, answer.reason)
        return CommandResult(True, data={"conversation_id": view.conversation_id})

    async def _send(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        content = _field(frame, "content", dict)
        key = frame.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 100):
            raise CommandRefused("idempotency_key must be a string of 1 to 100 characters")
        return await self._ask(await self._key(frame), SendReply(agent, role, content, key))

    async def _note(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        text = _field(frame, "text", str)
        return await self._ask(await self._key(frame), AddNote(agent, role, text))

    async def _label(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        add, remove = _strings(frame, "add"), _strings(frame, "remove")
        return await self._ask(await self._key(frame), SetLabels(agent, role, add, remove))

    async def _priority(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        priority = _field(frame, "priority", int)
        if not -100 <= priority <= 100:
            raise CommandRefused("priority must be between -100 and 100")
        return await self._ask(await self._key(frame), SetPriority(agent, role, priority))

    async def _transfer(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        team, to_agent = _optional_id(frame, "team"), _optional_id(frame, "agent")
        note = _field(frame, "note", str, "")
        if team is None and to_agent is None:
            raise CommandRefused("transfer needs team or agent")
        if team is not None and not await self.team_exists(team):
            raise ConversationNotFound(f"no team {team}")
        if to_agent is not None:
            await self._check_agent(to_agent)
        return await self._ask(await self._key(frame), Transfer(agent, role, team, to_agent, note))

    async def _assign(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        to_agent = _optional_id(frame, "agent")
        if to_agent is None:
            raise CommandRefused("agent is required")
        team = _optional_id(frame, "team")
        await self._check_agent(to_agent)
        return await self._ask(await self._key(frame),
                               ReassignConversation(agent, role, to_agent, team))

    async def _resolve(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        return await self._ask(await self._key(frame), ResolveConversation(agent, role))

    async def _mark_read(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        return await self._ask(await self._key(frame), MarkRead(agent, role))

    async def _typing(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        return await self._ask(await self._key(frame), MarkRead(agent, role, typing=True))

    async def _presence(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        status = _field(frame, "status", str)
        if status not in ("online", "away"):
            raise CommandRefused("status must be online or away")
        await self._router.tell("agent", agent, SetPresence(status))
        return CommandResult(True, data={"status": status})

    async def _queue_stats(self, agent: str, role: str, frame: dict[str, Any]) -> CommandResult:
        team = _optional_id(frame, "team")
        if team is None:
            raise CommandRefused("team is required")
        if not await self.team_exists(team):
            raise ConversationNotFound(f"no team {team}")
        if role not in ("admin", "supervisor") and team not in (
            await self._agents.profile(int(agent))
        ).teams:
            return CommandResult(False, f"you are not in team {team}", code="forbidden")
        stats = await self._router.ask("queue", team, GetQueueStats(), timeout=COMMAND_TIMEOUT)
        return CommandResult(True, data=attrs.asdict(stats))

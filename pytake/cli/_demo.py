"""``pytake demo``: simulated customers writing to a running PyTake, to watch in the desk.

Meant for the server ``make run`` starts (``pytake serve --demo`` on 127.0.0.1:8000). In order,
each step saying what it did in a line:

1. it checks that the server answers (``/readyz``), serves the Cloud API stand-in on
   ``--port`` and checks that the server accepts the webhooks it signs (demo mode's secrets,
   `pytake.cli._demo_mode`);
2. with the database's own credentials, as ``pytake users create`` (whoever holds them
   administers the installation), it makes the demo admin ``demo-admin@pytake.local`` and the
   demo agent ``agent@pytake.local``, or gives them back, each with a new random password on
   every run;
3. over the server's REST API, signed in as that admin (so the running server knows of every
   change at once), it creates the team ``Demo`` and every team the example flows hand off to,
   makes the agent a member of each, imports and publishes the example flows the server does
   not have, and sets the live settings ``flows_default`` (``triage``) and
   ``routing_default_team`` (``Demo``);
4. then customers arrive, one every ``--every`` seconds: each greets, answers the bot's menu,
   and writes again now and then (and answers an agent), one printed line per event, until
   ``--duration`` ends or Ctrl+C; a summary follows.

docs/demo.md tells the story around it.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import secrets
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from pytake.cli._common import CommandError, add_database_options, command_settings
from pytake.cli._demo_mode import (
    DEMO_ACCESS_TOKEN,
    DEMO_APP_SECRET,
    DEMO_SERVER,
    DEMO_STANDIN_PORT,
    pytake_command,
)

if TYPE_CHECKING:
    import httpx

    from pytake.cli._common import Subcommands
    from pytake.identity import UserAdmin, UserInfo
    from pytake.standins.whatsapp import (
        CloudApiStandIn,
        Customer,
        CustomerSimulator,
        SentRequest,
    )

ADMIN_EMAIL: Final = "demo-admin@pytake.local"
AGENT_EMAIL: Final = "agent@pytake.local"
_ADMIN_NAME: Final = "Demo Admin"
_AGENT_NAME: Final = "Demo Agent"
#: The team of the conversations no flow hands off (``routing_default_team``).
DEMO_TEAM: Final = "Demo"
#: The example flows the demo publishes (``examples/flows/<name>.json``), and the one the
#: bot answers with.
DEMO_FLOWS: Final = ("boleto", "triage")
DEMO_FLOW: Final = "triage"
#: Conversations the demo agent may hold at once in each team.
AGENT_CAPACITY: Final = 5

# Customers.  Brazilian names, and text with what real customers type: accents, emoji,
# typographic quotes, an ellipsis.
_NAMES: Final = (
    "Ana Lima", "João Gonçalves", "Maria Antônia D\u2019Ávila", "Zé 🌵 Ribamar", "Iara Tupinambá",
    "Chloé Müller Araújo", "Thiago Nóbrega", "Conceição Brandão", "Luís Otávio Peçanha",
    "Heloísa 🌻 Castro", "Kauã Piauí", "Raimunda Nonata",
)
_AREA_CODES: Final = ("11", "21", "31", "41", "51", "61", "71", "81", "85", "92")
_GREETINGS: Final = (
    "Oi! Tudo bem? 😊", "Bom dia!! Preciso de uma ajudinha 🙏", "Olá, boa tarde… alguém aí?",
    "Boa noite! Vocês atendem agora? 🌙", "Oiê ✌️ tudo certo?", "Olá! Posso tirar uma dúvida?",
)
#: Answers to the triage menu, by the row's number: mostly plans (3) and other (4), which
#: hand off at once; sometimes support (2), which first asks what happened.
_CHOICES: Final = ("3", "4", "3", "4", "2")
_SUPPORT: Final = "2"
_PROBLEMS: Final = (
    "O aplicativo fecha sozinho quando abro o carrinho 😕",
    "Não consigo entrar: diz “senha inválida”, mas a senha está certa",
    "A fatura veio em dobro este mês ‼️",
)
_FOLLOW_UPS: Final = (
    "Alguém pode me ajudar? 🙏", "Ainda estou aguardando…",
    "Só confirmando: vocês receberam minha mensagem?", "Se ajudar, meu pedido é o nº 4821 📦",
    "Consigo resolver isso hoje ainda? ⏳",
)
_REPLIES: Final = (
    "Perfeito, obrigado! 👍", "Ah, entendi. E quanto tempo leva?", "Isso mesmo!",
    "Valeu, resolveu 😄", "Pode ser, fico no aguardo",
)
#: Seconds a customer takes to read the menu before answering it, and an agent's message.
_READING: Final = (1.0, 3.0)
_REPLYING: Final = (2.0, 5.0)
#: Seconds of silence before a customer writes again; at most so many times.
_FOLLOW_UP_AFTER: Final = (25.0, 50.0)
_MAX_FOLLOW_UPS: Final = 3
_MAX_REPLIES: Final = 3
#: Without the bot's menu this long after a greeting, the demo says what may be wrong.
_NO_ANSWER_HINT: Final = 15.0
#: How often the conversations are read back over REST (hand-offs, assignments).
_WATCH_EVERY: Final = 1.0
#: Waits between webhook retries: few and short, so a refusal is reported within seconds.
_RETRIES: Final = (0.0, 0.5, 1.0, 2.0)
#: Letters and digits that are not mistaken for one another when copied from a terminal.
_PASSWORD_ALPHABET: Final = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_DESCRIPTION = """\
Simulated WhatsApp customers for a running PyTake in demo mode, so that their
conversations arrive in the desk within seconds. It sets up what they need (demo
accounts, teams, the example flows), serves the local Cloud API stand-in in Meta's
place, and prints one line per customer event.
"""

_EPILOG = f"""\
a first look, in two terminals from the repository:
  make run                serves PyTake on http://127.0.0.1:8000, in demo mode
  .venv/bin/pytake demo   customers write; open that address and sign in as
                          {AGENT_EMAIL} with the password it prints

The demo accounts ({AGENT_EMAIL}, and {ADMIN_EMAIL} for the
admin pages) get new passwords each run. pytake demo works on the server's database
(run it where `make run` runs, or give it the server's --database-url or --config),
and the server must be in demo mode: `make run` starts it so, else `pytake serve
--demo` (with --demo-port when --port is not {DEMO_STANDIN_PORT}). See docs/demo.md.
"""


def register(subcommands: Subcommands) -> None:
    parser = subcommands.add_parser(
        "demo",
        help="simulated customers for a running PyTake, to watch in the desk",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--server", default=DEMO_SERVER, metavar="URL",
        help="the running PyTake (default %(default)s, what `make run` serves)",
    )
    parser.add_argument(
        "--port", type=int, default=DEMO_STANDIN_PORT,
        help="port of the Cloud API stand-in on 127.0.0.1 (default %(default)s; the "
        "server's --demo-port)",
    )
    parser.add_argument(
        "--customers", type=int, default=3, metavar="N",
        help="how many customers write (default %(default)s)",
    )
    parser.add_argument(
        "--every", type=float, default=15.0, metavar="SECONDS",
        help="seconds between two new customers (default %(default)g)",
    )
    parser.add_argument(
        "--duration", type=float, default=0.0, metavar="SECONDS",
        help="stop after this many seconds (default 0: run until Ctrl+C)",
    )
    add_database_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.customers < 1:
        raise CommandError(f"--customers: at least 1, got {args.customers}")
    if args.every < 0 or args.duration < 0:
        raise CommandError("--every and --duration are seconds, 0 or more")
    if not 1 <= args.port <= 65535:
        raise CommandError(f"--port: a port is between 1 and 65535, got {args.port}")
    server = args.server.strip().rstrip("/")
    if "://" not in server:
        server = f"http://{server}"
    flows = example_flows()
    database_url = command_settings(args).database_url
    _check_server(server)
    _check_database(database_url, server)
    demo = _Demo(args, server, database_url, flows)
    trio.run(demo.main)
    return 0


# -- what the demo sets up, from the example flows (pure) ----------------------------------


def new_password() -> str:
    """A random password of 14 letters and digits (about 80 bits)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(14))


def flow_teams(documents: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Every team the flows' ``handoff`` and ``team_open`` nodes name, by name, with the skills
    their hand-offs ask for."""
    teams: dict[str, set[str]] = {}
    for document in documents:
        for node in document.get("nodes", ()):
            team = node.get("team")
            if node.get("type") in ("handoff", "team_open") and isinstance(team, str):
                teams.setdefault(team, set()).update(node.get("skills") or ())
    return {team: sorted(skills) for team, skills in sorted(teams.items())}


def publish_order(documents: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The flows' names, those another one calls (``subflow``) first: publishing checks
    that a called flow exists."""
    called = {
        node.get("flow")
        for document in documents.values()
        for node in document.get("nodes", ())
        if node.get("type") == "subflow"
    }
    return sorted(documents, key=lambda name: (name not in called, name))


def describe(body: Mapping[str, Any]) -> str:
    """One line for an outbound Cloud API message: its text, a list's or buttons' options."""
    kind = str(body.get("type") or "message")
    content = body.get(kind)
    if not isinstance(content, dict):
        return f"({kind})"
    if kind == "text":
        return _short(str(content.get("body", "")))
    if kind == "interactive":
        text = _short(str((content.get("body") or {}).get("text", "")))
        action = content.get("action") or {}
        if content.get("type") == "list":
            rows = [row.get("title", "") for section in action.get("sections", ())
                    for row in section.get("rows", ())]
            return f"{text}  [{'  '.join(f'{i}. {t}' for i, t in enumerate(rows, 1))}]"
        if content.get("type") == "button":
            buttons = [b.get("reply", {}).get("title", "") for b in action.get("buttons", ())]
            return f"{text}  [{' | '.join(buttons)}]"
        return text
    if kind == "template":
        return f"(template {content.get('name', '?')})"
    caption = content.get("caption")
    return f"({kind}) {_short(str(caption))}" if caption else f"({kind})"


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


# -- checks before anything changes ----------------------------------------------------------


def say(line: str) -> None:
    """A progress line of the demo."""
    print(f"demo: {line}", flush=True)


def example_flows() -> dict[str, dict[str, Any]]:
    """The example flows' documents, by name, from the source tree's ``examples/flows``."""
    import pytake

    places = (Path(pytake.__file__).resolve().parents[1] / "examples" / "flows",
              Path.cwd() / "examples" / "flows")
    for place in places:
        files = [place / f"{name}.json" for name in DEMO_FLOWS]
        if all(file.is_file() for file in files):
            return {file.stem: json.loads(file.read_text(encoding="utf-8")) for file in files}
    names = ", ".join(f"{name}.json" for name in DEMO_FLOWS)
    raise CommandError(f"the example flows ({names}) are not in {places[0]}: "
                       "pytake demo runs from PyTake's source tree")


def _not_running(server: str) -> CommandError:
    return CommandError(f"no PyTake answers at {server}: start it with `make run` in another "
                        "terminal (from the repository), then run pytake demo again")


def _check_server(server: str) -> None:
    import httpx

    deadline = time.monotonic() + 30.0
    waiting = False
    while True:
        try:
            response = httpx.get(f"{server}/readyz", timeout=5.0, trust_env=False)
        except (httpx.HTTPError, httpx.InvalidURL):
            raise _not_running(server) from None
        if response.status_code == 200:
            say(f"PyTake answers at {server}")
            return
        if response.status_code == 503 and time.monotonic() < deadline:
            if not waiting:
                say(f"PyTake at {server} is starting; waiting until it is ready")
                waiting = True
            time.sleep(0.5)
            continue
        raise CommandError(f"{server}/readyz answered HTTP {response.status_code}: "
                           "is PyTake running there, and ready?")


def _check_database(url: str, server: str) -> None:
    """The database must be the server's: one with PyTake's current schema (checked without
    creating anything, so a wrong directory leaves no stray database behind)."""
    from pytake.store import current, describe_url, head

    revision = current(url)
    where = describe_url(url)
    if revision is None:
        raise CommandError(
            f"{where} holds no PyTake data, so it is not the database of the server at "
            f"{server}: run pytake demo in the directory where `make run` runs, or give it "
            "the server's --database-url or --config")
    if revision != head():
        raise CommandError(
            f"{where} is at schema {revision}, not {head()}: is the server at {server} "
            "this version of PyTake? (`pytake db upgrade` migrates the database)")


# -- the demo accounts, in the database ----------------------------------------------------


@attrs.frozen
class DemoAccounts:
    """The demo's two users, with the passwords this run gave them."""

    admin_password: str
    agent_password: str
    agent_id: int


async def _account(admin: UserAdmin, existing: UserInfo | None, email: str, name: str,
                   role: str, password: str) -> UserInfo:
    """Create the user, or give an existing one back (active, with ``password``)."""
    if existing is None:
        user = await admin.identity.create_user(email, name, role, password)
        say(f"demo {role} {email}: created")
        return user
    if not existing.active:
        await admin.update(existing.id, active=True)
    # A one-time token redeemed at once: sets this password, and signs out old sessions.
    credential = await admin.reset_password(existing.id, "link")
    assert credential.token is not None
    user = await admin.redeem(credential.token, password)
    say(f"demo {role} {email}: exists; new password set")
    return user


async def _accounts(database_url: str) -> DemoAccounts:
    from pytake.identity import IdentityService, UserAdmin
    from pytake.store import Database

    admin_password, agent_password = new_password(), new_password()
    async with Database(database_url, max_threads=2) as db:
        # No token is signed here, so any key does.
        admin = UserAdmin(IdentityService(db, secrets.token_urlsafe(48)))
        users = {user.email: user for user in await admin.identity.list_users()}
        await _account(admin, users.get(ADMIN_EMAIL), ADMIN_EMAIL, _ADMIN_NAME, "admin",
                       admin_password)
        agent = await _account(admin, users.get(AGENT_EMAIL), AGENT_EMAIL, _AGENT_NAME,
                               "agent", agent_password)
    return DemoAccounts(admin_password, agent_password, agent.id)


# -- the server's REST API -------------------------------------------------------------------


def _problem(response: httpx.Response) -> str:
    """What a refusal says: its ``error`` and first ``problems``, else the start of its text."""
    try:
        body = response.json()
    except ValueError:
        return _short(response.text, 200) or response.reason_phrase
    if not isinstance(body, dict):
        return _short(response.text, 200)
    problems = body.get("problems") or []
    first = f" ({problems[0].get('path')}: {problems[0].get('message')})" if problems else ""
    return f"{body.get('error') or body.get('detail') or response.reason_phrase}{first}"


class _Api:
    """The server's REST API, signed in as the demo admin (again, when the token expires)."""

    def __init__(self, client: httpx.AsyncClient, email: str, password: str,
                 database: str) -> None:
        self.client = client
        self.email = email
        self.password = password
        #: The database the password was set in (`describe_url`), to name when it is refused.
        self.database = database
        self.headers: dict[str, str] = {}

    async def sign_in(self) -> None:
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": self.email, "password": self.password})
        if response.status_code == 401:
            raise CommandError(
                f"the server refused the demo admin's new password ({_problem(response)}): it "
                f"does not use {self.database}. Run pytake demo in the directory where `make run` "
                "runs, or give it the server's --database-url or --config")
        if response.status_code != 200:
            raise CommandError(f"signing in as {self.email}: HTTP {response.status_code}: "
                               f"{_problem(response)}")
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def call(self, method: str, path: str, *, json: Any = None,
                   params: Mapping[str, Any] | None = None) -> httpx.Response:
        response = await self.client.request(
            method, path, json=json, params=params, headers=self.headers)
        if response.status_code == 401:  # the access token expired: sign in again, once
            await self.sign_in()
            response = await self.client.request(
                method, path, json=json, params=params, headers=self.headers)
        return response

    async def expect(self, method: str, path: str, *, doing: str, json: Any = None,
                     ok: tuple[int, ...] = (200,)) -> Any:
        response = await self.call(method, path, json=json)
        if response.status_code not in ok:
            raise CommandError(f"{doing}: HTTP {response.status_code}: {_problem(response)}")
        return response.json() if response.content else None


async def _teams(api: _Api, accounts: DemoAccounts, flows: Mapping[str, Any]) -> dict[int, str]:
    """Create the demo's teams and make the agent a member of each; their names by id."""
    wanted: dict[str, list[str]] = {DEMO_TEAM: [], **flow_teams(flows.values())}

    async def existing() -> dict[str, dict[str, Any]]:
        listed = await api.expect("GET", "/api/v1/teams", doing="listing the teams")
        return {team["name"].casefold(): team for team in listed["teams"]}

    known = await existing()
    names: dict[int, str] = {}
    for name, skills in wanted.items():
        team = known.get(name.casefold())
        verb = "exists"
        if team is None:
            response = await api.call("POST", "/api/v1/teams", json={"name": name})
            if response.status_code == 201:
                team, verb = response.json(), "created"
            elif response.status_code == 409:  # created meanwhile
                team = (await existing())[name.casefold()]
            else:
                raise CommandError(f"creating the team {name}: HTTP {response.status_code}: "
                                   f"{_problem(response)}")
        await api.expect(
            "PUT", f"/api/v1/teams/{team['id']}/members/{accounts.agent_id}",
            json={"max_concurrent": AGENT_CAPACITY, "skills": skills}, ok=(200, 201),
            doing=f"adding {AGENT_EMAIL} to the team {name}")
        with_skills = f", skills {', '.join(skills)}" if skills else ""
        say(f"team {team['name']}: {verb}; {AGENT_EMAIL} is a member (up to {AGENT_CAPACITY} "
            f"conversations{with_skills})")
        names[team["id"]] = team["name"]
    return names


async def _flows(api: _Api, flows: Mapping[str, dict[str, Any]]) -> None:
    """Import and publish the example flows the server does not have published."""
    listed = await api.expect("GET", "/api/v1/flows", doing="listing the flows")
    known = {flow["name"]: flow for flow in listed["flows"]}
    for name in publish_order(flows):
        flow = known.get(name)
        if flow is not None and flow.get("published_version"):
            say(f"flow {name}: published already (version {flow['published_version']})")
            continue
        if flow is None or flow.get("draft_version") is None:
            await api.expect("POST", "/api/v1/flows", json=flows[name], ok=(201,),
                             doing=f"importing the flow {name}")
            how = "imported from examples/flows and published"
        else:
            how = "published (the server had it as a draft)"
        published = await api.expect("POST", f"/api/v1/flows/{name}/publish",
                                     doing=f"publishing the flow {name}")
        say(f"flow {name}: {how} (version {published['version']})")


async def _settings(api: _Api) -> None:
    await api.expect("PATCH", "/api/v1/settings",
                     json={"flows_default": DEMO_FLOW, "routing_default_team": DEMO_TEAM},
                     doing="setting flows_default and routing_default_team")
    say(f"live settings: flows_default = {DEMO_FLOW} (the bot answers with it), "
        f"routing_default_team = {DEMO_TEAM}")


# -- the customers -------------------------------------------------------------------------


@attrs.define(eq=False)
class _Person:
    """A simulated customer, and what the demo knows of their conversation."""

    customer: Customer
    inbox: trio.MemorySendChannel[SentRequest]
    messages: trio.MemoryReceiveChannel[SentRequest]
    conversation_id: int = 0
    owner: str | None = None
    team_id: int | None = None
    agent_id: int | None = None
    offered: bool = False
    resolved: bool = False
    wrote: int = 0
    answers: int = 0

    @property
    def name(self) -> str:
        return self.customer.name


def _not_in_demo_mode(server: str) -> CommandError:
    return CommandError(
        f"the server at {server} refused the demo's signed webhook (HTTP 401): it is not in "
        "demo mode. Stop it and start it with `make run` (without "
        "PYTAKE_WHATSAPP_ACCESS_TOKEN set), or with `pytake serve --demo`")


class _Demo:
    """One run of ``pytake demo``: the stand-in, the set-up, the customers, the summary."""

    #: Set once the server is set up, before the first customer.
    api: _Api
    sim: CustomerSimulator

    def __init__(self, args: argparse.Namespace, server: str, database_url: str,
                 flows: dict[str, dict[str, Any]]) -> None:
        from pytake.store import describe_url

        self.server = server
        self.database = describe_url(database_url)
        self.database_url = database_url
        self.flows = flows
        self.port: int = args.port
        self.customers: int = args.customers
        self.every: float = args.every
        self.duration: float = args.duration
        self.rng = random.Random()
        #: The customers, in order of arrival, and by wa_id and BSUID.
        self.everyone: list[_Person] = []
        self.people: dict[str, _Person] = {}
        self.handoffs: Counter[str] = Counter()
        self.teams: dict[int, str] = {}
        self.agents: dict[int, str] = {}
        self.accounts: DemoAccounts | None = None
        #: When the customers started to arrive; ``None`` before.
        self.started: float | None = None
        self.hinted = False
        self._names: list[str] = []

    # -- the run ----------------------------------------------------------------------------

    async def main(self) -> None:
        import httpx

        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_signals, stop, nursery.cancel_scope)
            try:
                await self._run(stop)
            except* httpx.TransportError as group:
                raise CommandError(f"the server at {self.server} stopped answering "
                                   f"({group.exceptions[0]!r})") from None
            finally:
                # Also on a second Ctrl+C, which cancels everything: what happened so far.
                if self.started is not None:
                    self._summary(time.monotonic() - self.started)
            nursery.cancel_scope.cancel()

    async def _run(self, stop: trio.Event) -> None:
        import httpx

        from pytake.standins.whatsapp import Business, CustomerSimulator, RetryPolicy

        webhook = f"{self.server}/webhooks/whatsapp"
        async with self._standin() as standin, httpx.AsyncClient(
                base_url=self.server, timeout=10.0, trust_env=False) as client:
            say(f"Cloud API stand-in on {standin.base_url} (token {DEMO_ACCESS_TOKEN}), "
                f"sending webhooks to {webhook}")
            simulator = CustomerSimulator(
                webhook, DEMO_APP_SECRET, customers=[], business=Business(), standin=standin,
                retry=RetryPolicy(_RETRIES), client=client)
            await self._check_demo_mode(simulator)
            self.accounts = await _accounts(self.database_url)
            self.agents[self.accounts.agent_id] = _AGENT_NAME
            self.api = _Api(client, ADMIN_EMAIL, self.accounts.admin_password, self.database)
            await self.api.sign_in()
            say(f"signed in to the REST API as {ADMIN_EMAIL}")
            self.teams = await _teams(self.api, self.accounts, self.flows)
            await _flows(self.api, self.flows)
            await _settings(self.api)
            self._sign_in_advice()
            every = f", one every {self.every:g} s" if self.customers > 1 else ""
            until = f"for {self.duration:g} s" if self.duration else "until Ctrl+C"
            say(f"{self.customers} customer{'s' if self.customers > 1 else ''}{every}, "
                f"{until}:")
            self.started = time.monotonic()
            async with simulator:
                self.sim = simulator
                with trio.move_on_after(self.duration or math.inf):
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._relay, standin)
                        nursery.start_soon(self._watch_conversations)
                        nursery.start_soon(self._arrivals, nursery)
                        await stop.wait()
                        nursery.cancel_scope.cancel()

    @asynccontextmanager
    async def _standin(self) -> AsyncIterator[CloudApiStandIn]:
        from pytake.standins.whatsapp import CloudApiStandIn, serve_standin

        standin = CloudApiStandIn(token=DEMO_ACCESS_TOKEN)
        done = trio.Event()
        async with trio.open_nursery() as nursery:
            try:
                urls: list[str] = await nursery.start(functools.partial(
                    serve_standin, standin, "127.0.0.1", self.port, shutdown_trigger=done.wait))
            except* OSError as group:
                error: BaseException = group
                while isinstance(error, BaseExceptionGroup):
                    error = error.exceptions[0]
                reason = getattr(error, "strerror", None) or str(error)
                raise CommandError(
                    f"cannot serve the Cloud API stand-in on 127.0.0.1:{self.port}: {reason} "
                    "(is another pytake demo running? --port picks another port, and the "
                    "server's --demo-port must match)") from None
            standin.base_url = urls[0]
            try:
                yield standin
            finally:
                done.set()

    async def _check_demo_mode(self, simulator: CustomerSimulator) -> None:
        """Before anything changes: the server takes webhooks signed with the demo's secret
        (a notification with no change in it, which PyTake stores and finds nothing in)."""
        body, headers = simulator.signed_request({
            "object": "whatsapp_business_account",
            "entry": [{"id": simulator.business.waba_id, "changes": []}],
        })
        response = await simulator.client.post(simulator.target, content=body, headers=headers)
        if response.status_code == 401:
            raise _not_in_demo_mode(self.server)
        if response.status_code != 200:
            raise CommandError(f"the server's webhook answered HTTP {response.status_code}: "
                               f"{_problem(response)}")
        say(f"the server takes the demo's signed webhooks (demo mode, app secret "
            f"{DEMO_APP_SECRET})")

    def _sign_in_advice(self) -> None:
        accounts = self.accounts
        if accounts is None:
            return
        say(f"open {self.server} and sign in as {AGENT_EMAIL} with the password "
            f"{accounts.agent_password}")
        say(f"  the customers' conversations arrive in the desk; for the admin pages sign in as "
            f"{ADMIN_EMAIL} with the password {accounts.admin_password}")
        say(f"  (demo accounts: each run of `{pytake_command()} demo` gives them new passwords)")

    def _summary(self, elapsed: float) -> None:
        people = self.everyone
        wrote = sum(p.wrote for p in people)
        answers = sum(p.answers for p in people)
        handed = ", ".join(f"{team} {n}" for team, n in sorted(self.handoffs.items()))
        say(f"stopped after {_duration(elapsed)}: {len(people)} "
            f"customer{'' if len(people) == 1 else 's'} wrote {wrote} message"
            f"{'' if wrote == 1 else 's'} and got {answers} answer{'' if answers == 1 else 's'}"
            f"; handed to teams: {handed or 'none yet'}")
        say("the stand-in is closed; the conversations stay on the server, in the desk")
        self._sign_in_advice()

    async def _watch_signals(self, stop: trio.Event, force: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                if stop.is_set():
                    force.cancel()
                    return
                if sys.stdout.isatty():
                    print(flush=True)  # past the ^C the terminal echoed
                say("stopping (Ctrl+C again to stop at once)")
                stop.set()

    # -- customers arrive and live ----------------------------------------------------------

    def event(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)

    def _new_person(self, n: int) -> _Person:
        from pytake.standins.whatsapp import Customer, SentRequest

        if n % len(_NAMES) == 0:
            self._names = self.rng.sample(_NAMES, len(_NAMES))
        name = self._names[n % len(_NAMES)]
        if n >= len(_NAMES):
            name = f"{name} {n // len(_NAMES) + 1}"
        while True:
            wa_id = f"55{self.rng.choice(_AREA_CODES)}9{self.rng.randrange(10**8):08d}"
            if wa_id not in self.people:
                break
        send, receive = trio.open_memory_channel[SentRequest](math.inf)
        person = _Person(Customer(wa_id=wa_id, name=name), send, receive)
        self.everyone.append(person)
        self.people[wa_id] = self.people[person.customer.user_id] = person
        return person

    async def _arrivals(self, nursery: trio.Nursery) -> None:
        for n in range(self.customers):
            if n:
                await trio.sleep(self.every)
            nursery.start_soon(self._life, self._new_person(n))

    async def _life(self, person: _Person) -> None:
        rng = self.rng
        await self._write(person, rng.choice(_GREETINGS))
        menu = await self._expect(person, lambda r: r.type == "interactive", _NO_ANSWER_HINT)
        if menu is None:
            self._hint_no_answer(person)
            await self._expect(person, lambda r: r.type == "interactive", math.inf)
        await trio.sleep(rng.uniform(*_READING))
        choice = rng.choice(_CHOICES)
        await self._write(person, choice)
        asked = choice == _SUPPORT and await self._expect(  # the bot asks what happened
            person, lambda r: r.type == "text", 30.0) is not None
        if asked:
            await trio.sleep(rng.uniform(*_READING))
            await self._write(person, rng.choice(_PROBLEMS))
        # Then, until the conversation is resolved: an agent's message is answered, a long
        # silence followed up (a few times each).
        follow_ups = replies = 0
        while not person.resolved:
            record = None
            with trio.move_on_after(rng.uniform(*_FOLLOW_UP_AFTER)):
                record = await person.messages.receive()
            if person.resolved:
                break
            if record is None and follow_ups < _MAX_FOLLOW_UPS:
                follow_ups += 1
                await self._write(person, rng.choice(_FOLLOW_UPS))
            elif record is not None and person.owner == "assigned" and replies < _MAX_REPLIES:
                replies += 1
                await trio.sleep(rng.uniform(*_REPLYING))
                await self._write(person, rng.choice(_REPLIES))

    async def _expect(self, person: _Person, wanted: Callable[[SentRequest], bool],
                      timeout: float) -> SentRequest | None:
        """The next message to ``person`` that is ``wanted`` (others are passed over), or
        ``None`` after ``timeout`` seconds."""
        with trio.move_on_after(timeout):
            while True:
                record = await person.messages.receive()
                if wanted(record):
                    return record
        return None

    def _hint_no_answer(self, person: _Person) -> None:
        if self.hinted:
            return
        self.hinted = True
        port = "" if self.port == DEMO_STANDIN_PORT else f" --demo-port {self.port}"
        self.event(f"no menu from the bot to {person.name} after {_NO_ANSWER_HINT:g} s: is "
                   f"the server in demo mode with its stand-in on port {self.port} (`make "
                   f"run`, or `pytake serve --demo{port}`)? Still waiting.")

    async def _write(self, person: _Person, text: str) -> None:
        from pytake.standins.whatsapp import DeliveryFailed

        self.event(f"{person.name} wrote: {text}")
        try:
            await self.sim.send_text(person.customer, text)
        except DeliveryFailed as exc:
            if exc.status == 401:
                raise _not_in_demo_mode(self.server) from None
            self.event(f"{person.name}'s message did not reach the server: {exc}")
            return
        person.wrote += 1

    async def _relay(self, standin: CloudApiStandIn) -> None:
        """Every message the server sends through the stand-in: printed, and handed to its
        customer."""
        seen = len(standin.sent)
        while True:
            await standin.wait_for_more(seen)
            records, seen = standin.sent[seen:], len(standin.sent)
            for record in records:
                person = self.people.get(record.wa_id or record.user_id)
                if record.is_read_receipt or person is None:
                    continue
                person.answers += 1
                # Assigned: the agent writes; before, the bot (and the queue's notices).
                who = "agent" if person.owner == "assigned" else "bot"
                self.event(f"{who} answered {person.name}: {describe(record.body)}")
                person.inbox.send_nowait(record)

    # -- what happens to the conversations, read back over REST ---------------------------

    async def _watch_conversations(self) -> None:
        import httpx

        while True:
            await trio.sleep(_WATCH_EVERY)
            try:
                response = await self.api.call("GET", "/api/v1/conversations",
                                               params={"limit": 100})
                if response.status_code != 200:
                    continue
                for conversation in response.json()["conversations"]:
                    customer = conversation.get("customer") or {}
                    person = self.people.get(str(customer.get("wa_id")))
                    if person is not None and conversation["id"] >= person.conversation_id:
                        await self._follow(person, conversation)
            except httpx.TransportError:
                continue  # the server restarting: the customers' lines say more
            except CommandError as exc:  # signed out for good (another pytake demo?)
                self.event(f"no longer reading the conversations back: {exc}")
                return

    async def _follow(self, person: _Person, conversation: dict[str, Any]) -> None:
        if conversation["id"] > person.conversation_id:  # a new one (the last was resolved)
            person.conversation_id = conversation["id"]
            person.owner = person.team_id = person.agent_id = None
            person.offered = person.resolved = False
        owner, team_id = conversation["owner"], conversation["team_id"]
        agent_id = conversation["assigned_agent_id"]
        if conversation["status"] == "resolved" or owner == "resolved":
            if not person.resolved:
                person.resolved = True
                self.event(f"{person.name}'s conversation resolved")
            person.owner = "resolved"
            return
        if owner != "flow" and team_id is not None and team_id != person.team_id:
            team = await self._team_name(team_id)
            if person.team_id is None:
                self.handoffs[team] += 1
                self.event(f"{person.name} handed to {team}")
            else:
                self.event(f"{person.name} transferred to {team}")
            person.team_id = team_id
        if owner == "offered" and not person.offered:
            person.offered = True
            self.event(f"{person.name} offered to an agent: accept it in the desk")
        if owner == "assigned" and agent_id is not None and agent_id != person.agent_id:
            self.event(f"{person.name} assigned to {await self._agent_name(agent_id)}")
        person.owner, person.agent_id = owner, agent_id

    async def _team_name(self, team_id: int) -> str:
        if team_id not in self.teams:
            response = await self.api.call("GET", f"/api/v1/teams/{team_id}")
            if response.status_code == 200:
                self.teams[team_id] = response.json()["name"]
        return self.teams.get(team_id, f"team {team_id}")

    async def _agent_name(self, agent_id: int) -> str:
        if agent_id not in self.agents:
            response = await self.api.call("GET", "/api/v1/agents")
            if response.status_code == 200:
                self.agents |= {a["id"]: a["name"] for a in response.json()["agents"]}
        return self.agents.get(agent_id, f"agent {agent_id}")

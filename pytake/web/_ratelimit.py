"""Rate limits at the edge: per client address and per user, by route class (docs/auth.md,
"Rate limits").

Each request falls in one class; each class has a budget per client address and (once the
caller's token names a user) one per user, counted in fixed windows of ``rate_limit_window``
seconds that start at a key's first request:

=================  ==========================================  =========================
class              what                                        budgets
=================  ==========================================  =========================
``sign-in``        the ``public:sign-in`` routes (login,       per address
                   refresh, logout)
``read``           other REST routes, GET / HEAD / OPTIONS     per address, per user
``write``          other REST routes, any other method         per address, per user
``socket-connect`` an agent socket handshake                   per address, per user
``socket-command`` a command on an open agent socket           per user
=================  ==========================================  =========================

Never limited: the WhatsApp webhook (served in front of Quart, see ``_webhook``; Meta retries,
and the inbox's backpressure protects it), health checks and ``/metrics`` (probes and scrapers
have their own controls).  Over budget, an HTTP request answers 429 with ``Retry-After``, a
socket handshake is refused with that same 429, and a socket command is ``rejected`` with code
``rate_limited`` and ``retry_after`` (the socket stays open).  Every limited answer, refused or
not, carries ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` and
``RateLimit-Policy`` (draft-ietf-httpapi-ratelimit-headers-07) for its tightest budget.

The counters are `pytake.store.RateCounters`: shared through Redis when the engine has one
(every node sees one budget), in process otherwise or while Redis is down.  The client's
address is the direct peer's, or, when that peer is one of ``trusted_proxies``, the nearest
address in ``X-Forwarded-For`` that is not a trusted proxy.  Per-account sign-in back-off is
`pytake.identity.LoginLimiter`'s; this module reports each sign-in's outcome to it.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import logging
import math
from collections.abc import Iterable
from typing import Any, Final

import attrs
from quart import Response, current_app, g, request, websocket
from quart_trio import QuartTrio

from pytake.config import Settings
from pytake.identity import AuthError, IdentityService
from pytake.store import MemoryRateCounters, RateCounters, RedisConnection, RedisRateCounters
from pytake.web._errors import problem
from pytake.web._permissions import DECLARED, Open
from pytake.web._webhook import PATH as WEBHOOK_PATH

__all__ = [
    "RATE_LIMITS_EXTENSION",
    "Decision",
    "RateLimits",
    "RouteClass",
    "command_refusal",
    "install_rate_limits",
]

log = logging.getLogger("pytake.web.ratelimit")

#: ``app.extensions`` key of the app's `RateLimits`.
RATE_LIMITS_EXTENSION: Final = "pytake.rate_limits"

_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
#: Routes whose callers have controls of their own (probes, scrapers with a token).
_EXEMPT: Final = frozenset({Open.HEALTH, Open.SCRAPE})
_LOGIN_ENDPOINT: Final = "auth.login"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RouteClass(enum.StrEnum):
    SIGN_IN = "sign-in"
    READ = "read"
    WRITE = "write"
    SOCKET_CONNECT = "socket-connect"
    SOCKET_COMMAND = "socket-command"


class Scope(enum.StrEnum):
    IP = "ip"
    USER = "user"


@attrs.frozen
class Decision:
    """The outcome for the tightest budget a request was counted against."""

    allowed: bool
    limit: int
    remaining: int
    #: seconds until that budget's window ends
    reset: float
    window: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset))

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset)),
            "RateLimit-Policy": f"{self.limit};w={math.ceil(self.window)}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _networks(text: str) -> tuple[Network, ...]:
    parts = (part.strip() for part in text.split(","))
    return tuple(ipaddress.ip_network(part, strict=False) for part in parts if part)


class RateLimits:
    """The budgets (``budgets[(class, scope)]``, 0 or absent: unlimited), the counters and the
    trusted proxies; `check` counts a request and decides."""

    def __init__(
        self,
        counters: RateCounters,
        budgets: dict[tuple[RouteClass, Scope], int],
        *,
        window: float = 60.0,
        trusted_proxies: Iterable[Network] = (),
    ) -> None:
        self.counters = counters
        self.budgets = {key: limit for key, limit in budgets.items() if limit > 0}
        self.window = window
        self.trusted_proxies = tuple(trusted_proxies)

    @classmethod
    def from_settings(cls, settings: Settings, redis: RedisConnection | None) -> RateLimits:
        counters: RateCounters = (
            MemoryRateCounters() if redis is None else RedisRateCounters(redis)
        )
        s = settings
        return cls(
            counters,
            {
                (RouteClass.SIGN_IN, Scope.IP): s.rate_limit_sign_in_per_ip,
                (RouteClass.READ, Scope.IP): s.rate_limit_reads_per_ip,
                (RouteClass.READ, Scope.USER): s.rate_limit_reads_per_user,
                (RouteClass.WRITE, Scope.IP): s.rate_limit_writes_per_ip,
                (RouteClass.WRITE, Scope.USER): s.rate_limit_writes_per_user,
                (RouteClass.SOCKET_CONNECT, Scope.IP): s.rate_limit_socket_connects_per_ip,
                (RouteClass.SOCKET_CONNECT, Scope.USER): s.rate_limit_socket_connects_per_user,
                (RouteClass.SOCKET_COMMAND, Scope.USER): s.rate_limit_socket_commands_per_user,
            },
            window=s.rate_limit_window,
            trusted_proxies=_networks(s.trusted_proxies),
        )

    def _trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted_proxies)

    def client_ip(self, peer: str | None, forwarded_for: Iterable[str] = ()) -> str:
        """The client's address: ``peer``, unless ``peer`` is a trusted proxy; then the
        nearest ``X-Forwarded-For`` hop (read right to left) that is not a trusted proxy.

        Only trusted hops are believed: anything left of the first untrusted one was written
        by the client itself, and a malformed hop ends the walk where it stands."""
        client = peer or "unknown"
        if not self.trusted_proxies:
            return client
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return client
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
        while self._trusted(address) and hops:
            try:
                address = ipaddress.ip_address(hops.pop())
            except ValueError:
                break
            client = str(address)
        return client

    async def check(self, route: RouteClass, ip: str | None, user: int | None) -> Decision | None:
        """Count one request of ``route`` by ``ip`` (and ``user``, if known); ``None`` when no
        budget applies.  Every applicable budget is counted, the tightest one decides."""
        tightest: Decision | None = None
        for scope, who in ((Scope.IP, ip), (Scope.USER, user)):
            limit = self.budgets.get((route, scope))
            if not limit or who is None:
                continue
            seen = await self.counters.hit(f"{route}:{scope}:{who}", self.window)
            decision = Decision(
                allowed=seen.count <= limit,
                limit=limit,
                remaining=max(0, limit - seen.count),
                reset=seen.reset,
                window=self.window,
            )
            if tightest is None or _tighter(decision, tightest):
                tightest = decision
        return tightest


def _tighter(a: Decision, b: Decision) -> bool:
    if a.allowed != b.allowed:
        return not a.allowed
    if not a.allowed:  # both refused: the one that ends last is what the client waits for
        return a.reset > b.reset
    return a.remaining < b.remaining


def route_class(declared: object, method: str, path: str) -> RouteClass | None:
    """The class of a request to a view that declared ``declared``; ``None``: not limited.

    Requests that match no route (404, 405) count as reads or writes too, so that scanning
    for routes is limited like using them."""
    if path == WEBHOOK_PATH or declared in _EXEMPT:
        return None
    if declared is Open.SIGN_IN:
        return RouteClass.SIGN_IN
    return RouteClass.READ if method in _READ_METHODS else RouteClass.WRITE


def _user_of(identity: IdentityService | None, token: str) -> int | None:
    """The user a bearer token names, if it is valid.  An invalid token is counted by address
    only; the route refuses it anyway."""
    if identity is None or not token.strip():
        return None
    try:
        return identity.verify_access(token.strip()).user_id
    except AuthError:
        return None


def _bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value if scheme.lower() == "bearer" else ""


def _refused(decision: Decision, what: str) -> Response:
    return problem(
        429,
        f"too many {what}, retry in {decision.retry_after} s",
        code="rate_limited",
        headers=decision.headers(),
    )


async def command_refusal(user_id: int) -> dict[str, Any] | None:
    """For the agent socket: ``None`` if ``user_id`` may run one more command now, else the
    ``rejected`` frame's members (``code`` ``rate_limited``, ``retry_after`` in seconds)."""
    limits: RateLimits | None = current_app.extensions.get(RATE_LIMITS_EXTENSION)
    if limits is None:
        return None
    decision = await limits.check(RouteClass.SOCKET_COMMAND, None, user_id)
    if decision is None or decision.allowed:
        return None
    return {
        "code": "rate_limited",
        "reason": f"too many commands, retry in {decision.retry_after} s",
        "retry_after": decision.retry_after,
    }


def install_rate_limits(app: QuartTrio, engine: Any) -> RateLimits | None:
    """Limit ``app``'s requests and socket handshakes as ``engine.settings`` say, counting in
    ``engine.redis`` when it has one.  Nothing to do for an engine without settings."""
    settings: Settings | None = getattr(engine, "settings", None)
    if not isinstance(settings, Settings):
        return None
    limits = RateLimits.from_settings(settings, getattr(engine, "redis", None))
    app.extensions[RATE_LIMITS_EXTENSION] = limits

    def identity() -> IdentityService | None:
        return getattr(engine, "identity", None)

    @app.before_request
    async def _limit_request() -> Response | None:
        view = app.view_functions.get(request.endpoint or "")
        route = route_class(getattr(view, DECLARED, None), request.method, request.path)
        if route is None:
            return None
        ip = limits.client_ip(request.remote_addr, request.headers.getlist("X-Forwarded-For"))
        user = None
        if route is not RouteClass.SIGN_IN:
            user = _user_of(identity(), _bearer(request.headers.get("Authorization", "")))
        decision = await limits.check(route, ip, user)
        g.rate_limit = decision
        if decision is not None and not decision.allowed:
            log.info("rate limited: %s %s from %s (user %s)", request.method, request.path,
                     ip, user)
            return _refused(decision, "requests" if route is not RouteClass.SIGN_IN
                            else "sign-in requests")
        return None

    @app.after_request
    async def _rate_limit_headers(response: Response) -> Response:
        decision: Decision | None = g.get("rate_limit")
        if decision is not None:
            response.headers.update(decision.headers())
        if request.endpoint == _LOGIN_ENDPOINT and response.status_code in (200, 401):
            await _sign_in_outcome(identity(), response.status_code == 200)
        return response

    @app.before_websocket
    async def _limit_handshake() -> Response | None:
        ip = limits.client_ip(websocket.remote_addr, websocket.headers.getlist("X-Forwarded-For"))
        token = websocket.args.get("token", "")
        token = token or _bearer(websocket.headers.get("Authorization", ""))
        decision = await limits.check(RouteClass.SOCKET_CONNECT, ip, _user_of(identity(), token))
        if decision is not None and not decision.allowed:
            log.info("agent socket handshake rate limited from %s", ip)
            # Refused before the handshake completes: an HTTP 429 the client can read.
            return _refused(decision, "socket connections")
        return None

    return limits


async def _sign_in_outcome(identity: IdentityService | None, succeeded: bool) -> None:
    """Tell the sign-in limiter how a sign-in went, for its per-account back-off."""
    if identity is None:
        return
    try:
        body = json.loads(await request.get_data(as_text=False))
    except ValueError:
        return
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return
    if succeeded:
        identity.login_limiter.succeeded(email)
    else:
        identity.login_limiter.failed(email)


def client_address() -> str | None:
    """The current request's client address as the rate limits see it: the peer, or the
    client a trusted proxy names in ``X-Forwarded-For`` (``trusted_proxies``)."""
    limits: RateLimits | None = current_app.extensions.get(RATE_LIMITS_EXTENSION)
    if limits is None:
        return request.remote_addr
    return limits.client_ip(request.remote_addr, request.headers.getlist("X-Forwarded-For"))

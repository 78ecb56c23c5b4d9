"""The users API over real HTTP on loopback, on PostgreSQL and SQLite: invitations, pages,
roles, deactivation, resets, one's own name and password, the last active admin, and the
agent socket of a deactivated user closing within a second."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.identity import IdentityService, UserAdmin
from pytake.store import UserRole, upgrade
from pytake.web import create_app

from ._support import brief, serving

PASSWORD = "correct horse battery staple"
SECRET = "u" * 48


@pytest.fixture(params=["postgresql", "sqlite"])
def fresh_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of this test's own: "no other active admin" must mean it."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    url: str = request.getfixturevalue("empty_pg_url")
    upgrade(url)
    yield url


@attrs.define
class Site:
    engine: Engine
    client: httpx.AsyncClient
    admin: dict[str, str]
    admin_id: int

    async def sign_in(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.client.post("/api/v1/auth/login",
                                          json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def user(self, role: str = "agent") -> tuple[int, str, dict[str, str], str]:
        """A new user: (id, email, headers of a fresh sign-in, its refresh token)."""
        email = f"{role}-{secrets.token_hex(4)}@example.com"
        user = await self.engine.identity.create_user(email, role.title(), role, PASSWORD)
        pair = await self.sign_in(email)
        return (user.id, email, {"Authorization": f"Bearer {pair['access_token']}"},
                pair["refresh_token"])


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


@pytest.fixture
async def site(fresh_url: str) -> AsyncIterator[Site]:
    settings = load_settings(environ={"PYTAKE_DATABASE_URL": fresh_url,
                                      "PYTAKE_SECRET_KEY": SECRET})
    engine = Engine(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        email = f"admin-{secrets.token_hex(4)}@example.com"
        user = await engine.identity.create_user(email, "Admin", UserRole.ADMIN, PASSWORD)
        async with serving(create_app(engine)) as client:
            site = Site(engine, client, {}, user.id)
            site.admin = bearer(await site.sign_in(email))
            yield site
        await engine.aclose()
        nursery.cancel_scope.cancel()


def invalid(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert "error" in brief(response) and body["code"] == "invalid" and body["field"] == field, body


async def test_invite_with_a_link_then_a_temporary_password(site: Site) -> None:
    c = site.client
    response = await c.post("/api/v1/users", headers=site.admin, json={
        "email": "Ana@Example.com", "name": "Ana", "role": "agent"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert body["user"]["email"] == "ana@example.com" and body["user"]["role"] == "agent"
    assert body["delivery"] == "link" and "temporary_password" not in body
    assert response.headers["location"] == f"/api/v1/users/{body['user']['id']}"
    token = body["set_password_token"]
    assert len(token) >= 40 and body["expires_at"]
    # Weak password: refused naming the field, the token not spent.
    invalid(await c.post("/api/v1/auth/set-password",
                         json={"token": token, "password": "password"}), "password")
    response = await c.post("/api/v1/auth/set-password",
                            json={"token": token, "password": "ana's own passphrase"})
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]
    me = await c.get("/api/v1/auth/me", headers=bearer(response.json()))
    assert me.json()["email"] == "ana@example.com"
    # A token works once.
    invalid(await c.post("/api/v1/auth/set-password",
                         json={"token": token, "password": "another passphrase"}), "token")
    invalid(await c.post("/api/v1/auth/set-password",
                         json={"token": "made-up", "password": "another passphrase"}), "token")
    await site.sign_in("ana@example.com", "ana's own passphrase")

    response = await c.post("/api/v1/users", headers=site.admin, json={
        "email": "bo@example.com", "name": "Bo", "role": "supervisor",
        "delivery": "password"})
    assert response.status_code == 201
    temporary = response.json()["temporary_password"]
    assert "set_password_token" not in response.json()
    pair = await site.sign_in("bo@example.com", temporary)
    assert (await c.get("/api/v1/auth/me", headers=bearer(pair))).json()["role"] == "supervisor"

    # The same email again (in any case): 409.
    taken = await c.post("/api/v1/users", headers=site.admin, json={
        "email": "ANA@example.com", "name": "Ana 2", "role": "agent"})
    assert taken.status_code == 409 and brief(taken)["code"] == "email_taken"
    assert taken.json()["field"] == "email"


async def test_bad_input_names_the_field(site: Site) -> None:
    c, h = site.client, site.admin
    good = {"email": "x@example.com", "name": "X", "role": "agent"}
    for body, field in [
        ({**good, "role": "boss"}, "role"),
        ({**good, "email": "not-an-email"}, "email"),
        ({**good, "name": "   "}, "name"),
        ({**good, "name": 7}, "name"),
        ({**good, "delivery": "pigeon"}, "delivery"),
        ({**good, "password": "chosen by admin"}, "password"),
        ({"email": "x@example.com", "role": "agent"}, "name"),
    ]:
        invalid(await c.post("/api/v1/users", headers=h, json=body), field)
    invalid(await c.patch(f"/api/v1/users/{site.admin_id}", headers=h,
                          json={"active": "no"}), "active")
    invalid(await c.patch(f"/api/v1/users/{site.admin_id}", headers=h,
                          json={"role": "root"}), "role")
    invalid(await c.patch("/api/v1/users/me", headers=h, json={}), "name")
    not_json = await c.post("/api/v1/users", headers=h, content=b"{")
    assert not_json.status_code == 400
    for method, path in [("GET", "/api/v1/users/424242"),
                         ("PATCH", "/api/v1/users/424242"),
                         ("POST", "/api/v1/users/424242/deactivate"),
                         ("POST", "/api/v1/users/424242/reactivate"),
                         ("POST", "/api/v1/users/424242/reset-password"),
                         ("GET", "/api/v1/users/99999999999999999999999")]:
        response = await c.request(method, path, headers=h,
                                   json={"name": "N"} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert brief(response)["code"] in ("user_not_found", "not_found")
    for query in ("cursor=%%%", "cursor=dTk5eA", "limit=0", "limit=x", "role=boss",
                  "active=maybe"):
        response = await c.get(f"/api/v1/users?{query}", headers=h)
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"


async def test_list_pages_through_every_user_once(site: Site) -> None:
    ids = {site.admin_id}
    for n in range(5):
        ids.add((await site.user("agent" if n % 2 else "supervisor"))[0])
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = await site.client.get(f"/api/v1/users?{query}", headers=site.admin)
        assert response.status_code == 200
        page = response.json()
        assert len(page["users"]) <= 2
        seen += [u["id"] for u in page["users"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids) and pages == 3
    agents = await site.client.get("/api/v1/users?role=agent&active=true", headers=site.admin)
    assert {u["role"] for u in agents.json()["users"]} == {"agent"}
    assert len(agents.json()["users"]) == 2
    one = await site.client.get(f"/api/v1/users/{site.admin_id}", headers=site.admin)
    assert one.json()["role"] == "admin" and one.json()["active"] is True
    # Only admins manage users.
    _, _, agent, _ = await site.user("agent")
    assert (await site.client.get("/api/v1/users", headers=agent)).status_code == 403


async def _closed_within(url: str, seconds: float, act: Any) -> tuple[int, str]:
    """Connect an agent socket, run ``act``, and return the close frame that follows
    within ``seconds``."""
    async with open_websocket_url(url) as ws:
        assert '"welcome"' in await ws.get_message()
        await act()
        with trio.fail_after(seconds):
            try:
                while True:
                    await ws.get_message()
            except ConnectionClosed as closed:
                return closed.reason.code, closed.reason.reason or ""
    raise AssertionError("unreachable")


async def test_deactivation_cuts_tokens_sessions_and_the_socket(site: Site) -> None:
    c = site.client
    user_id, email, headers, refresh = await site.user("agent")
    assert (await c.get("/api/v1/auth/me", headers=headers)).status_code == 200
    base = str(c.base_url).replace("http://", "ws://")
    token = headers["Authorization"].removeprefix("Bearer ")
    deactivated: list[httpx.Response] = []

    async def deactivate() -> None:
        deactivated.append(await c.post(f"/api/v1/users/{user_id}/deactivate",
                                        headers=site.admin))

    code, reason = await _closed_within(f"{base}/ws/agent?token={token}", 1.0, deactivate)
    assert code == 4401 and reason.startswith("account_inactive"), (code, reason)
    assert deactivated[0].status_code == 200 and deactivated[0].json()["active"] is False
    with trio.fail_after(1.0):
        while (response := await c.get("/api/v1/auth/me", headers=headers)).status_code == 200:
            await trio.sleep(0.05)
    assert response.status_code == 401 and brief(response)["code"] == "account_inactive"
    refreshed = await c.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert refreshed.status_code == 401
    assert brief(refreshed)["code"] in ("refresh_token_revoked", "account_inactive")
    login = await c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert brief(login)["code"] == "account_inactive"
    # A deactivated user cannot even open a socket.
    with pytest.raises(ConnectionClosed) as refused:
        async with open_websocket_url(f"{base}/ws/agent?token={token}") as ws:
            await ws.get_message()
    assert refused.value.reason.code == 4401

    response = await c.post(f"/api/v1/users/{user_id}/reactivate", headers=site.admin)
    assert response.status_code == 200 and response.json()["active"] is True
    await site.sign_in(email)


async def test_a_deactivation_on_another_node_closes_the_socket_too(site: Site) -> None:
    user_id, _, headers, _ = await site.user("agent")
    base = str(site.client.base_url).replace("http://", "ws://")
    token = headers["Authorization"].removeprefix("Bearer ")
    # Another node (or the CLI): its own service over the same database, so nothing on
    # this node is told; the socket's periodic check must notice.
    other = UserAdmin(IdentityService(site.engine.db, SECRET))

    async def deactivate() -> None:
        await other.update(user_id, active=False)

    started = trio.current_time()
    code, reason = await _closed_within(f"{base}/ws/agent?token={token}", 2.0, deactivate)
    assert code == 4401 and reason.startswith("account_inactive")
    assert trio.current_time() - started < 2.5


async def test_a_role_change_ends_the_old_role_and_its_sessions(site: Site) -> None:
    c = site.client
    user_id, email, headers, refresh = await site.user("supervisor")
    base = str(c.base_url).replace("http://", "ws://")
    token = headers["Authorization"].removeprefix("Bearer ")
    changed: list[httpx.Response] = []

    async def demote() -> None:
        changed.append(await c.patch(f"/api/v1/users/{user_id}", headers=site.admin,
                                     json={"role": "agent", "name": "Demoted"}))

    code, reason = await _closed_within(f"{base}/ws/agent?token={token}", 1.0, demote)
    assert code == 4401 and reason.startswith("role_changed")
    assert changed[0].json()["role"] == "agent" and changed[0].json()["name"] == "Demoted"
    response = await c.get("/api/v1/ops/supervision", headers=headers)
    assert response.status_code == 401 and brief(response)["code"] == "role_changed"
    refreshed = await c.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert refreshed.status_code == 401
    pair = await site.sign_in(email)
    assert (await c.get("/api/v1/ops/supervision", headers=bearer(pair))).status_code == 403


async def test_the_last_active_admin_stays(site: Site) -> None:
    c, h, me = site.client, site.admin, site.admin_id
    for method, path, body in [
        ("POST", f"/api/v1/users/{me}/deactivate", None),
        ("PATCH", f"/api/v1/users/{me}", {"role": "supervisor"}),
        ("PATCH", f"/api/v1/users/{me}", {"active": False}),
    ]:
        response = await c.request(method, path, headers=h, json=body)
        assert response.status_code == 409, response.text
        assert brief(response)["code"] == "last_admin"
    assert (await c.get("/api/v1/auth/me", headers=h)).json()["role"] == "admin"
    # An inactive admin does not count.
    other_id, _, _, _ = await site.user("admin")
    response = await c.post(f"/api/v1/users/{other_id}/deactivate", headers=h)
    assert response.status_code == 200
    response = await c.patch(f"/api/v1/users/{me}", headers=h, json={"role": "agent"})
    assert response.status_code == 409
    # With a second active admin, stepping down is allowed; the old token loses its role.
    await c.post(f"/api/v1/users/{other_id}/reactivate", headers=h)
    response = await c.patch(f"/api/v1/users/{me}", headers=h, json={"role": "agent"})
    assert response.status_code == 200 and response.json()["role"] == "agent"
    response = await c.get("/api/v1/users", headers=h)
    assert response.status_code == 401 and brief(response)["code"] == "role_changed"


async def test_reset_password_by_link_and_by_temporary_password(site: Site) -> None:
    c = site.client
    user_id, email, _headers, refresh = await site.user("agent")
    response = await c.post(f"/api/v1/users/{user_id}/reset-password", headers=site.admin)
    assert response.status_code == 200 and response.json()["delivery"] == "link"
    token = response.json()["set_password_token"]
    # The old password and every session are gone at once.
    login = await c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401
    assert (await c.post("/api/v1/auth/refresh",
                         json={"refresh_token": refresh})).status_code == 401
    # A newer reset makes the older link useless.
    response = await c.post(f"/api/v1/users/{user_id}/reset-password", headers=site.admin,
                            json={"delivery": "password"})
    temporary = response.json()["temporary_password"]
    invalid(await c.post("/api/v1/auth/set-password",
                         json={"token": token, "password": "a fresh passphrase"}), "token")
    await site.sign_in(email, temporary)
    response = await c.post(f"/api/v1/users/{user_id}/reset-password", headers=site.admin,
                            json={"delivery": "link"})
    response = await c.post("/api/v1/auth/set-password", json={
        "token": response.json()["set_password_token"], "password": "a fresh passphrase"})
    assert response.status_code == 200
    await site.sign_in(email, "a fresh passphrase")


async def test_users_change_their_own_name_and_password(site: Site) -> None:
    c = site.client
    _, email, headers, refresh = await site.user("agent")
    response = await c.patch("/api/v1/users/me", headers=headers, json={"name": "  New  Name "})
    assert response.status_code == 200 and response.json()["name"] == "New Name"
    assert (await c.get("/api/v1/auth/me", headers=headers)).json()["name"] == "New Name"
    # An agent may not use the admin's route to change its role.
    response = await c.patch("/api/v1/users/me", headers=headers, json={"role": "admin"})
    invalid(response, "role")
    path = "/api/v1/users/me/password"
    invalid(await c.post(path, headers=headers, json={
        "current_password": "wrong guess here", "new_password": "a new passphrase"}),
        "current_password")
    invalid(await c.post(path, headers=headers, json={
        "current_password": PASSWORD, "new_password": "12345678"}), "new_password")
    invalid(await c.post(path, headers=headers, json={"current_password": PASSWORD}),
            "new_password")
    response = await c.post(path, headers=headers, json={
        "current_password": PASSWORD, "new_password": "a new passphrase"})
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] and response.headers["cache-control"] == "no-store"
    # The other sessions are over; the old password no longer signs in.
    assert (await c.post("/api/v1/auth/refresh",
                         json={"refresh_token": refresh})).status_code == 401
    login = await c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401
    await site.sign_in(email, "a new passphrase")


async def test_ids_beyond_64_bits_are_refused_not_crashed_on(site: Site) -> None:
    c = site.client
    huge = 2**63
    # The shape of the cursors the API hands out (base64 of a JSON position), one id too far.
    cursor = base64.urlsafe_b64encode(f"[{huge}]".encode()).rstrip(b"=").decode()
    listing = await c.get("/api/v1/users", headers=site.admin, params={"cursor": cursor})
    assert listing.status_code == 400, listing.text
    canned = await c.get("/api/v1/canned-responses", headers=site.admin,
                         params={"team": str(huge)})
    assert canned.status_code == 400 and "team" in brief(canned)["error"], canned.text
    created = await c.post("/api/v1/canned-responses", headers=site.admin, json={
        "team_id": huge, "shortcut": "oi", "title": "Oi", "text": "Olá!"})
    assert created.status_code == 422 and created.json()["field"] == "team_id", created.text


async def test_canned_responses_by_team_for_agents_managed_by_admins(site: Site) -> None:
    c = site.client
    agent_id, _, agent, _ = await site.user("agent")
    teams = []
    for name in (f"vendas-{secrets.token_hex(3)}", f"suporte-{secrets.token_hex(3)}"):
        created = await c.post("/api/v1/teams", headers=site.admin, json={"name": name})
        assert created.status_code == 201, created.text
        teams.append(created.json()["id"])
    joined = await c.put(f"/api/v1/teams/{teams[0]}/members/{agent_id}", headers=site.admin,
                         json={})
    assert joined.status_code in (200, 201), joined.text

    body = {"team_id": teams[0], "shortcut": "/Saudação", "title": "Saudação 👋",
            "text": "Olá! Em que posso ajudar?\u200d"}
    made = await c.post("/api/v1/canned-responses", headers=site.admin, json=body)
    assert made.status_code == 201, made.text
    row = made.json()
    assert row["shortcut"] == "saudação" and row["text"] == body["text"]
    again = await c.post("/api/v1/canned-responses", headers=site.admin,
                         json={**body, "shortcut": "SAUDAÇÃO"})
    assert again.status_code == 409 and again.json()["field"] == "shortcut", again.text
    other = await c.post("/api/v1/canned-responses", headers=site.admin,
                         json={**body, "team_id": teams[1]})
    assert other.status_code == 201, other.text

    # The agent reads their team's responses only, and may not change them.
    seen = await c.get("/api/v1/canned-responses", headers=agent, params={"shortcut": "/sau"})
    assert seen.status_code == 200, seen.text
    assert [r["id"] for r in seen.json()["canned_responses"]] == [row["id"]]
    hidden = await c.get(f"/api/v1/canned-responses/{other.json()['id']}", headers=agent)
    assert hidden.status_code == 404
    refused = await c.patch(f"/api/v1/canned-responses/{row['id']}", headers=agent,
                            json={"title": "x"})
    assert refused.status_code == 403

    changed = await c.patch(f"/api/v1/canned-responses/{row['id']}", headers=site.admin,
                            json={"title": "Bom dia"})
    assert changed.status_code == 200 and changed.json()["title"] == "Bom dia", changed.text
    gone = await c.delete(f"/api/v1/canned-responses/{row['id']}", headers=site.admin)
    assert gone.status_code == 204
    after = await c.get(f"/api/v1/canned-responses/{row['id']}", headers=site.admin)
    assert after.status_code == 404

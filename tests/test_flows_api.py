"""The flows REST API over real HTTP on loopback, against PostgreSQL and a real engine:
drafts, validation (every problem at once), publishing and rollback, roles, the simulator on
the example flows, and the metrics on seeded ``flow_executions`` rows.

PostgreSQL is shared by the whole test run: every test names its flows uniquely.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.orm import Session

from pytake.config import load_settings
from pytake.engine import Engine
from pytake.flowrun import BadSimulation, parse_messages, parse_stubs, publish
from pytake.flows import flow_schema
from pytake.store import (
    AuditLog,
    Conversation,
    ConversationEvent,
    Customer,
    FlowExecution,
    FlowVersion,
)
from pytake.store import Flow as FlowRecord
from pytake.web import create_app, create_flows_blueprint

from ._support import serving
from .flow_support import EXAMPLE_TEAMS, ensure_teams, example
from .test_auth_http import PASSWORD, FakeClock, bearer, make_identity

VALID_CPF = "529.982.247-25"
DIGITABLE = "23790.12345 60000.000003 00000.000008 1 96610000012345"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def flows_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    """The triage and boleto examples under unique ids, triage calling that boleto."""
    triage, boleto = example("triage"), example("boleto")
    triage["id"], boleto["id"] = unique("triage"), unique("boleto")
    for node in triage["nodes"]:
        if node["type"] == "subflow":
            node["flow"] = boleto["id"]
    return triage, boleto


# --- the app under test ----------------------------------------------------------------------


@attrs.define
class Api:
    engine: Engine
    client: httpx.AsyncClient

    async def user(self, role: str) -> dict[str, str]:
        """A new user of ``role``, signed in: its Authorization header."""
        email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
        await self.engine.identity.create_user(email, role.title(), role, PASSWORD)
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return bearer(response.json()["access_token"])

    async def post(self, path: str, headers: dict[str, str], body: Any = None,
                   ) -> httpx.Response:
        return await self.client.post(path, headers=headers, json=body)

    async def get(self, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=headers, params=params)


@asynccontextmanager
async def flows_api(url: str) -> AsyncIterator[Api]:
    engine = Engine(load_settings(environ={"PYTAKE_DATABASE_URL": url}))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        try:
            engine.identity = make_identity(engine.db, FakeClock(datetime.now(UTC).timestamp()))
            await engine.db.run(ensure_teams, EXAMPLE_TEAMS)
            app = create_app(engine)
            if "flows_api" not in app.blueprints:  # until create_app registers it
                app.register_blueprint(create_flows_blueprint(
                    engine.db, engine.flows, engine.modules.node_types, engine.modules))
            async with serving(app) as client:
                yield Api(engine, client)
        finally:
            await engine.aclose()
            nursery.cancel_scope.cancel()


@pytest.fixture
async def api(pg_url: str) -> AsyncIterator[Api]:
    async with flows_api(pg_url) as api:
        yield api


def broken(name: str) -> dict[str, Any]:
    """A document with seven problems of six kinds."""
    return {
        "format": 1, "id": name, "name": "Broken", "start": "nowhere",
        "nodes": [
            {"id": "menu", "type": "send_buttons", "text": "Escolha",
             "buttons": [{"id": "a", "title": "x" * 25}]},
            {"id": "slip", "type": "call_module", "module": "nope", "action": "x"},
            {"id": "done", "type": "end", "buton": 1},
        ],
        "edges": [{"from": "menu", "on": "a", "to": "ghost"}],
    }


# --- drafts, validation, publishing, rollback ------------------------------------------------


async def test_validate_reports_every_problem_at_once(api: Api) -> None:
    admin = await api.user("admin")
    response = await api.post("/api/v1/flows/validate", admin, broken(unique("broken")))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["valid"] is False
    codes = [p["code"] for p in answer["problems"]]
    assert codes == ["bad_start", "whatsapp_limit", "unknown_module", "missing_outcome",
                     "missing_outcome", "unknown_field", "dangling_edge"]
    paths = {p["path"] for p in answer["problems"]}
    assert {"start", "nodes[0].buttons[0].title", "nodes[2].buton", "edges[0].to"} <= paths
    assert all(p["message"] for p in answer["problems"])

    response = await api.post("/api/v1/flows/validate", admin, example("boleto"))
    assert response.json() == {"valid": True, "problems": []}
    # Not JSON, not an object: 400.
    response = await api.client.post("/api/v1/flows/validate", headers=admin, content=b"[1]")
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


async def test_drafts_publish_and_rollback(api: Api) -> None:
    admin = await api.user("admin")
    triage, _ = flows_pair()
    name = triage["id"]

    # An invalid draft is stored, with its problems.
    response = await api.post("/api/v1/flows", admin, broken(name))
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["name"] == name and draft["version"] == 1 and draft["status"] == "draft"
    assert draft["valid"] is False and len(draft["problems"]) == 7

    # Publishing it answers 422 with every problem; nothing changes.
    response = await api.post(f"/api/v1/flows/{name}/publish", admin)
    assert response.status_code == 422, response.text
    refused = response.json()
    assert refused["code"] == "invalid_flow"
    assert [p["code"] for p in refused["problems"]] == [p["code"] for p in draft["problems"]]
    assert await api.engine.flows.load(name) is None

    # Replacing the draft keeps its number; now it publishes.
    response = await api.client.put(f"/api/v1/flows/{name}/draft", headers=admin, json=triage)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": name, "version": 1, "status": "draft", "valid": True,
                               "problems": []}
    response = await api.post(f"/api/v1/flows/{name}/publish", admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": name, "version": 1, "status": "published",
                               "archived": None}
    stored = await api.engine.flows.load(name)
    assert stored is not None and stored.flow.version == 1

    # Nothing left to publish; an unknown flow is 404.
    response = await api.post(f"/api/v1/flows/{name}/publish", admin)
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    response = await api.post(f"/api/v1/flows/{unique('ghost')}/publish", admin)
    assert response.status_code == 404 and response.json()["code"] == "not_found"

    # Version 2 (PUT creates a draft when there is none), published by number.
    second = copy.deepcopy(triage)
    second["nodes"][0]["text"] = "Olá! Versão 2."
    response = await api.client.put(f"/api/v1/flows/{name}/draft", headers=admin, json=second)
    assert response.status_code == 201 and response.json()["version"] == 2
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"version": 2})
    assert response.json() == {"name": name, "version": 2, "status": "published",
                               "archived": 1}
    stored = await api.engine.flows.load(name)  # the library sees the new version at once
    assert stored is not None and stored.flow.version == 2
    assert stored.flow.start_node.text == "Olá! Versão 2."

    response = await api.get(f"/api/v1/flows/{name}", admin)
    detail = response.json()
    assert detail["published_version"] == 2 and detail["draft_version"] is None
    assert [(v["version"], v["status"]) for v in detail["versions"]] == [
        (1, "archived"), (2, "published")]
    response = await api.get("/api/v1/flows", admin)
    (listed,) = [f for f in response.json()["flows"] if f["name"] == name]
    assert listed["published_version"] == 2 and listed["latest_version"] == 2
    assert listed["title"] == "Triagem do atendimento"
    assert listed["description"].startswith("Greets the customer")
    assert listed["updated_at"]

    # Rollback: version 1 is published again, 2 archived; once more: nothing older.
    response = await api.post(f"/api/v1/flows/{name}/rollback", admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"name": name, "version": 1, "status": "published",
                               "archived": 2}
    stored = await api.engine.flows.load(name)
    assert stored is not None and stored.flow.version == 1
    response = await api.post(f"/api/v1/flows/{name}/rollback", admin)
    assert response.status_code == 409
    # Forward again by publishing version 2 by number.
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"version": 2})
    assert response.json()["archived"] == 1
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"version": 2})
    assert response.status_code == 409  # already published

    # The document of a version, with its number.
    response = await api.get(f"/api/v1/flows/{name}/versions/2", admin)
    version = response.json()
    assert version["status"] == "published" and version["document"]["version"] == 2
    assert version["document"]["nodes"][0]["text"] == "Olá! Versão 2."
    response = await api.get(f"/api/v1/flows/{name}/versions/9", admin)
    assert response.status_code == 404

    def audit(session: Session) -> list[str]:
        return list(session.scalars(
            sa.select(AuditLog.action).where(AuditLog.target_type == "flow",
                                             AuditLog.target_id == name)
            .order_by(AuditLog.id)))

    assert await api.engine.db.run(audit) == [
        "flow.save_draft", "flow.save_draft", "flow.publish", "flow.save_draft",
        "flow.publish", "flow.rollback", "flow.publish"]


async def test_publishing_a_share_splits_traffic_until_a_version_is_published(
        api: Api) -> None:
    admin = await api.user("admin")
    triage, _ = flows_pair()
    name = triage["id"]
    await api.post("/api/v1/flows", admin, triage)
    # Nothing published yet: a share has nothing to split with.
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"share": 0.3})
    assert response.status_code == 409, response.text
    assert "publish a version first" in response.json()["error"]
    assert (await api.post(f"/api/v1/flows/{name}/publish", admin)).status_code == 200

    second = copy.deepcopy(triage)
    second["nodes"][0]["text"] = "Olá! Versão 2."
    await api.client.put(f"/api/v1/flows/{name}/draft", headers=admin, json=second)
    for share, field in ((1.5, "share"), (0, "share"), (True, "share"), ("0.2", "share"),
                         (None, "colour")):
        body = {"share": share} if share is not None else {"colour": "red"}
        response = await api.post(f"/api/v1/flows/{name}/publish", admin, body)
        assert response.status_code == 400, (share, response.text)
        assert field in response.json()["error"]
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"share": 0.3})
    assert response.status_code == 200, response.text
    assert response.json() == {"name": name, "version": 2, "status": "candidate",
                               "share": 0.3, "archived": None}
    detail = (await api.get(f"/api/v1/flows/{name}", admin)).json()
    assert (detail["candidate_version"], detail["candidate_share"]) == (2, 0.3)
    keys = [f"conversation-{n}" for n in range(400)]
    chosen = [await api.engine.flows.start_version(name, key) for key in keys]
    assert 0.2 < chosen.count(2) / len(keys) < 0.4
    assert set(chosen) == {2, None}

    # A broken draft cannot take a share, and the split stays as it was.
    await api.post("/api/v1/flows", admin, broken(name))
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"share": 0.5})
    assert response.status_code == 422 and response.json()["code"] == "invalid_flow"
    detail = (await api.get(f"/api/v1/flows/{name}", admin)).json()
    assert (detail["candidate_version"], detail["candidate_share"]) == (2, 0.3)

    # Publishing the candidate ends the split.
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"version": 2})
    assert response.json()["status"] == "published"
    detail = (await api.get(f"/api/v1/flows/{name}", admin)).json()
    assert detail["candidate_version"] is None


async def test_the_flow_schema_is_served_to_those_who_read_flows(api: Api) -> None:
    response = await api.get("/api/v1/flow-schema", await api.user("supervisor"))
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema == flow_schema()
    assert "send_buttons" in response.text and "handoff" in response.text
    assert (await api.get("/api/v1/flow-schema", await api.user("agent"))).status_code == 403
    assert (await api.client.get("/api/v1/flow-schema")).status_code == 401


async def test_draft_body_checks(api: Api) -> None:
    admin = await api.user("admin")
    name = unique("flow")
    # No usable id: nothing can be stored.
    response = await api.post("/api/v1/flows", admin, {"format": 1, "name": "x"})
    assert response.status_code == 422
    assert any(p["path"] == "id" for p in response.json()["problems"])
    # PUT names the flow; the document's id must agree (or is filled in).
    response = await api.client.put(f"/api/v1/flows/{name}/draft", headers=admin,
                                    json={**example("boleto"), "id": "other"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    document = example("boleto")
    del document["id"]
    response = await api.client.put(f"/api/v1/flows/{name}/draft", headers=admin,
                                    json=document)
    assert response.status_code == 201 and response.json()["valid"] is True
    # POST always adds a version.
    response = await api.post("/api/v1/flows", admin, {**example("boleto"), "id": name})
    assert response.status_code == 201 and response.json()["version"] == 2
    response = await api.post(f"/api/v1/flows/{name}/publish", admin, {"version": "2"})
    assert response.status_code == 400


async def test_publishing_refuses_a_handoff_to_a_team_that_does_not_exist(api: Api) -> None:
    admin = await api.user("admin")
    document = example("boleto")
    document["id"] = unique("boleto")
    ghost = unique("équipe fantasma")
    for node in document["nodes"]:
        if node["type"] == "handoff":
            node["team"] = ghost
    response = await api.post("/api/v1/flows", admin, document)
    assert response.status_code == 201 and response.json()["valid"] is True  # a draft
    response = await api.post(f"/api/v1/flows/{document['id']}/publish", admin)
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    handoffs = [i for i, n in enumerate(document["nodes"]) if n["type"] == "handoff"]
    assert sorted(p["path"] for p in problems) == sorted(f"nodes[{i}].team" for i in handoffs)
    assert all(p["code"] == "unknown_team" and repr(ghost) in p["message"] for p in problems)
    detail = (await api.get(f"/api/v1/flows/{document['id']}", admin)).json()
    assert detail["published_version"] is None
    # Once the team exists, the same draft publishes.
    await api.engine.db.run(ensure_teams, [ghost])
    response = await api.post(f"/api/v1/flows/{document['id']}/publish", admin)
    assert response.status_code == 200, response.text


async def test_roles(api: Api) -> None:
    admin = await api.user("admin")
    supervisor = await api.user("supervisor")
    agent = await api.user("agent")
    name = unique("boleto")
    response = await api.post("/api/v1/flows", admin, {**example("boleto"), "id": name})
    assert response.status_code == 201

    for headers, status in (({}, 401), (agent, 403), (supervisor, 200), (admin, 200)):
        assert (await api.get("/api/v1/flows", headers)).status_code == status
        assert (await api.get(f"/api/v1/flows/{name}", headers)).status_code == status
        assert (await api.get(f"/api/v1/flows/{name}/metrics", headers)).status_code == status
        response = await api.post("/api/v1/flows/validate", headers, example("boleto"))
        assert response.status_code == status
    for headers, status in (({}, 401), (agent, 403), (supervisor, 403)):
        response = await api.post("/api/v1/flows", headers, {**example("boleto"), "id": name})
        assert response.status_code == status, response.text
        response = await api.post(f"/api/v1/flows/{name}/publish", headers)
        assert response.status_code == status
        response = await api.post(f"/api/v1/flows/{name}/rollback", headers)
        assert response.status_code == status
        response = await api.client.put(f"/api/v1/flows/{name}/draft", headers=headers,
                                        json=example("boleto"))
        assert response.status_code == status
    response = await api.post(f"/api/v1/flows/{name}/publish", agent)
    assert response.json()["code"] == "forbidden"
    response = await api.post("/api/v1/flows", {})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"]

    simulation = {"document": example("boleto"), "messages": ["oi"]}
    assert (await api.post("/api/v1/flows/simulate", agent, simulation)).status_code == 403
    assert (await api.post("/api/v1/flows/simulate", supervisor, simulation)).status_code == 200
    live = {**simulation, "live_modules": True}
    assert (await api.post("/api/v1/flows/simulate", supervisor, live)).status_code == 403
    assert (await api.post("/api/v1/flows/simulate", admin, live)).status_code == 200


# --- the simulator -----------------------------------------------------------------------------


async def test_simulate_triage_hands_off_to_support_with_the_text_in_the_note(api: Api) -> None:
    supervisor = await api.user("supervisor")
    response = await api.post("/api/v1/flows/simulate", supervisor, {
        "document": example("triage"),
        "messages": ["oi", "2", "a internet caiu", "alô?"],
    })
    assert response.status_code == 200, response.text
    transcript = response.json()
    assert transcript["flow"] == "triage"
    first, second, third = transcript["turns"]
    assert first["message"] == {"text": "oi", "reply_id": None}
    assert [m["type"] for m in first["sent"]] == ["text", "list"]
    assert first["steps"] == [{"flow": "triage", "version": None, "node": "welcome",
                               "outcome": "next"}]
    assert first["result"] == {"status": "waiting", "for": "answer", "flow": "triage",
                               "node": "menu", "timer_seconds": 1800}
    assert [(s["node"], s["outcome"]) for s in second["steps"]] == [("menu", "support")]
    assert second["sent"][0]["text"].startswith("Conte em poucas palavras")
    assert [(s["node"], s["outcome"]) for s in third["steps"]] == [
        ("ask_problem", "next"), ("support_open", "open"), ("to_support", "handoff")]
    assert third["variables"] == {"problem": "a internet caiu"}
    result = transcript["result"]
    assert result["status"] == "handoff" and result["team"] == "suporte"
    assert "a internet caiu" in result["note"] and result["skills"] == ["tecnico"]
    assert transcript["unread"] == [{"text": "alô?", "reply_id": None}]

    # The support team closed: the customer hears so, then the hand-off.
    response = await api.post("/api/v1/flows/simulate", supervisor, {
        "document": example("triage"), "messages": ["oi", "2", "caiu"],
        "closed_teams": ["suporte"],
    })
    last = response.json()["turns"][-1]
    assert [(s["node"], s["outcome"]) for s in last["steps"]][1] == ("support_open", "closed")
    assert last["sent"][0]["text"].startswith("Nosso suporte atende")

    # A timer: the menu times out, the bot says goodbye and ends unresolved.
    response = await api.post("/api/v1/flows/simulate", supervisor, {
        "document": example("triage"), "messages": ["oi", {"timer": True}],
    })
    transcript = response.json()
    assert [(s["node"], s["outcome"]) for s in transcript["turns"][1]["steps"]] == [
        ("menu", "timeout"), ("goodbye", "next"), ("closed_silent", "end")]
    assert transcript["result"] == {"status": "ended", "resolved": False, "reason": ""}

    # A VIP customer, by attributes.
    response = await api.post("/api/v1/flows/simulate", supervisor, {
        "document": example("triage"), "messages": ["oi", {"reply_id": "sales"}],
        "customer": {"name": "Ana", "attributes": {"plan": "gold"}},
    })
    result = response.json()["result"]
    assert result["team"] == "vendas" and result["priority"] == 5


async def test_simulate_boleto_with_a_stub_ends_resolved(api: Api) -> None:
    admin = await api.user("admin")
    triage, boleto = flows_pair()
    await api.engine.db.run(publish, boleto)
    stub = {"outcome": "ok", "outputs": {"digitable_line": DIGITABLE},
            "messages": [{"type": "text", "text": f"Linha digitável: {DIGITABLE}"}]}
    response = await api.post("/api/v1/flows/simulate", admin, {
        "flow": boleto["id"],  # the published version
        "messages": ["boleto", "111.111.111-11", VALID_CPF],
        "stubs": {"boleto.second_copy": stub},
    })
    assert response.status_code == 200, response.text
    transcript = response.json()
    assert transcript["version"] == 1
    assert transcript["result"] == {"status": "ended", "resolved": True, "reason": ""}
    retry = transcript["turns"][1]
    assert retry["steps"] == [] and retry["sent"][0]["text"].startswith("Esse CPF")
    last = transcript["turns"][2]
    (call,) = last["module_calls"]
    assert call == {"module": "boleto", "action": "second_copy",
                    "inputs": {"cpf_cnpj": "52998224725"}, "outcome": "ok",
                    "outputs": {"digitable_line": DIGITABLE}, "error": "", "source": "stub"}
    assert last["sent"][0]["text"] == f"Linha digitável: {DIGITABLE}"
    assert last["sent"][1]["text"].startswith("Pronto!")
    assert last["variables"]["slip"] == {"digitable_line": DIGITABLE}
    assert last["variables"]["cpf"] == "52998224725"

    # Triage calls that boleto as a subflow, loaded from the store; successive stubs.
    response = await api.post("/api/v1/flows/simulate", admin, {
        "document": triage,
        "messages": ["oi", "1", {"reply_id": "second_copy"}, VALID_CPF, VALID_CPF],
        "stubs": {"boleto.second_copy": [{"outcome": "invalid_document"}, stub]},
    })
    transcript = response.json()
    assert transcript["result"]["status"] == "ended" and transcript["result"]["resolved"]
    steps = [(s["flow"], s["node"], s["outcome"]) for t in transcript["turns"]
             for s in t["steps"]]
    assert (triage["id"], "billing_menu", "second_copy") in steps
    assert (boleto["id"], "lookup", "invalid_document") in steps
    assert steps[-1] == (boleto["id"], "done", "end")
    assert [c["outcome"] for t in transcript["turns"] for c in t["module_calls"]] == [
        "invalid_document", "ok"]

    # Without a stub the module fails: the error edge, a hand-off to billing.
    response = await api.post("/api/v1/flows/simulate", admin, {
        "flow": boleto["id"], "messages": ["oi", VALID_CPF],
    })
    transcript = response.json()
    (call,) = transcript["turns"][-1]["module_calls"]
    assert call["source"] == "missing" and call["outcome"] == "error"
    assert transcript["result"]["status"] == "handoff"
    assert transcript["result"]["team"] == "financeiro"


async def test_simulate_refusals(api: Api) -> None:
    admin = await api.user("admin")
    path = "/api/v1/flows/simulate"
    response = await api.post(path, admin, {"document": broken("x"), "messages": ["oi"]})
    assert response.status_code == 422 and len(response.json()["problems"]) == 6
    response = await api.post(path, admin, {"flow": unique("ghost"), "messages": ["oi"]})
    assert response.status_code == 404
    for body in (
        {"messages": ["oi"]},
        {"document": example("boleto"), "flow": "boleto"},
        {"document": example("boleto"), "messages": [3]},
        {"document": example("boleto"), "messages": [{"timer": True}]},
        {"document": example("boleto"), "stubs": {"boleto": {"outcome": "ok"}}},
        {"document": example("boleto"), "stubs": {"boleto.second_copy": {"outputs": {}}}},
        {"document": example("boleto"), "surprise": 1},
    ):
        response = await api.post(path, admin, body)
        assert response.status_code == 400, (body, response.text)


def test_parse_messages_and_stubs() -> None:
    assert parse_messages(["a", {"reply_id": "x"}, {"timer": True}]) == [
        {"text": "a", "reply_id": None}, {"text": "", "reply_id": "x"}, {"timer": True}]
    with pytest.raises(BadSimulation, match=r"messages\[1\]"):
        parse_messages(["a", {"text": 1}])
    stubs = parse_stubs({"http": {"ok": True, "answer": {"a": 1}},
                         "m.a": [{"outcome": "ok"}, {"outcome": "error", "error": "x"}]})
    assert stubs["http"] == [(True, {"a": 1})]
    assert [r.outcome for r in stubs["m.a"]] == ["ok", "error"]
    with pytest.raises(BadSimulation, match=r"stubs\['m.a'\]\[0\].outputs"):
        parse_stubs({"m.a": [{"outcome": "ok", "outputs": 1}]})


# --- metrics ------------------------------------------------------------------------------------


def _seed_metrics(session: Session, triage: dict[str, Any], boleto: dict[str, Any],
                  base: datetime) -> dict[str, int]:
    publish(session, triage)
    publish(session, boleto)
    session.flush()
    versions = dict(session.execute(
        sa.select(FlowRecord.name, FlowVersion.id).join(FlowVersion,
                                                        FlowVersion.flow_id == FlowRecord.id)
        .where(FlowRecord.name.in_([triage["id"], boleto["id"]]))).all())
    t, b = versions[triage["id"]], versions[boleto["id"]]

    def conversation(status: str = "open", owner: str = "flow") -> int:
        wa_id = "55" + str(secrets.randbelow(10**11)).zfill(11)
        customer = Customer(business_phone_number_id="420000000000077", wa_id=wa_id,
                            phone="+" + wa_id, name="Metrics")
        session.add(customer)
        session.flush()
        row = Conversation(customer_id=customer.id, business_phone_number_id="420000000000077",
                           status=status, owner_state=owner)
        session.add(row)
        session.flush()
        return row.id

    def steps(conversation_id: int, *rows: tuple[int, float, str, str]) -> None:
        for version_id, seconds, node, step in rows:
            session.add(FlowExecution(conversation_id=conversation_id, flow_version_id=version_id,
                                      node_key=node, step_type=step, variables={},
                                      at=base + timedelta(seconds=seconds)))

    def event(conversation_id: int, seq: int, seconds: float, before: str, after: str) -> None:
        session.add(ConversationEvent(conversation_id=conversation_id, seq=seq, type="takeover",
                                      payload={"from": before, "to": after},
                                      at=base + timedelta(seconds=seconds)))

    handed = conversation("open", "queued")
    steps(handed, (t, 0, "welcome", "next"), (t, 10, "menu", "support"),
          (t, 40, "ask_problem", "next"), (t, 41, "support_open", "open"),
          (t, 41, "to_support", "handoff"))
    resolved = conversation("resolved", "resolved")  # the end is in the boleto subflow
    steps(resolved, (t, 0, "welcome", "next"), (t, 5, "menu", "billing"),
          (t, 10, "billing_menu", "second_copy"), (b, 30, "ask_cpf", "next"),
          (b, 31, "lookup", "ok"), (b, 31, "thanks", "next"), (b, 31, "done", "end"))
    dropped = conversation("resolved", "resolved")
    steps(dropped, (t, 0, "welcome", "next"))
    waiting = conversation("open", "flow")
    steps(waiting, (t, 0, "welcome", "next"))
    ended = conversation("open", "flow")
    steps(ended, (t, 0, "welcome", "next"), (t, 60, "menu", "timeout"),
          (t, 60, "goodbye", "next"), (t, 60, "closed_silent", "end"))
    taken = conversation("open", "queued")  # an agent took it, gave it back, then a new run
    steps(taken, (t, 0, "welcome", "next"), (t, 101, "welcome", "next"),
          (t, 110, "menu", "other"), (t, 110, "to_front_desk", "handoff"))
    event(taken, 1, 5, "flow", "assigned")
    event(taken, 2, 100, "assigned", "flow")
    return {"triage": t, "boleto": b}


async def test_metrics_from_seeded_executions(api: Api) -> None:
    supervisor = await api.user("supervisor")
    triage, boleto = flows_pair()
    base = datetime.now(UTC) - timedelta(hours=2)
    await api.engine.db.run(_seed_metrics, triage, boleto, base)

    response = await api.get(f"/api/v1/flows/{triage['id']}/metrics", supervisor)
    assert response.status_code == 200, response.text
    metrics = response.json()
    assert metrics["runs"] == {"started": 7, "resolved": 1, "handed_off": 2,
                               "ended_unresolved": 1, "dropped": 2, "in_progress": 1}
    assert metrics["resolution_rate"] == round(1 / 6, 4)
    assert metrics["handoff_rate"] == round(2 / 6, 4)
    assert metrics["drop_off_rate"] == round(2 / 6, 4)
    nodes = {n["node"]: n for n in metrics["nodes"]}
    assert [n["node"] for n in metrics["nodes"]][:2] == ["welcome", "menu"]  # document order
    menu = nodes["menu"]
    assert menu["type"] == "send_list"
    assert menu["steps"] == 4
    assert menu["outcomes"] == {"support": 1, "billing": 1, "timeout": 1, "other": 1}
    assert menu["average_seconds"] == pytest.approx((10 + 5 + 60 + 9) / 4)
    assert (menu["dropped"], menu["in_progress"]) == (2, 1)
    welcome = nodes["welcome"]
    assert welcome["steps"] == 7 and welcome["timed"] == 0
    assert welcome["average_seconds"] is None and welcome["dropped"] == 0
    assert nodes["ask_problem"]["average_seconds"] == 30
    assert nodes["to_support"]["outcomes"] == {"handoff": 1}
    assert "ask_cpf" not in nodes  # the subflow's nodes are the subflow's

    # The subflow's own metrics: no run started there, its nodes' steps and times.
    response = await api.get(f"/api/v1/flows/{boleto['id']}/metrics", supervisor)
    metrics = response.json()
    assert metrics["runs"]["started"] == 0 and metrics["resolution_rate"] is None
    nodes = {n["node"]: n for n in metrics["nodes"]}
    assert nodes["ask_cpf"]["average_seconds"] == 20 and nodes["done"]["steps"] == 1

    # The window, and the version.
    later = (base + timedelta(minutes=30)).isoformat()
    response = await api.get(f"/api/v1/flows/{triage['id']}/metrics", supervisor, since=later)
    assert response.json()["runs"]["started"] == 0
    response = await api.get(f"/api/v1/flows/{triage['id']}/metrics", supervisor, version=1)
    assert response.json()["runs"]["started"] == 7
    response = await api.get(f"/api/v1/flows/{triage['id']}/metrics", supervisor, version=4)
    assert response.status_code == 404
    response = await api.get(f"/api/v1/flows/{triage['id']}/metrics", supervisor,
                             since="2026-01-01T00:00:00")
    assert response.status_code == 400
    response = await api.get(f"/api/v1/flows/{unique('ghost')}/metrics", supervisor)
    assert response.status_code == 404

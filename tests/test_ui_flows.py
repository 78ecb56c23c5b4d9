"""The flow builder in a real browser (Debian's Chromium driven by Playwright) against PyTake
on PostgreSQL with the Cloud API stand-in:

- an admin builds a reduced triage flow (welcome, a two-button menu, a question, a hand-off to
  the desk's team, a goodbye and an end: the menu, ask and hand-off of
  ``examples/flows/triage.json``) by dragging every node from the palette and drawing every
  edge between handles, fills the forms, chats with it in the simulator, publishes it, and a
  customer then walks it over WhatsApp and gets its texts;
- an admin builds the whole of ``examples/flows/triage.json`` the same way (every node dragged,
  every edge drawn, every setting typed into the forms), the draft stored is that document,
  and once published a customer walks its support path to a hand-off to the support team;
- a flow with problems shows them on the right node and field, and cannot be published;
- a flow imported without positions is laid out; its versions are compared and rolled back;
- axe-core finds nothing serious on any of the builder's panels.

The browser runs in a worker thread (Playwright's sync API), as in test_ui_desk.py."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import trio
from playwright.sync_api import Page, expect, sync_playwright

from pytake.store import Team, TeamMember, UserRole

from .agent_support import PASSWORD, Desk, running_desk
from .flow_support import ensure_teams, example, publish_examples
from .test_ui_desk import (
    ARGS,
    CHROMIUM,
    STEP_MS,
    built_app,  # noqa: F401 (a fixture)
    serious_accessibility_problems,
)

VIEWPORT = {"width": 1600, "height": 1000}
WELCOME = "Olá! Sou o assistente virtual da ACME."
MENU = "Sobre o que você quer falar?"
ASK = "Conte em poucas palavras o que está acontecendo."
BYE = "Até logo!"


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=STEP_MS)


def _node(page: Page, node_id: str) -> Any:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def _center(locator: Any) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drop(page: Page, node_type: str, x: int, y: int, node_id: str) -> None:
    """Drags ``node_type`` from the palette to (x, y) of the canvas and renames the new node
    (selected, its panel open) to ``node_id``."""
    canvas = page.get_by_role("region", name="Flow canvas")
    page.locator(f'[data-node-type="{node_type}"]').drag_to(
        canvas, target_position={"x": x, "y": y})
    field = page.get_by_label("Node id", exact=True)
    expect(field).to_have_value(re.compile(f"^{node_type}_"), timeout=STEP_MS)
    field.fill(node_id)
    field.press("Enter")
    expect(_node(page, node_id)).to_be_visible(timeout=STEP_MS)
    expect(page.get_by_label("Node id", exact=True)).to_have_value(node_id)


def _connect(page: Page, source: str, outcome: str, target: str) -> None:
    """Draws an edge with the mouse, from ``source``'s handle for ``outcome`` to ``target``."""
    handle = _node(page, source).locator(
        f'.react-flow__handle.source[data-handleid="{outcome}"]')
    into = _node(page, target).locator(".react-flow__handle.target")
    (x1, y1), (x2, y2) = _center(handle), _center(into)
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=5)
    page.mouse.move(x2, y2, steps=5)
    page.mouse.up()
    expect(page.locator(
        f'.react-flow__edge[aria-label="{source} {outcome} → {target}"]')).to_have_count(
        1, timeout=STEP_MS)


def _select(page: Page, node_id: str) -> None:
    _node(page, node_id).click(position={"x": 120, "y": 12})
    expect(page.get_by_label("Node id", exact=True)).to_have_value(node_id, timeout=STEP_MS)


def _build_and_publish(base: str, admin: str, flow: str, team: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US", viewport=VIEWPORT).new_page()
        _sign_in(page, base, admin)
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="Flows").click()
        expect(page.get_by_role("heading", name="Flows")).to_be_visible(timeout=STEP_MS)
        problems["the list of flows"] = serious_accessibility_problems(page)

        page.get_by_role("button", name="New flow").click()
        dialog = page.get_by_role("dialog", name="New flow")
        dialog.get_by_label("Flow id").fill(flow)
        dialog.get_by_label("Name").fill("Triagem (reduzida)")
        problems["the new flow dialog"] = serious_accessibility_problems(page)
        dialog.get_by_role("button", name="Create").click()
        expect(page).to_have_url(re.compile(f"/flows/{flow}$"), timeout=STEP_MS)
        expect(_node(page, "start")).to_be_visible(timeout=STEP_MS)
        problems["the builder"] = serious_accessibility_problems(page)

        # The new flow's first node goes: selected, then deleted with the Delete key.
        _select(page, "start")
        page.keyboard.press("Delete")
        expect(_node(page, "start")).to_have_count(0, timeout=STEP_MS)

        _drop(page, "send_text", 20, 40, "welcome")
        page.get_by_label("Text *", exact=True).fill(WELCOME)
        problems["a node's panel"] = serious_accessibility_problems(page)

        _drop(page, "send_buttons", 340, 40, "menu")
        page.get_by_label("Text *", exact=True).fill(MENU)
        page.get_by_label("Button 1 title").fill("Suporte técnico")
        page.get_by_label("Button 1 id").fill("support")
        page.get_by_role("button", name="Add a button").click()
        page.get_by_label("Button 2 title").fill("Outro assunto")
        page.get_by_label("Button 2 id").fill("other")
        expect(page.get_by_role("figure", name="Preview")).to_contain_text("Outro assunto")

        _drop(page, "ask", 660, 40, "ask_problem")
        page.get_by_label("Text *", exact=True).fill(ASK)
        page.get_by_label("Variable *", exact=True).fill("problem")

        _drop(page, "handoff", 660, 420, "to_support")
        page.get_by_label("Team *", exact=True).fill(team)
        page.get_by_label("Note for agents").fill("Triagem: suporte técnico. Relato: "
                                                  "{{vars.problem}}")

        _drop(page, "send_text", 340, 420, "bye")
        page.get_by_label("Text *", exact=True).fill(BYE)

        _drop(page, "end", 20, 420, "done")

        _connect(page, "welcome", "next", "menu")
        _connect(page, "menu", "support", "ask_problem")
        _connect(page, "menu", "other", "bye")
        _connect(page, "ask_problem", "next", "to_support")
        _connect(page, "bye", "next", "done")
        expect(_node(page, "welcome")).to_contain_text("Start")

        toolbar = page.get_by_role("toolbar", name="Flow builder")
        expect(toolbar.get_by_role("status")).to_contain_text("No problems", timeout=STEP_MS)
        publish = toolbar.get_by_role("button", name="Publish", exact=True)
        expect(publish).to_be_enabled()

        # The simulator chats with the draft; a tapped button answers with its id.
        toolbar.get_by_role("button", name="Simulator").click()
        panel = page.get_by_role("complementary", name="Simulator")
        panel.get_by_label("Customer message").fill("oi")
        panel.get_by_role("button", name="Send").click()
        log = panel.get_by_role("log", name="Simulated conversation")
        expect(log).to_contain_text(WELCOME, timeout=STEP_MS)
        expect(log).to_contain_text(MENU)
        problems["the simulator"] = serious_accessibility_problems(page)
        log.get_by_role("button", name="Suporte técnico").click()
        expect(log).to_contain_text(ASK, timeout=STEP_MS)
        expect(panel.get_by_role("status")).to_have_text("Waiting at ask_problem.")
        expect(_node(page, "ask_problem").locator(".outline-emerald-500")).to_have_count(1)

        publish.click()
        expect(page.get_by_role("status").filter(has_text="Published v1")).to_be_visible(
            timeout=STEP_MS)
        browser.close()
    return problems


def _invalid_flow(base: str, admin: str, flow: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US", viewport=VIEWPORT).new_page()
        _sign_in(page, base, admin)
        page.goto(f"{base}/flows/{flow}")
        menu = _node(page, "menu")
        expect(menu).to_be_visible(timeout=STEP_MS)
        toolbar = page.get_by_role("toolbar", name="Flow builder")
        expect(toolbar.get_by_role("status")).to_contain_text("problem", timeout=STEP_MS)
        expect(menu).to_contain_text(re.compile(r"\d+ !"))
        expect(_node(page, "welcome")).not_to_contain_text("!")
        expect(toolbar.get_by_role("button", name="Publish", exact=True)).to_be_disabled()

        _select(page, "menu")
        panel = page.get_by_role("complementary", name="Node")
        title = panel.get_by_label("Button 1 title")
        expect(title).to_have_attribute("aria-invalid", "true")
        expect(panel.get_by_role("list", name="Problems of this node")).to_contain_text(
            "nodes[1].buttons[0].title")
        expect(panel.get_by_text("21/20")).to_be_visible()
        problems["a node with problems"] = serious_accessibility_problems(page)

        toolbar.get_by_role("button", name=re.compile("^Problems")).click()
        listed = page.get_by_role("list", name="Problems", exact=True)
        expect(listed).to_contain_text("missing_outcome")
        problems["the problems panel"] = serious_accessibility_problems(page)

        # Fixing the title and the missing edge makes the flow publishable.
        _select(page, "menu")
        page.get_by_label("Button 1 title").fill("Suporte")
        page.get_by_label("b", exact=True).select_option("done")
        expect(toolbar.get_by_role("status")).to_contain_text("No problems", timeout=STEP_MS)
        expect(toolbar.get_by_role("button", name="Publish", exact=True)).to_be_enabled()
        browser.close()
    return problems


def _import_and_versions(base: str, admin: str, file: Path, flow: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US", viewport=VIEWPORT).new_page()
        _sign_in(page, base, admin)
        page.goto(base + "/flows")
        page.get_by_label("Import a JSON file").set_input_files(str(file))
        result = page.get_by_role("region", name="Import")
        expect(result).to_contain_text(f"Stored {flow} as draft v1: no problems.",
                                       timeout=STEP_MS)
        result.get_by_role("button", name=f"Open {flow}").click()

        # Laid out from the start rightwards, nothing on top of anything.
        chain = ["welcome", "ask", "thanks", "done"]
        for node in chain:
            expect(_node(page, node)).to_be_visible(timeout=STEP_MS)
        boxes = [_node(page, n).bounding_box() for n in chain]
        xs = [b["x"] for b in boxes if b]
        assert xs == sorted(xs) and len(set(xs)) == len(chain), boxes
        toolbar = page.get_by_role("toolbar", name="Flow builder")
        expect(toolbar.get_by_role("status")).to_contain_text("Unsaved changes")
        expect(toolbar.get_by_role("status")).to_contain_text("No problems", timeout=STEP_MS)
        toolbar.get_by_role("button", name="Publish", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Published v1")).to_be_visible(
            timeout=STEP_MS)

        _select(page, "welcome")
        page.get_by_label("Text *", exact=True).fill("Bem-vindo de novo!")
        # Undo and redo through the keyboard, outside a field.
        page.get_by_role("heading", name="Node", exact=True).click()
        expect(toolbar.get_by_role("button", name="Undo")).to_be_enabled(timeout=STEP_MS)
        page.keyboard.press("Control+z")
        expect(_node(page, "welcome")).to_contain_text("Olá", timeout=STEP_MS)
        page.keyboard.press("Control+Shift+z")
        expect(_node(page, "welcome")).to_contain_text("Bem-vindo de novo!", timeout=STEP_MS)
        expect(toolbar.get_by_role("status")).to_contain_text("No problems", timeout=STEP_MS)
        toolbar.get_by_role("button", name="Publish", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Published v2")).to_be_visible(
            timeout=STEP_MS)

        # Metrics of a flow no customer has run yet: zero runs, drawn without failing.
        toolbar.get_by_role("button", name="Metrics").click()
        expect(page.get_by_text("Last 30 days: 0 runs")).to_be_visible(timeout=STEP_MS)
        expect(_node(page, "welcome")).to_contain_text("0 steps")
        toolbar.get_by_role("button", name="Metrics").click()

        toolbar.get_by_role("button", name="Versions").click()
        panel = page.get_by_role("complementary", name="Versions")
        expect(panel.get_by_role("row", name=re.compile("v2 published"))).to_be_visible(
            timeout=STEP_MS)
        panel.get_by_label("From", exact=True).select_option("1")
        panel.get_by_label("To", exact=True).select_option("2")
        diff = panel.get_by_role("region", name="Differences")
        expect(diff).to_contain_text("welcome", timeout=STEP_MS)
        expect(diff).to_contain_text("Bem-vindo de novo!")
        problems["the versions panel"] = serious_accessibility_problems(page)
        panel.get_by_role("button", name="Roll back to the version published before").click()
        expect(panel.get_by_role("status")).to_have_text("Rolled back: v1 is published.",
                                                         timeout=STEP_MS)
        browser.close()
    return problems


def _reduced_invalid(flow: str) -> dict[str, Any]:
    return {
        "format": 1, "id": flow, "name": "Com problemas", "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "send_text", "text": "Oi", "ui": {"x": 0, "y": 0}},
            {"id": "menu", "type": "send_buttons", "text": "Escolha",
             "buttons": [{"id": "a", "title": "Um título longo demai"},
                         {"id": "b", "title": "B"}], "ui": {"x": 320, "y": 0}},
            {"id": "done", "type": "end", "ui": {"x": 640, "y": 0}},
        ],
        "edges": [{"from": "welcome", "to": "menu"}, {"from": "menu", "on": "a", "to": "done"}],
    }


def _unplaced(flow: str) -> dict[str, Any]:
    return {
        "format": 1, "id": flow, "name": "Importado", "start": "welcome",
        "nodes": [
            {"id": "welcome", "type": "send_text", "text": "Olá!"},
            {"id": "ask", "type": "ask", "text": "Seu nome?", "variable": "name"},
            {"id": "thanks", "type": "send_text", "text": "Obrigado, {{vars.name}}!"},
            {"id": "done", "type": "end"},
        ],
        "edges": [{"from": "welcome", "to": "ask"}, {"from": "ask", "to": "thanks"},
                  {"from": "thanks", "to": "done"}],
    }


async def _admin(desk: Desk) -> tuple[str, dict[str, str]]:
    email = f"admin-{secrets.token_hex(3)}@example.com"
    await desk.edge.engine.identity.create_user(email, "Admin Ana", UserRole.ADMIN, PASSWORD)
    return email, {"authorization": f"Bearer {await desk.token(email)}"}


async def test_an_admin_builds_a_flow_by_dragging_and_a_customer_walks_it(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:  # noqa: F811
    flow = f"triagem_{secrets.token_hex(3)}"
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app),
                            PYTAKE_FLOWS_DEFAULT=flow) as desk:
        admin, auth = await _admin(desk)
        problems = await trio.to_thread.run_sync(
            _build_and_publish, desk.base_url, admin, flow, str(desk.team_id))
        assert problems == {k: [] for k in problems}, problems
        stored = (await desk.edge.client.get(f"/api/v1/flows/{flow}/versions/1",
                                             headers=auth)).json()["document"]
        assert {n["id"] for n in stored["nodes"]} == {
            "welcome", "menu", "ask_problem", "to_support", "bye", "done"}
        assert all(isinstance(n["ui"]["x"], int) for n in stored["nodes"])
        assert stored["start"] == "welcome"

        customer = desk.customer()
        await desk.sim.send_text(customer, "oi")
        welcome, menu = await desk.wait_sent_to(customer, n=2)
        assert welcome.body["text"]["body"] == WELCOME
        assert menu.body["interactive"]["type"] == "button"
        assert menu.body["interactive"]["body"]["text"] == MENU
        # The customer taps the button the admin drew: WhatsApp sends its id and title.
        await desk.sim.send_button_reply(customer, "support", "Suporte técnico")
        try:
            await desk.wait_sent_to(customer, 1, 15.0, ASK)
        except trio.TooSlowError:
            raise AssertionError([s.body for s in desk.sent_to(customer)]) from None
        await desk.sim.send_text(customer, "a internet caiu")
        steps: list[tuple[str, str]] = []
        with trio.fail_after(15):  # steps are written behind the replies
            while ("to_support", "handoff") not in steps:
                steps = [tuple(s) for s in await desk.edge.query(
                    "SELECT e.node_key, e.step_type FROM flow_executions e "
                    "JOIN conversations c ON c.id = e.conversation_id "
                    "JOIN customers u ON u.id = c.customer_id WHERE u.wa_id = :w "
                    "ORDER BY e.id", w=customer.wa_id)]
                await trio.sleep(0.05)
        assert ("menu", "support") in steps


async def test_problems_show_on_their_node_and_block_publishing(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:  # noqa: F811
    flow = f"invalido_{secrets.token_hex(3)}"
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app)) as desk:
        admin, auth = await _admin(desk)
        answer = await desk.edge.client.post("/api/v1/flows", json=_reduced_invalid(flow),
                                             headers=auth)
        assert answer.status_code == 201, answer.text
        codes = {p["code"] for p in answer.json()["problems"]}
        assert {"whatsapp_limit", "missing_outcome"} <= codes, answer.json()
        problems = await trio.to_thread.run_sync(_invalid_flow, desk.base_url, admin, flow)
        assert problems == {k: [] for k in problems}, problems
        listed = (await desk.edge.client.get("/api/v1/flows", headers=auth)).json()["flows"]
        assert [f["published_version"] for f in listed if f["name"] == flow] == [None]


async def test_an_imported_flow_is_laid_out_and_its_versions_compared_and_rolled_back(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:  # noqa: F811
    flow = f"importado_{secrets.token_hex(3)}"
    file = tmp_path / f"{flow}.json"
    file.write_text(json.dumps(_unplaced(flow)))
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app)) as desk:
        admin, auth = await _admin(desk)
        problems = await trio.to_thread.run_sync(
            _import_and_versions, desk.base_url, admin, file, flow)
        assert problems == {k: [] for k in problems}, problems
        detail = (await desk.edge.client.get(f"/api/v1/flows/{flow}", headers=auth)).json()
        assert [(v["version"], v["status"]) for v in detail["versions"]] == [
            (1, "published"), (2, "archived")]
        first = (await desk.edge.client.get(f"/api/v1/flows/{flow}/versions/1",
                                            headers=auth)).json()["document"]
        assert all("x" in n["ui"] for n in first["nodes"])  # the layout was saved


# The whole triage example, built by hand in the builder.
TRIAGE = example("triage")
#: A node field of the example → the label of its input in the node's form.
FIELD_LABELS = {
    "text": "Text *", "button": "List button label *", "footer": "Footer",
    "retry_text": "Text after a wrong answer", "max_retries": "Retries",
    "timeout_seconds": "Timeout (seconds)", "variable": "Variable *",
    "validator": "Validator (JSON)", "when": "Condition (JSON) *", "flow": "Flow id *",
    "team": "Team *", "note": "Note for agents", "priority": "Priority", "skills": "Skills",
}
#: Room for a 5 x 4 grid of cards at zoom 1 between the palette and the side panel, the
#: minimap and zoom controls clear: every handle full size where the mouse draws edges.
BIG_VIEWPORT = {"width": 2200, "height": 1500}
GRID_COLUMNS = 5
CELL = (320, 330)  # wider and taller than any card of the flow, at zoom 1


def _fill_node(page: Page, node: dict[str, Any]) -> None:
    """Types ``node``'s settings into the selected node's form (a new node of its type)."""
    form = page.get_by_role("form", name=f"Fields of {node['id']}")
    for key, value in node.items():
        if key in ("id", "type"):
            continue
        if key == "buttons":
            for i, button in enumerate(value):
                if i:  # a new node has one button already
                    form.get_by_role("button", name="Add a button").click()
                form.get_by_label(f"Button {i + 1} title", exact=True).fill(button["title"])
                form.get_by_label(f"Button {i + 1} id", exact=True).fill(button["id"])
        elif key == "sections":
            (section,) = value  # a new list has one section with one row
            form.get_by_label("Section 1 title", exact=True).fill(section["title"])
            for j, row in enumerate(section["rows"]):
                if j:
                    form.get_by_role("button", name="Add a row").click()
                form.get_by_label(f"Row {j + 1} title", exact=True).fill(row["title"])
                form.get_by_label(f"Row {j + 1} id", exact=True).fill(row["id"])
                form.get_by_label(f"Row {j + 1} description", exact=True).fill(
                    row.get("description", ""))
        elif key == "resolved":
            form.get_by_label("Resolved by the bot", exact=True).set_checked(value)
        else:
            if isinstance(value, dict):
                text = json.dumps(value, ensure_ascii=False, indent=2)
            elif isinstance(value, list):
                text = ", ".join(value)
            else:
                text = str(value)
            form.get_by_label(FIELD_LABELS[key], exact=True).fill(text)


def _build_triage(base: str, admin: str, flow: str,
                  stored_draft: Callable[[], dict[str, Any]], shot: Path) -> dict[str, Any]:
    """Builds ``TRIAGE`` as ``flow`` by hand, saves it, returns the draft the server stored
    (``stored_draft``, run in Trio), then publishes it; ``shot`` is the page if it fails."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US", viewport=BIG_VIEWPORT).new_page()
        try:
            _sign_in(page, base, admin)
            page.goto(base + "/flows")
            page.get_by_role("button", name="New flow").click()
            dialog = page.get_by_role("dialog", name="New flow")
            dialog.get_by_label("Flow id").fill(flow)
            dialog.get_by_label("Name").fill(TRIAGE["name"])
            dialog.get_by_role("button", name="Create").click()
            expect(page).to_have_url(re.compile(f"/flows/{flow}$"), timeout=STEP_MS)
            expect(_node(page, "start")).to_be_visible(timeout=STEP_MS)
            settings = page.get_by_role("complementary", name="Flow settings")
            settings.get_by_label("Description", exact=True).fill(TRIAGE["description"])
            _select(page, "start")
            page.keyboard.press("Delete")
            expect(_node(page, "start")).to_have_count(0, timeout=STEP_MS)

            # Every node from the palette, in the example's order, on a grid at zoom 1.
            for i, node in enumerate(TRIAGE["nodes"]):
                row, column = divmod(i, GRID_COLUMNS)
                _drop(page, node["type"], 20 + column * CELL[0], 20 + row * CELL[1],
                      node["id"])
                _fill_node(page, node)
            expect(_node(page, TRIAGE["start"])).to_contain_text("Start")

            # Every edge with the mouse, from its outcome's handle (the forms made them).
            for edge in TRIAGE["edges"]:
                _connect(page, edge["from"], edge.get("on", "next"), edge["to"])

            toolbar = page.get_by_role("toolbar", name="Flow builder")
            expect(toolbar.get_by_role("status")).to_have_text("Unsaved changes · No problems",
                                                               timeout=STEP_MS)
            toolbar.get_by_role("button", name="Save draft").click()
            expect(page.get_by_role("status").filter(has_text="Saved as draft v")).to_be_visible(
                timeout=STEP_MS)
            expect(toolbar.get_by_role("status")).to_have_text("No problems", timeout=STEP_MS)
            draft = trio.from_thread.run(stored_draft)

            toolbar.get_by_role("button", name="Publish", exact=True).click()
            expect(page.get_by_role("status").filter(has_text="Published v")).to_be_visible(
                timeout=STEP_MS)
        except Exception:
            page.screenshot(path=str(shot))
            raise
        finally:
            browser.close()
    return draft


def _support_team_with(session: Any, user_id: int) -> int:
    """The example's teams, the desk's agent in ``suporte`` (no business hours: open)."""
    ensure_teams(session)
    team = session.scalars(sa.select(Team).where(Team.name == "suporte")).one()
    if session.get(TeamMember, (team.id, user_id)) is None:
        session.add(TeamMember(team_id=team.id, user_id=user_id, skills=["tecnico"],
                               max_concurrent=5))
    return int(team.id)


async def test_an_admin_builds_the_whole_triage_example_by_hand_and_a_customer_walks_it(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:  # noqa: F811
    flow = f"triage_{secrets.token_hex(3)}"
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app),
                            PYTAKE_FLOWS_DEFAULT=flow) as desk:
        admin, auth = await _admin(desk)
        (email, user_id), = desk.agents.items()
        db = desk.edge.engine.db
        support = await db.run(_support_team_with, user_id)
        await db.run(publish_examples, ("boleto",))  # the subflow the billing path calls

        async def stored_draft() -> dict[str, Any]:
            detail = (await desk.edge.client.get(f"/api/v1/flows/{flow}",
                                                 headers=auth)).json()
            latest = max(v["version"] for v in detail["versions"] if v["status"] == "draft")
            answer = await desk.edge.client.get(f"/api/v1/flows/{flow}/versions/{latest}",
                                                headers=auth)
            document: dict[str, Any] = answer.json()["document"]
            return document

        draft = await trio.to_thread.run_sync(
            _build_triage, desk.base_url, admin, flow, stored_draft, tmp_path / "triage.png")
        # Where the admin put the nodes aside, the builder wrote the example itself.
        assert all(isinstance(n.pop("ui")["x"], int) for n in draft["nodes"])
        assert isinstance(draft.pop("version"), int)  # the server stamps stored versions
        # An edge on "next" is written without its default "on", as the example has some.
        edges = [{k: v for k, v in e.items() if (k, v) != ("on", "next")}
                 for e in TRIAGE["edges"]]
        assert draft["nodes"] == TRIAGE["nodes"]
        assert draft["edges"] == edges
        assert draft == {**TRIAGE, "id": flow, "edges": edges}

        async with desk.connect(email) as agent:
            await agent.event("presence", status="online")
            customer = desk.customer()
            await desk.sim.send_text(customer, "oi")
            welcome, menu = await desk.wait_sent_to(customer, n=2)
            nodes = {n["id"]: n for n in TRIAGE["nodes"]}
            assert welcome.body["text"]["body"] == nodes["welcome"]["text"]
            assert menu.body["interactive"]["type"] == "list"
            assert menu.body["interactive"]["body"]["text"] == nodes["menu"]["text"]
            await desk.sim.send_list_reply(customer, "support", "Suporte técnico")
            try:
                await desk.wait_sent_to(customer, 1, 15.0, nodes["ask_problem"]["text"])
            except trio.TooSlowError:
                raise AssertionError([s.body for s in desk.sent_to(customer)]) from None
            await desk.sim.send_text(customer, "a internet caiu")
            offered = await agent.event("conversation.offered", timeout=15)
            assert "a internet caiu" in offered["data"]["note"]
            assert offered["data"]["team"] == str(support)

            steps: list[tuple[str, str]] = []
            with trio.fail_after(10):  # steps are written behind the replies
                while ("to_support", "handoff") not in steps:
                    steps = [tuple(s) for s in await desk.edge.query(
                        "SELECT node_key, step_type FROM flow_executions "
                        "WHERE conversation_id = :c ORDER BY id",
                        c=offered["data"]["conversation_id"])]
                    await trio.sleep(0.02)
            assert [s for s in steps if s[0] in ("menu", "ask_problem", "support_open")] == [
                ("menu", "support"), ("ask_problem", "next"), ("support_open", "open")], steps

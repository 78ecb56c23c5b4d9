"""Screenshots of the web app for the docs: ``python -m tests.ui_screenshots [DIR]`` (default
``docs/img``), after ``make ui``.

PyTake runs on a throw-away SQLite file with the Cloud API stand-in; simulated customers write,
an agent answers in Chromium, a supervisor looks at the team. Writes ``desk.png`` (1280x800),
``desk-narrow.png`` (390x844, a phone), ``team-view.png``, ``composer.png`` (canned responses
offered after ``/``), ``builder.png`` (the triage example in the flow builder), ``admin.png``
(a module's generated form), ``ops.png`` (the operations dashboard) and, to look at rather
than for the docs, ``transfer.png``, ``team-view-narrow.png``, ``builder-narrow.png``,
``admin-narrow.png`` and ``ops-narrow.png``."""

from __future__ import annotations

import functools
import re
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio
from playwright.sync_api import Page, expect, sync_playwright

from pytake.store import TeamMember, UserRole, upgrade
from pytake.web._app_files import find_app_dir

from .agent_support import PASSWORD, Desk, running_desk
from .test_ui_desk import ARGS, CHROMIUM, STEP_MS, _in_trio, _sign_in

SUPERVISOR = "angela@example.com"
ADMIN = "renata@example.com"
TRIAGE = Path(__file__).resolve().parent.parent / "examples" / "flows" / "triage.json"
PORTUGUESE = ("E-mail", "Senha", "Entrar", "Conectado")


def _join(session: Any, team_id: int, user_id: int) -> None:
    session.add(TeamMember(team_id=team_id, user_id=user_id, skills=[], max_concurrent=5))


def _receipt_png(width: int = 320, height: int = 200) -> bytes:
    """A picture a customer might send (a pale receipt with lines), as a real PNG."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            line = 30 < x < width - 30 and y % 24 in (0, 1) and 20 < y < height - 20
            shade = 120 if line else 245 - (x + y) // 40
            rows += bytes((shade, shade, min(255, shade + 8)))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b""))


def _conversation(page: Page, desk: Desk, in_trio: Callable[..., Any]) -> None:
    ana, bruno, carla = (desk.customer(n) for n in ("Ana Souza", "Bruno Lima", "Carla Dias"))
    in_trio(desk.sim.send_text, ana, "Oi! Meu boleto venceu ontem, consigo pagar ainda?")
    page.get_by_role("button", name="Accept").first.click(timeout=STEP_MS)
    log = page.get_by_role("log", name="Messages")
    expect(log.get_by_text("Meu boleto venceu")).to_be_visible(timeout=STEP_MS)
    page.get_by_label("Message").fill("Consegue sim! Vou gerar a *segunda via* agora. "
                                      "O novo vencimento é _amanhã_.")
    page.get_by_role("button", name="Send").click()
    in_trio(functools.partial(desk.sim.send_image, mime_type="image/png",
                              caption="Segue o comprovante"), ana, _receipt_png())
    expect(log.get_by_role("img").first).to_be_visible(timeout=STEP_MS)
    in_trio(desk.sim.send_text, ana, "Perfeito, obrigada!")
    expect(log.get_by_text("obrigada")).to_be_visible(timeout=STEP_MS)
    page.locator("body").press("n")
    note = page.get_by_role("dialog", name="Add a private note")
    note.get_by_label("Note").fill("Cliente pagou com atraso; 2ª via enviada.")
    note.get_by_role("button", name="Save note").click()
    expect(note).to_have_count(0, timeout=STEP_MS)
    for customer, text in ((bruno, "Quero mudar meu plano"), (carla, "A internet caiu de novo")):
        in_trio(desk.sim.send_text, customer, text)
    expect(page.get_by_role("button", name="Accept").first).to_be_visible(timeout=STEP_MS)
    # Names come from REST, read again at most once a second while the inbox changes.
    expect(page.get_by_role("list", name="Conversations")).to_contain_text(
        "Carla Dias", timeout=STEP_MS)
    page.get_by_role("toolbar", name="Conversation actions").get_by_role(
        "button", name="Labels").click()
    dialog = page.get_by_role("dialog", name="Labels")
    dialog.get_by_label("New label").fill("boleto")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog.get_by_role("list", name="Labels")).to_contain_text("boleto")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Customer details").click()
    expect(page.get_by_role("complementary", name="Customer")).to_contain_text(
        "Ana Souza", timeout=STEP_MS)


def _shoot(desk: Desk, agent: str, in_trio: Callable[..., Any], out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        wide = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        page = wide.new_page()
        _sign_in(page, desk.base_url, agent)
        _conversation(page, desk, in_trio)
        page.screenshot(path=str(out / "desk.png"))
        page.keyboard.press("t")
        expect(page.get_by_role("dialog", name="Transfer")).to_be_visible(timeout=STEP_MS)
        page.screenshot(path=str(out / "transfer.png"))
        page.keyboard.press("Escape")
        box = page.get_by_role("textbox", name="Message")
        box.fill("/seg")
        expect(page.get_by_role("listbox", name="Canned responses")).to_be_visible(
            timeout=STEP_MS)
        page.screenshot(path=str(out / "composer.png"))
        box.fill("")

        phone = browser.new_context(locale="pt-BR", viewport={"width": 390, "height": 844})
        small = phone.new_page()
        _sign_in(small, desk.base_url, agent, PORTUGUESE)
        small.get_by_role("list", name="Conversas").get_by_text("Ana Souza").click(
            timeout=STEP_MS)
        expect(small.get_by_role("log", name="Mensagens")).to_contain_text(
            "obrigada", timeout=STEP_MS)
        small.screenshot(path=str(out / "desk-narrow.png"))

        boss = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        view = boss.new_page()
        _sign_in(view, desk.base_url, SUPERVISOR)
        view.get_by_role("navigation", name="Views").get_by_role("button", name="Team").click()
        view.get_by_label("Team to watch").select_option(str(desk.team_id))
        expect(view.get_by_role("row").filter(has_text="Ana Souza")).to_be_visible(
            timeout=STEP_MS)
        view.screenshot(path=str(out / "team-view.png"))
        view.set_viewport_size({"width": 390, "height": 844})
        view.screenshot(path=str(out / "team-view-narrow.png"))
        _shoot_admin(browser, desk, out)
        browser.close()


def _shoot_admin(browser: Any, desk: Desk, out: Path) -> None:
    """The flow builder, a module's form and the operations dashboard, as an admin sees them."""
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}).new_page()
    _sign_in(page, desk.base_url, ADMIN)
    page.goto(desk.base_url + "/flows/triage")
    menu = page.locator('.react-flow__node[data-id="menu"]')
    expect(menu).to_be_visible(timeout=STEP_MS)
    # Fitted to the view, a neighbour may overlap its corner: the click is meant for it.
    menu.click(position={"x": 40, "y": 12}, force=True)
    expect(page.get_by_label("Node id", exact=True)).to_have_value("menu", timeout=STEP_MS)
    page.screenshot(path=str(out / "builder.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(out / "builder-narrow.png"))

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(desk.base_url + "/admin/modules")
    page.get_by_role("button", name=re.compile("^Configure")).first.click(timeout=STEP_MS)
    expect(page.get_by_role("button", name="Save")).to_be_visible(timeout=STEP_MS)
    page.screenshot(path=str(out / "admin.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(out / "admin-narrow.png"))

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(desk.base_url + "/ops")
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=STEP_MS)
    expect(page.get_by_role("figure", name="Messages per second")).to_be_visible(
        timeout=STEP_MS)
    page.screenshot(path=str(out / "ops.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(out / "ops-narrow.png"))


async def main(out: Path) -> None:
    app = find_app_dir()
    if app is None:
        raise SystemExit("the web app is not built: run `make ui` first")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/pytake.db"
        upgrade(url)
        async with running_desk(url, Path(tmp), agents=2, PYTAKE_UI_DIR=str(app)) as desk:
            agent = next(iter(desk.agents))
            info = await desk.edge.engine.identity.create_user(
                SUPERVISOR, "Ângela Souza", UserRole.SUPERVISOR, PASSWORD)
            await desk.edge.engine.db.run(_join, desk.team_id, info.id)
            await desk.edge.engine.identity.create_user(
                ADMIN, "Renata Admin", UserRole.ADMIN, PASSWORD)
            admin = {"Authorization": f"Bearer {await desk.token(ADMIN)}"}
            stored = await desk.edge.client.post(
                "/api/v1/flows", headers=admin, content=TRIAGE.read_bytes())
            assert stored.status_code == 201, stored.text
            token = await desk.token(SUPERVISOR)
            for shortcut, title, text in (
                    ("segunda-via", "Segunda via do boleto",
                     "Pronto! A *segunda via* está no link: https://acme.example/boleto"),
                    ("seguro", "Seguro residencial", "Nosso seguro cobre _incêndio_ e roubo.")):
                created = await desk.edge.client.post(
                    "/api/v1/canned-responses", headers={"Authorization": f"Bearer {token}"},
                    json={"team_id": desk.team_id, "shortcut": shortcut, "title": title,
                          "text": text})
                assert created.status_code == 201, created.text
            await trio.to_thread.run_sync(_shoot, desk, agent,
                                          _in_trio(trio.lowlevel.current_trio_token()), out)
    for name in ("desk.png", "desk-narrow.png", "team-view.png", "composer.png",
                 "transfer.png", "team-view-narrow.png", "builder.png", "builder-narrow.png",
                 "admin.png", "admin-narrow.png", "ops.png", "ops-narrow.png"):
        print(f"wrote {out / name}")


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))

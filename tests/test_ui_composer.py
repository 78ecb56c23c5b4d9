"""The desk's composer and timeline in a real browser (Debian's Chromium driven by Playwright)
against PyTake on PostgreSQL with the Cloud API stand-in: a customer's image shown from the
server's media route, a location as a map link, a canned response picked by typing ``/``, an
emoji from the picker, a file attached and sent as an image (uploaded to the stand-in), and a
private note in the timeline."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import trio
from playwright.sync_api import expect, sync_playwright

from pytake.store import UserRole

from .agent_support import PASSWORD, Desk, running_desk
from .test_media_api import PNG
from .test_ui_desk import (
    ARGS,
    CHROMIUM,
    STEP_MS,
    _in_trio,
    _sign_in,
    built_app,
    serious_accessibility_problems,
)

__all__ = ["built_app"]  # the fixture, used by name

CANNED = "Sua segunda via: https://acme.example/boleto 🧾 _válida hoje_"


def _compose(desk: Desk, email: str, customer: Any, in_trio: Any) -> list[str]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US").new_page()
        _sign_in(page, desk.base_url, email)
        in_trio(desk.sim.send_text, customer, "preciso da segunda via")
        page.get_by_role("button", name="Accept").click(timeout=STEP_MS)
        log = page.get_by_role("log", name="Messages")
        expect(log.get_by_text("preciso da segunda via")).to_be_visible(timeout=STEP_MS)

        # The customer's image comes from the media route, with its caption.
        in_trio(functools.partial(desk.sim.send_image, mime_type="image/png",
                                  caption="meu comprovante"), customer, PNG)
        expect(log.get_by_text("meu comprovante")).to_be_visible(timeout=STEP_MS)
        image = log.get_by_role("img").first
        expect(image).to_be_visible(timeout=STEP_MS)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=image.element_handle(), timeout=STEP_MS)
        in_trio(desk.sim.send_location, customer, -23.5505, -46.6333, "Praça da Sé")
        expect(log.get_by_role("link", name="Open in OpenStreetMap")).to_be_visible(
            timeout=STEP_MS)
        problems = {"the timeline": serious_accessibility_problems(page)}

        # A canned response, found by typing "/" and part of its shortcut, inserted with Enter.
        box = page.get_by_role("textbox", name="Message")
        box.fill("/segun")
        options = page.get_by_role("listbox", name="Canned responses").get_by_role("option")
        expect(options.first).to_contain_text("Segunda via", timeout=STEP_MS)
        problems["canned responses"] = serious_accessibility_problems(page)
        box.press("Enter")
        expect(box).to_have_value(CANNED)
        expect(page.get_by_label("Preview")).to_contain_text("válida hoje")
        box.press("Enter")
        expect(box).to_have_value("", timeout=STEP_MS)

        # An emoji from the picker, found by its Portuguese name.
        page.get_by_role("button", name="Insert emoji").click()
        page.get_by_role("combobox", name="Search emoji").fill("joinha")
        problems["the emoji picker"] = serious_accessibility_problems(page)
        page.get_by_role("combobox", name="Search emoji").press("Enter")
        expect(box).to_have_value("👍", timeout=STEP_MS)
        box.press("Enter")
        expect(box).to_have_value("", timeout=STEP_MS)

        # A file attached and sent as an image, the text its caption.
        page.locator("input[type=file]").set_input_files(
            {"name": "recibo.png", "mimeType": "image/png", "buffer": PNG})
        expect(page.get_by_text("recibo.png")).to_be_visible(timeout=STEP_MS)
        box.fill("segue o recibo")
        page.get_by_role("button", name="Send").click()
        expect(log.get_by_text("segue o recibo")).to_be_visible(timeout=STEP_MS)

        # A private note shows in the timeline.
        page.locator("body").press("n")
        dialog = page.get_by_role("dialog", name="Add a private note")
        dialog.get_by_label("Note").fill("cliente pediu boleto")
        dialog.get_by_role("button", name="Save note").click()
        expect(dialog).to_have_count(0, timeout=STEP_MS)
        expect(log.get_by_text("cliente pediu boleto")).to_be_visible(timeout=STEP_MS)
        browser.close()
    return [f"{where}: {p}" for where, found in problems.items() for p in found]


async def test_the_composer_and_the_timeline_in_the_browser(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app)) as desk:
        email = next(iter(desk.agents))
        admin = "admin-composer@example.com"
        await desk.edge.engine.identity.create_user(admin, "Admin", UserRole.ADMIN, PASSWORD)
        created = await desk.edge.client.post(
            "/api/v1/canned-responses",
            headers={"Authorization": f"Bearer {await desk.token(admin)}"},
            json={"team_id": desk.team_id, "shortcut": "segunda-via",
                  "title": "Segunda via do boleto", "text": CANNED})
        assert created.status_code == 201, created.text
        customer = desk.customer("Zoë Ñ")
        problems = await trio.to_thread.run_sync(_compose, desk, email, customer,
                                                 _in_trio(trio.lowlevel.current_trio_token()))
        assert problems == []
        sent = await desk.wait_sent_to(customer, 3, 15.0)
    bodies = [s.body for s in sent]
    assert bodies[0]["text"]["body"] == CANNED
    assert bodies[1]["text"]["body"] == "👍"
    assert bodies[2]["type"] == "image"
    assert bodies[2]["image"]["caption"] == "segue o recibo"
    assert desk.standin._media[bodies[2]["image"]["id"]].data == PNG

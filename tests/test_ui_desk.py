"""The agents' desk in a real browser (Debian's Chromium driven by Playwright) against PyTake
on PostgreSQL with the Cloud API stand-in: sign in, a customer's message offered and
accepted, a reply that reaches the stand-in, the browser offline while three messages arrive
(all shown, in order, without a reload), a customer's HTML shown as text, resolve.

The browser runs in a worker thread (Playwright's sync API); the customers and the stand-in
run in the test's trio loop, reached with ``trio.from_thread``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from playwright.sync_api import Page, expect, sync_playwright

from pytake.web._app_files import find_app_dir

from .agent_support import PASSWORD, Desk, running_desk

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: How long a browser step may wait for the page (a busy CI machine, the first render).
STEP_MS = 15_000


@pytest.fixture
def built_app() -> Path:
    folder = find_app_dir()
    assert folder is not None, "the web app is not built: run `make ui` (make test builds it)"
    assert Path(CHROMIUM).exists(), "Chromium is missing: scripts/ensure-browser.sh installs it"
    return folder


def _in_trio(token: trio.lowlevel.TrioToken) -> Callable[..., Any]:
    def call(fn: Callable[..., Any], *args: Any) -> Any:
        return trio.from_thread.run(fn, *args, trio_token=token)

    return call


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible(
        timeout=STEP_MS)


def _journey(desk: Desk, email: str, in_trio: Callable[..., Any]) -> list[str]:
    customer = desk.customer("Ana <b>Ñandú</b>")
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        _sign_in(page, desk.base_url, email)

        in_trio(desk.sim.send_text, customer, "preciso de ajuda")
        page.get_by_role("button", name="Accept").click(timeout=STEP_MS)
        log = page.get_by_role("log", name="Messages")
        expect(log.get_by_text("preciso de ajuda")).to_be_visible(timeout=STEP_MS)

        reply = "Olá! Como posso *ajudar*?"
        page.get_by_label("Message").fill(reply)
        page.get_by_role("button", name="Send").click()
        in_trio(desk.wait_sent_to, customer, 1, 15.0, reply)

        # Offline while three messages arrive; back online, all three show, in order.
        context.set_offline(True)
        status = page.get_by_role("status")
        expect(status).to_have_text(re.compile("Reconnecting|Offline"), timeout=STEP_MS)
        for text in ("primeira", "segunda", "terceira"):
            in_trio(desk.sim.send_text, customer, text)
        context.set_offline(False)
        expect(status).to_have_text("Connected", timeout=STEP_MS)
        for text in ("primeira", "segunda", "terceira"):
            expect(log.get_by_text(text, exact=True)).to_be_visible(timeout=STEP_MS)
        shown = log.inner_text()
        assert shown.index("primeira") < shown.index("segunda") < shown.index("terceira")
        assert shown.count("primeira") == 1

        # A customer's HTML is text: shown as typed, never run.
        attack = "<img src=x onerror=alert(1)>"
        in_trio(desk.sim.send_text, customer, attack)
        expect(log.get_by_text(attack, exact=True)).to_be_visible(timeout=STEP_MS)
        assert page.locator("img[src='x']").count() == 0

        page.get_by_role("button", name="Resolve").click()
        expect(page.get_by_role("list", name="Conversations").get_by_text(
            "preciso de ajuda")).to_have_count(0, timeout=STEP_MS)
        browser.close()
    return dialogs


async def test_an_agent_answers_a_customer_in_the_browser(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1,
                            PYTAKE_UI_DIR=str(built_app)) as desk:
        email = next(iter(desk.agents))
        in_trio = _in_trio(trio.lowlevel.current_trio_token())
        dialogs = await trio.to_thread.run_sync(_journey, desk, email, in_trio)
    assert dialogs == []


def _hand_over(desk: Desk, email: str, colleague: int, in_trio: Callable[..., Any]) -> None:
    """Labels, priority and a note on a conversation, then a transfer to ``colleague`` with
    a note, all from the keyboard and the actions' dialogs."""
    customer = desk.customer("Bruno Ærøskøbing")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US").new_page()
        _sign_in(page, desk.base_url, email)
        in_trio(desk.sim.send_text, customer, "quero trocar de plano")
        page.get_by_role("button", name="Accept").click(timeout=STEP_MS)
        expect(page.get_by_role("log", name="Messages").get_by_text(
            "quero trocar de plano")).to_be_visible(timeout=STEP_MS)
        actions = page.get_by_role("toolbar", name="Conversation actions")

        actions.get_by_role("button", name="Labels").click()
        dialog = page.get_by_role("dialog", name="Labels")
        dialog.get_by_label("New label").fill("vip ⭐")
        dialog.get_by_role("button", name="Add").click()
        expect(dialog.get_by_role("list", name="Labels").get_by_text("vip ⭐")).to_be_visible(
            timeout=STEP_MS)
        dialog.get_by_role("button", name="Close").click()

        actions.get_by_role("button", name="Priority").click()
        dialog = page.get_by_role("dialog", name="Priority")
        dialog.get_by_label("Priority").select_option(label="Urgent")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_have_count(0, timeout=STEP_MS)
        expect(actions.get_by_role("button", name=re.compile("Priority.*50"))).to_be_visible(
            timeout=STEP_MS)

        # N opens the note, from anywhere but a text field.
        page.locator("body").press("n")
        dialog = page.get_by_role("dialog", name="Add a private note")
        dialog.get_by_label("Note").fill("pediu desconto")
        dialog.get_by_role("button", name="Save note").click()
        expect(page.get_by_text("pediu desconto", exact=True)).to_be_visible(timeout=STEP_MS)

        page.locator("body").press("t")
        dialog = page.get_by_role("dialog", name="Transfer")
        dialog.get_by_label("Team").select_option(str(desk.team_id))
        agent = dialog.get_by_label("Agent (optional)")
        expect(agent.locator(f"option[value='{colleague}']")).to_have_count(1, timeout=STEP_MS)
        agent.select_option(str(colleague))
        dialog.get_by_label("Note for whoever takes it").fill("cliente VIP, ver desconto")
        dialog.get_by_role("button", name="Transfer").click()
        expect(page.get_by_role("list", name="Conversations").get_by_text(
            "quero trocar de plano")).to_have_count(0, timeout=STEP_MS)
        browser.close()


async def test_an_agent_labels_prioritises_notes_and_transfers_in_the_browser(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=2,
                            PYTAKE_UI_DIR=str(built_app)) as desk:
        email, other = list(desk.agents)
        async with desk.connect(other) as colleague:
            # Away: the customer's conversation is offered to the browser's agent, not here.
            assert await colleague.command("presence", status="away") == {"status": "away"}
            in_trio = _in_trio(trio.lowlevel.current_trio_token())
            await trio.to_thread.run_sync(_hand_over, desk, email, desk.agents[other], in_trio)
            assigned = await colleague.event("conversation.assigned", timeout=15.0)
    data = assigned["data"]
    assert data["note"] == "cliente VIP, ver desconto"
    assert data["labels"] == ["vip ⭐"]
    assert data["priority"] == 50
    assert data["preview"] == "quero trocar de plano"

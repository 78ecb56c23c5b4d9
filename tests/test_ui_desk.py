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

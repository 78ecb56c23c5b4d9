"""The operations dashboard in a real browser (Debian's Chromium driven by Playwright) against
PyTake on PostgreSQL with the Cloud API stand-in: a supervisor watches the messages-in number
move while the stand-in's simulated customers write, sees an actor crashed on purpose show its
crashes and restarts in the supervision tree, and its dead letter with the payload redacted;
an admin sees the payload and discards the letter behind a confirmation. axe-core finds
nothing serious on the page.

The browser runs in a worker thread (Playwright's sync API), as in test_ui_desk.py."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import trio
from playwright.sync_api import Page, expect, sync_playwright

from pytake.store import UserRole

from .agent_support import PASSWORD, Desk, running_desk
from .test_ui_desk import (
    ARGS,
    CHROMIUM,
    STEP_MS,
    built_app,  # noqa: F401 (a fixture)
    serious_accessibility_problems,
)


@attrs.frozen
class CrashOnPurpose:
    """No actor handles it: the agent actor raises on it, as on any message it does not know."""

    why: str


def _sign_in_as(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=STEP_MS)


def _open_dashboard(page: Page) -> None:
    page.get_by_role("navigation", name="Sections").get_by_role(
        "link", name="Operations").click()
    expect(page).to_have_url(re.compile(r"/ops$"), timeout=STEP_MS)
    expect(page.get_by_role("heading", name="Operations", level=1)).to_be_visible(
        timeout=STEP_MS)
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=STEP_MS)


def _supervisor_watches(base: str, supervisor: str, start_load: Callable[[], None],
                        crash: Callable[[], None]) -> list[str]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US").new_page()
        _sign_in_as(page, base, supervisor)
        _open_dashboard(page)

        # Nobody wrote yet; then the customers write a few messages a second, and the
        # number moves off zero by itself (pushed, not reloaded).
        messages_in = page.get_by_test_id("ops-tile-messagesIn")
        expect(messages_in).to_have_text("0/s", timeout=STEP_MS)
        start_load()
        expect(messages_in).to_have_text(re.compile(r"^(?!0/s$)[0-9][0-9.,]*/s$"),
                                         timeout=STEP_MS)
        expect(page.get_by_role("figure", name="Messages per second")).to_be_visible()
        # Nobody answers (the team's agent is not connected): the customers wait in the queue.
        expect(page.get_by_test_id("ops-tile-queueWaiting")).to_have_text(
            re.compile(r"^[1-9][0-9,]*$"), timeout=STEP_MS)

        # An agent actor crashed on purpose: its kind's crashes and restarts go up, live.
        crashes = page.get_by_test_id("ops-crashes-agent")
        expect(crashes).to_have_text("0", timeout=STEP_MS)
        crash()
        expect(crashes).to_have_text(re.compile(r"^[1-9][0-9]*$"), timeout=STEP_MS)
        expect(page.get_by_test_id("ops-restarts-agent")).to_have_text(
            re.compile(r"^[1-9][0-9]*$"), timeout=STEP_MS)
        tree = page.get_by_role("region", name="Supervision tree")
        agent_node = tree.locator("li[data-node='agent']")
        expect(agent_node).to_contain_text(re.compile(r"Crashes: [1-9]"), timeout=STEP_MS)
        tree.get_by_role("button", name=re.compile("actors")).click()
        expect(agent_node).to_be_hidden()
        tree.get_by_role("button", name=re.compile("actors")).click()
        expect(agent_node).to_be_visible()

        # Its dead letter, without the payload.
        letters = page.get_by_role("region", name="Dead letters")
        row = letters.get_by_role("row").filter(has_text="CrashOnPurpose")
        expect(row).to_be_visible(timeout=STEP_MS)
        expect(row).to_contain_text("[redacted")
        expect(row.get_by_role("button", name=re.compile("Retry|Discard"))).to_have_count(0)
        problems = serious_accessibility_problems(page)
        browser.close()
    return problems


def _admin_discards(base: str, admin: str) -> list[str]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US").new_page()
        _sign_in_as(page, base, admin)
        _open_dashboard(page)
        letters = page.get_by_role("region", name="Dead letters")
        row = letters.get_by_role("row").filter(has_text="CrashOnPurpose")
        expect(row).to_contain_text("CrashOnPurpose(why='on purpose')", timeout=STEP_MS)
        row.get_by_role("button", name=re.compile("^Discard")).click()
        dialog = page.get_by_role("dialog", name="Discard this dead letter?")
        problems = serious_accessibility_problems(page)
        dialog.get_by_role("button", name="Discard for good").click()
        expect(letters.get_by_role("status")).to_have_text("Discarded.", timeout=STEP_MS)
        expect(row).to_have_count(0, timeout=STEP_MS)
        browser.close()
    return problems


async def _customers_write(desk: Desk, done: trio.Event) -> None:
    customers = [desk.customer(f"Cliente {n}") for n in range(5)]
    n = 0
    while not done.is_set():
        await desk.sim.send_text(customers[n % len(customers)], f"mensagem {n}")
        n += 1
        await trio.sleep(0.1)


async def test_the_dashboard_moves_under_load_and_shows_a_crash(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:  # noqa: F811
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app),
                            PYTAKE_OPS_SAMPLE_INTERVAL="0.5") as desk:
        engine = desk.edge.engine
        supervisor = f"sup-{secrets.token_hex(3)}@example.com"
        admin = f"admin-{secrets.token_hex(3)}@example.com"
        await engine.identity.create_user(supervisor, "Sup Sara", UserRole.SUPERVISOR,
                                          PASSWORD)
        await engine.identity.create_user(admin, "Admin Ana", UserRole.ADMIN, PASSWORD)
        agent_id = str(next(iter(desk.agents.values())))
        token = trio.lowlevel.current_trio_token()

        done = trio.Event()
        async with trio.open_nursery() as nursery:

            def start_load() -> None:
                trio.from_thread.run_sync(nursery.start_soon, _customers_write, desk, done,
                                          trio_token=token)

            def crash() -> None:
                # One message, crashing its actor at each of its poison_threshold attempts.
                trio.from_thread.run(engine.router.tell, "agent", agent_id,
                                     CrashOnPurpose("on purpose"), trio_token=token)

            try:
                problems: dict[str, Any] = {}
                problems["supervisor"] = await trio.to_thread.run_sync(
                    _supervisor_watches, desk.base_url, supervisor, start_load, crash)
            finally:
                done.set()
        problems["admin"] = await trio.to_thread.run_sync(_admin_discards, desk.base_url, admin)
        assert problems == {"supervisor": [], "admin": []}, problems
        kinds = {k["kind"]: k for k in engine.supervision_summary()["kinds"]}
        assert kinds["agent"]["crashes"] >= engine.settings.actors.poison_threshold
        assert kinds["agent"]["dead_letters"] >= 1

"""The admin panel's later pages in a real browser (Debian's Chromium driven by Playwright)
against PyTake on PostgreSQL with the Cloud API stand-in, as test_ui_admin.py does:

- the boleto module is configured through the form generated from its manifest (its secret
  typed once, never shown back), and the example boleto flow then answers a simulated customer
  with a slip from the billing API stand-in, which checks the Bearer token the form stored;
- a team's business hours are saved in one time zone and then another, and the page says
  "open" and "closed" as the server's `BusinessHours` does for the same instant;
- an invitation by link: the link opened in a fresh browser sets the password and signs in;
- axe-core finds nothing serious on those pages.

``PYTAKE_TEST_APP_DIR`` names another build of the web app to serve (one with routes the
default build does not have yet); by default the built app of test_ui_desk.py is used."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trio
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from pytake.routing import BusinessHours
from pytake.standins.apis import BillingApiStandIn, run_app
from pytake.store import UserRole, upgrade

from .agent_support import PASSWORD, Desk, running_desk
from .flow_support import publish_examples
from .test_ui_admin import _sign_in_as
from .test_ui_desk import (
    ARGS,
    CHROMIUM,
    STEP_MS,
    built_app,  # noqa: F401 (a fixture)
    serious_accessibility_problems,
)

#: Zones tried for the business-hours journey; one of them is mid-day at any instant. Each
#: is its own canonical name in Chromium's ICU too (which lists Asia/Calcutta, not Kolkata).
ZONES = ("America/Sao_Paulo", "Europe/Lisbon", "Asia/Dubai", "Asia/Tokyo",
         "America/Los_Angeles", "Pacific/Auckland")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A CPF whose check digits are right (the flow's validator refuses others).
CPF = "529.982.247-25"


@pytest.fixture
def app_dir(built_app: Path) -> Path:  # noqa: F811
    other = os.environ.get("PYTAKE_TEST_APP_DIR")
    return Path(other) if other else built_app


def _origin(desk: Desk) -> str:
    return desk.base_url.rstrip("/")


async def _admin(desk: Desk) -> str:
    email = f"admin-{secrets.token_hex(3)}@example.com"
    await desk.edge.engine.identity.create_user(email, "Admin Ana", UserRole.ADMIN, PASSWORD)
    return email


def _browser_page(playwright: Playwright) -> tuple[Browser, Page]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    return browser, browser.new_context(locale="en-US").new_page()


# --- (a) a module configured through its generated form, then called by a flow ---------------


def _configure_boleto(base: str, admin: str, billing_url: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser, page = _browser_page(playwright)
        _sign_in_as(page, base, admin, PASSWORD)
        page.goto(base + "/admin/modules")
        expect(page.get_by_role("heading", name="Modules", exact=True)).to_be_visible(
            timeout=STEP_MS)
        expect(page.get_by_role("rowheader", name=re.compile("^boleto"))).to_be_visible(
            timeout=STEP_MS)
        problems["modules"] = serious_accessibility_problems(page)

        page.get_by_role("button", name="Configure boleto").click()
        form = page.get_by_role("form", name="Configuration of boleto for default")
        expect(form.get_by_text("Not configured for this tenant yet.")).to_be_visible(
            timeout=STEP_MS)
        form.get_by_label("base_url (required)", exact=True).fill(billing_url)
        form.get_by_label("api_token", exact=True).fill("billing-token")
        form.get_by_label("send_pdf", exact=True).select_option("false")
        form.get_by_label("max_slips", exact=True).fill("two")
        form.get_by_role("button", name="Save").click()
        slips = form.get_by_label("max_slips", exact=True)
        expect(slips).to_have_attribute("aria-invalid", "true")
        problems["the module form with an error"] = serious_accessibility_problems(page)
        slips.fill("2")
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible(
            timeout=STEP_MS)

        # Read back: the secret is "set", its box empty; the page never holds its value.
        page.reload()
        page.get_by_role("button", name="Configure boleto").click()
        token = form.get_by_label("api_token", exact=True)
        expect(token).to_have_value("", timeout=STEP_MS)
        expect(token).to_have_accessible_description(re.compile("Secret: set"))
        expect(form.get_by_label("base_url (required)", exact=True)).to_have_value(billing_url)
        expect(form.get_by_label("send_pdf", exact=True)).to_have_value("false")
        assert "billing-token" not in page.content()
        problems["the module form"] = serious_accessibility_problems(page)
        browser.close()
    return problems


async def test_a_module_configured_in_its_generated_form_answers_a_customer_in_a_flow(
        empty_pg_url: str, tmp_path: Path, app_dir: Path) -> None:
    upgrade(empty_pg_url)  # a database of its own: the module's default configuration
    async with run_app(BillingApiStandIn(token="billing-token", seed=5)) as billing, \
            running_desk(empty_pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(app_dir),
                         PYTAKE_FLOWS_KEYWORDS="boleto=boleto",
                         PYTAKE_SECRET_KEY="m" * 40) as desk:
        await desk.edge.engine.db.run(publish_examples, ("boleto",))
        admin = await _admin(desk)
        problems = await trio.to_thread.run_sync(
            _configure_boleto, _origin(desk), admin, billing.base_url)
        assert problems == {k: [] for k in problems}, problems

        token = await desk.token(admin)
        stored = (await desk.edge.client.get(
            "/api/v1/modules/boleto/configs/default",
            headers={"authorization": f"Bearer {token}"})).json()
        assert stored["config"] == {"base_url": billing.base_url, "api_token": "***",
                                    "send_pdf": False, "max_slips": 2}
        assert stored["secrets_set"] == ["api_token"]

        billing.add_slip("52998224725", "87.10", dt.date(2026, 12, 20))
        customer = desk.customer()
        await desk.sim.send_text(customer, "Boleto")  # the keyword starts the flow
        (ask,) = await desk.wait_sent_to(customer, n=1)
        assert "CPF" in ask.body["text"]["body"]
        await desk.sim.send_text(customer, CPF)
        sent = await desk.wait_sent_to(customer, n=3, timeout=15)  # the slip, then the thanks
        bodies = " ".join(json.dumps(s.body, ensure_ascii=False) for s in sent)
        assert "R$ 87,10" in bodies and "Pronto" in bodies, bodies
        # The stand-in refuses a wrong token: the answer proves the typed secret was stored.
        assert billing.requests and "52998224725" in str(billing.requests[-1].query)


# --- (b) business hours in a time zone ----------------------------------------------------------


def _hours(zone: str, now: dt.datetime) -> tuple[str, str, str]:
    """A range on today's weekday in ``zone`` holding ``now`` with an hour's margin either
    side: (weekday, opens, closes)."""
    local = now.astimezone(ZoneInfo(zone))
    return WEEKDAYS[local.weekday()], f"{local.hour - 2:02d}:00", f"{local.hour + 3:02d}:00"


def _edit_hours(base: str, admin: str, team: str, open_zone: str, closed_zone: str,
                day: str, opens: str, closes: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser, page = _browser_page(playwright)
        _sign_in_as(page, base, admin, PASSWORD)
        page.goto(base + "/admin/teams")
        page.get_by_role("navigation", name="Teams", exact=True).get_by_role(
            "button", name=re.compile(re.escape(team))).click()
        hours = page.get_by_role("form", name="Business hours")
        expect(hours.get_by_text("No business hours set: always open.")).to_be_visible(
            timeout=STEP_MS)
        hours.get_by_label("Time zone").select_option(open_zone)
        label = DAYS[WEEKDAYS.index(day)]
        hours.get_by_role("button", name=f"Add a range to {label}").click()
        hours.get_by_label(f"{label}, range 1: opens", exact=True).fill(opens)
        hours.get_by_label(f"{label}, range 1: closes", exact=True).fill("25:00")
        hours.get_by_role("button", name="Save business hours").click()
        expect(hours.get_by_text("Some hours need fixing")).to_be_visible(timeout=STEP_MS)
        problems["the business hours editor with an error"] = serious_accessibility_problems(page)
        hours.get_by_label(f"{label}, range 1: closes", exact=True).fill(closes)
        hours.get_by_role("button", name="Add a holiday").click()
        hours.get_by_label("Holiday 1", exact=True).fill("2025-12-25")
        hours.get_by_role("button", name="Save business hours").click()
        expect(hours.get_by_text(f"Now in {open_zone}: open")).to_be_visible(timeout=STEP_MS)
        problems["teams (business hours)"] = serious_accessibility_problems(page)

        # The same hours in another zone: the instant falls outside them there.
        hours.get_by_label("Time zone").select_option(closed_zone)
        hours.get_by_role("button", name="Save business hours").click()
        expect(hours.get_by_text(f"Now in {closed_zone}: closed")).to_be_visible(
            timeout=STEP_MS)
        browser.close()
    return problems


async def test_business_hours_saved_in_a_zone_show_the_team_open_or_closed(
        pg_url: str, tmp_path: Path, app_dir: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(app_dir)) as desk:
        admin = await _admin(desk)
        token = await desk.token(admin)
        auth = {"authorization": f"Bearer {token}"}
        team = (await desk.edge.client.get(f"/api/v1/teams/{desk.team_id}", headers=auth)).json()
        now = dt.datetime.now(dt.UTC)
        open_zone = next(z for z in ZONES if 3 <= now.astimezone(ZoneInfo(z)).hour <= 20)
        day, opens, closes = _hours(open_zone, now)
        weekly: dict[str | int, list[tuple[str, str]]] = {day: [(opens, closes)]}
        closed_zone = next(z for z in ZONES
                           if not BusinessHours(timezone=z, weekly=weekly).is_open(now))
        problems = await trio.to_thread.run_sync(
            _edit_hours, _origin(desk), admin, team["name"], open_zone, closed_zone, day,
            opens, closes)
        assert problems == {k: [] for k in problems}, problems

        saved = (await desk.edge.client.get(f"/api/v1/teams/{desk.team_id}",
                                            headers=auth)).json()
        assert saved["timezone"] == closed_zone
        assert saved["business_hours"] == {"weekly": {day: [[opens, closes]]},
                                           "holidays": ["2025-12-25"], "exceptions": {}}
        # What the browser said, the routing's own rules say for the same hours.
        later = dt.datetime.now(dt.UTC)
        stored = saved["business_hours"]
        assert not BusinessHours(timezone=closed_zone, **stored).is_open(later)
        assert BusinessHours(timezone=open_zone, **stored).is_open(later)


# --- (c) invitation by link ------------------------------------------------------------------


def _invite_by_link(base: str, admin: str, invited: str, password: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser, page = _browser_page(playwright)
        _sign_in_as(page, base, admin, PASSWORD)
        page.goto(base + "/admin/users")
        page.get_by_role("button", name="Invite a user").click()
        dialog = page.get_by_role("dialog", name="Invite a user")
        dialog.get_by_label("Email").fill(invited)
        dialog.get_by_label("Name").fill("Caio Convidado")
        dialog.get_by_role("button", name="Invite").click()
        field = dialog.get_by_label(f"Set-password link for {invited}")
        expect(field).to_be_visible(timeout=STEP_MS)
        link = field.input_value()
        assert link.startswith(base + "/set-password?token="), link
        problems["the invitation's link"] = serious_accessibility_problems(page)

        # Someone else's browser: no session, nothing in storage.
        fresh = browser.new_context(locale="en-US").new_page()
        fresh.goto(link)
        expect(fresh.get_by_role("heading", name="Choose your password")).to_be_visible(
            timeout=STEP_MS)
        expect(fresh).to_have_url(base + "/set-password")  # the token left the address
        problems["set password"] = serious_accessibility_problems(fresh)
        fresh.get_by_label("New password").fill(password)
        fresh.get_by_label("Repeat the password").fill(password)
        fresh.get_by_role("button", name="Set password and sign in").click()
        expect(fresh.get_by_role("button", name="Sign out")).to_be_visible(timeout=STEP_MS)
        expect(fresh).to_have_url(base + "/", timeout=STEP_MS)
        expect(fresh.get_by_role("link", name="Admin")).to_have_count(0)

        # The link works once.
        again = browser.new_context(locale="en-US").new_page()
        again.goto(link)
        again.get_by_label("New password").fill(password + "!")
        again.get_by_label("Repeat the password").fill(password + "!")
        again.get_by_role("button", name="Set password and sign in").click()
        expect(again.get_by_role("alert")).to_contain_text("already used", timeout=STEP_MS)
        browser.close()
    return problems


async def test_an_invited_user_opens_the_link_sets_a_password_and_is_signed_in(
        pg_url: str, tmp_path: Path, app_dir: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(app_dir)) as desk:
        admin = await _admin(desk)
        invited = f"caio-{secrets.token_hex(3)}@example.com"
        password = "violeta " + secrets.token_hex(4)
        problems = await trio.to_thread.run_sync(
            _invite_by_link, _origin(desk), admin, invited, password)
        assert problems == {k: [] for k in problems}, problems
        signed = await desk.edge.client.post(
            "/api/v1/auth/login", json={"email": invited, "password": password})
        assert signed.status_code == 200, signed.text

"""The agents' desk in a real browser (Debian's Chromium driven by Playwright) against PyTake
on PostgreSQL with the Cloud API stand-in: sign in, a customer's message offered and
accepted, a reply that reaches the stand-in, the browser offline while three messages arrive
(all shown, in order, without a reload), a customer's HTML shown as text, resolve; labels,
priority, a note and a transfer; the server killed and started again under an open desk.

The browser runs in a worker thread (Playwright's sync API); the customers and the stand-in
run in the test's trio loop, reached with ``trio.from_thread``."""

from __future__ import annotations

import re
import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from playwright.sync_api import Page, expect, sync_playwright

from pytake.standins.whatsapp import Customer, CustomerSimulator, RetryPolicy, run_standin
from pytake.standins.whatsapp._payloads import text_message
from pytake.store import TeamMember, UserRole
from pytake.web._app_files import find_app_dir

from .agent_support import PASSWORD, Desk, running_desk, seed_agent
from .process_support import free_port, server_env, server_process, until_ready
from .webhook_support import APP_SECRET, wa_id

# The stand-in may report delivered and read within the same instant as sent, so the status
# shown may already be past "Sent" when the test looks.
ACCEPTED_BY_WHATSAPP = re.compile(r"^(Sent|Delivered|Read)$")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Fixed, so that the desk's tokens stay valid across a server restart.
RESTART_KEY = "r" * 48
#: How long a browser step may wait for the page (a busy CI machine, the first render).
STEP_MS = 15_000


@pytest.fixture
def built_app() -> Path:
    folder = find_app_dir()
    assert folder is not None, "the web app is not built: run `make ui` (make test builds it)"
    assert Path(CHROMIUM).exists(), "Chromium is missing: scripts/ensure-browser.sh installs it"
    return folder


#: axe-core, from the web app's npm dev dependencies (the build does not ship it).
AXE = Path(__file__).resolve().parent.parent / "ui" / "node_modules" / "axe-core" / "axe.min.js"


def serious_accessibility_problems(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now (WCAG 2.1 A/AA)."""
    assert AXE.exists(), "axe-core is missing: `npm ci` in ui/ installs it"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the driver: the page's CSP (rightly) refuses an injected script tag.
        page.evaluate(AXE.read_text() + "\n;true")
    result = page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _in_trio(token: trio.lowlevel.TrioToken) -> Callable[..., Any]:
    def call(fn: Callable[..., Any], *args: Any) -> Any:
        return trio.from_thread.run(fn, *args, trio_token=token)

    return call


#: The sign-in page's words in English; `_sign_in` takes others for another language.
ENGLISH = ("Email", "Password", "Sign in", "Connected")


def _sign_in(page: Page, base: str, email: str, words: tuple[str, ...] = ENGLISH) -> None:
    email_label, password_label, submit, connected = words
    page.goto(base + "/login")
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=submit).click()
    expect(page.get_by_role("status").filter(has_text=connected)).to_be_visible(
        timeout=STEP_MS)


def _journey(desk: Desk, email: str, in_trio: Callable[..., Any]) -> list[str]:
    customer = desk.customer("Ana <b>Ñandú</b>")
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(desk.base_url + "/login")
        expect(page.get_by_label("Email")).to_be_visible(timeout=STEP_MS)
        problems = {"sign-in": serious_accessibility_problems(page)}
        _sign_in(page, desk.base_url, email)

        in_trio(desk.sim.send_text, customer, "preciso de ajuda")
        expect(page.get_by_role("button", name="Accept")).to_be_visible(timeout=STEP_MS)
        problems["an offer"] = serious_accessibility_problems(page)
        page.get_by_role("button", name="Accept").click(timeout=STEP_MS)
        log = page.get_by_role("log", name="Messages")
        expect(log.get_by_text("preciso de ajuda")).to_be_visible(timeout=STEP_MS)
        problems["a conversation"] = serious_accessibility_problems(page)
        page.get_by_role("button", name="Customer details").click()
        expect(page.get_by_role("complementary", name="Customer")).to_contain_text(
            "Ana", timeout=STEP_MS)
        problems["the customer panel"] = serious_accessibility_problems(page)
        page.locator("body").press("t")
        expect(page.get_by_role("dialog", name="Transfer")).to_be_visible(timeout=STEP_MS)
        problems["the transfer dialog"] = serious_accessibility_problems(page)
        page.keyboard.press("Escape")
        assert problems == {k: [] for k in problems}, problems

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
        # Shortcuts are off while a dialog is open: T is pressed once the note's has closed.
        expect(dialog).to_have_count(0, timeout=STEP_MS)

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


def _through_a_restart(env: dict[str, str], port: int, log: Path, email: str,
                       customer: Customer, sim: CustomerSimulator,
                       in_trio: Callable[..., Any], in_background: Callable[..., Any]) -> None:
    """A signed-in desk while its server is killed (SIGKILL) and started again: the desk
    shows it is reconnecting, then catches up by itself with what the customer wrote while
    the server was down, once and in order."""
    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US").new_page()
        with server_process(env, port, log) as first:
            in_trio(until_ready, base)
            _sign_in(page, base, email)
            in_trio(sim.send_text, customer, "meu boleto venceu")
            page.get_by_role("button", name="Accept").click(timeout=STEP_MS)
            messages = page.get_by_role("log", name="Messages")
            expect(messages.get_by_text("meu boleto venceu")).to_be_visible(timeout=STEP_MS)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        status = page.get_by_role("status")
        expect(status).to_have_text(re.compile("Reconnecting|Offline"), timeout=STEP_MS)
        # Sent while the server is down: the simulator retries, as the Cloud API does.
        in_background(sim.send_text, customer, "alô? ainda aí?")
        with server_process(env, port, log):
            in_trio(until_ready, base)
            expect(messages.get_by_text("alô? ainda aí?")).to_be_visible(timeout=30_000)
            expect(status).to_have_text("Connected", timeout=STEP_MS)
            shown = messages.inner_text()
            assert shown.count("meu boleto venceu") == 1
            assert shown.index("meu boleto venceu") < shown.index("alô? ainda aí?")
            page.get_by_label("Message").fill("Estou aqui!")
            page.get_by_role("button", name="Send").click()
            expect(messages.get_by_text(ACCEPTED_BY_WHATSAPP)).to_be_visible(timeout=STEP_MS)
        browser.close()


# The killed server drops the sockets of its clients (the simulator's HTTP connections).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_the_desk_catches_up_by_itself_after_the_server_restarts(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:
    team_name = "team-" + secrets.token_hex(4)
    email, _ = await seed_agent(pg_url, team_name, RESTART_KEY)
    port = free_port()
    log = tmp_path / "server.log"
    customer = Customer(wa_id(), "Ana")
    async with run_standin(token="sim-token") as standin, trio.open_nursery() as nursery:
        env = server_env(
            pg_url, tmp_path,
            PYTAKE_UI_DIR=str(built_app),
            PYTAKE_SECRET_KEY=RESTART_KEY,
            PYTAKE_WHATSAPP_APP_SECRET=APP_SECRET,
            PYTAKE_WHATSAPP_ACCESS_TOKEN="sim-token",
            PYTAKE_WHATSAPP_API_BASE=str(standin.base_url),
            PYTAKE_ROUTING_DEFAULT_TEAM=team_name,
            PYTAKE_AGENT_OFFLINE_GRACE="60",
        )
        async with CustomerSimulator(f"http://127.0.0.1:{port}/webhooks/whatsapp", APP_SECRET,
                                     customers=[customer], standin=standin,
                                     retry=RetryPolicy(delays=(0.25,) * 200)) as sim:
            token = trio.lowlevel.current_trio_token()

            def in_background(fn: Callable[..., Any], *args: Any) -> None:
                trio.from_thread.run_sync(nursery.start_soon, fn, *args, trio_token=token)

            await trio.to_thread.run_sync(_through_a_restart, env, port, log, email, customer,
                                          sim, _in_trio(token), in_background)
        assert any(s.body.get("text", {}).get("body") == "Estou aqui!" for s in standin.sent)
    assert "Traceback" not in log.read_text(errors="replace")


def _after_the_window(desk: Desk, email: str, customer: Customer,
                      in_trio: Callable[..., Any]) -> None:
    """A conversation whose customer last wrote 25 hours ago: the desk offers only approved
    templates, with their variables and a preview, and sends the one chosen."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="en-US").new_page()
        _sign_in(page, desk.base_url, email)
        old = text_message(customer, "cadê meu pedido?", timestamp=int(time.time()) - 25 * 3600)
        in_trio(desk.sim.send_message, customer, old)
        page.get_by_role("button", name="Accept").click(timeout=STEP_MS)
        expect(page.get_by_text("The 24-hour window has closed")).to_be_visible(timeout=STEP_MS)
        assert page.get_by_role("textbox", name="Message").count() == 0
        template = page.get_by_label("Template", exact=True)
        # Approved ones only: spring_offer is PENDING at the stand-in.
        expect(template.locator("option", has_text="order_shipped")).to_have_count(1,
                                                                                  timeout=STEP_MS)
        assert template.locator("option", has_text="spring_offer").count() == 0
        template.select_option(label="order_shipped (pt_BR)")
        send = page.get_by_role("button", name="Send template")
        expect(send).to_be_disabled()
        page.get_by_label("Value of {{customer}}").fill("Ana")
        page.get_by_label("Value of {{order}}").fill("991")
        expect(page.get_by_role("group", name="What the customer will read")).to_have_text(
            "Olá Ana, o pedido 991 saiu para entrega.")
        send.click()
        log = page.get_by_role("log", name="Messages")
        expect(log.get_by_text("Olá Ana, o pedido 991 saiu para entrega.")).to_be_visible(
            timeout=STEP_MS)
        expect(log.get_by_text(ACCEPTED_BY_WHATSAPP)).to_be_visible(timeout=STEP_MS)
        browser.close()


async def test_a_closed_window_offers_only_templates_in_the_browser(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app),
                            PYTAKE_WHATSAPP_WABA_ID="waba-desk") as desk:
        email = next(iter(desk.agents))
        customer = desk.customer("Ana")
        await trio.to_thread.run_sync(_after_the_window, desk, email, customer,
                                      _in_trio(trio.lowlevel.current_trio_token()))
        (sent,) = await desk.wait_sent_to(customer, 1, 15.0)
    assert sent.body["type"] == "template"
    assert sent.body["template"]["name"] == "order_shipped"
    assert sent.body["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "customer", "text": "Ana"},
        {"type": "text", "parameter_name": "order", "text": "991"}]}]


async def test_the_template_list_has_the_approved_ones_with_their_variables(
        pg_url: str, tmp_path: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1,
                            PYTAKE_WHATSAPP_WABA_ID="waba-desk") as desk:
        client = desk.edge.client
        assert (await client.get("/api/v1/templates")).status_code == 401
        token = await desk.token(next(iter(desk.agents)))
        with trio.fail_after(10):  # synced from the stand-in at start
            while not (listed := (await client.get(
                    "/api/v1/templates", headers={"authorization": f"Bearer {token}"}
            )).json())["synced"]:
                await trio.sleep(0.05)
    by_name = {t["name"]: t for t in listed["templates"]}
    assert sorted(by_name) == ["hello_world", "order_shipped", "ticket_update"]
    assert by_name["order_shipped"]["variables"] == ["customer", "order"]
    assert by_name["ticket_update"]["variables"] == ["1", "2"]
    assert by_name["ticket_update"]["buttons"] == ["Reabrir"]
    hello = by_name["hello_world"]
    assert (hello["header"], hello["variables"], hello["footer"]) == (
        "Hello World", [], "WhatsApp Business Platform sample message")


def _supervise(desk: Desk, email: str, customer: Customer, agent_name: str,
               in_trio: Callable[..., Any]) -> None:
    """A supervisor's team view: the waiting conversation, watched read-only, assigned to an
    agent, then taken over."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        _sign_in(page, desk.base_url, email)
        # Away, as a supervisor who is also a member would be: no offers, still team events.
        status = page.get_by_label("Your status")
        expect(status).to_be_enabled(timeout=STEP_MS)
        status.select_option("away")
        expect(status).to_have_value("away", timeout=STEP_MS)
        in_trio(desk.sim.send_text, customer, "quero falar com alguém")
        page.get_by_role("navigation", name="Views").get_by_role("button", name="Team").click()
        # The run's database holds other tests' teams too.
        page.get_by_label("Team to watch").select_option(str(desk.team_id))
        row = page.get_by_role("row").filter(has_text=customer.name)
        expect(row).to_contain_text("waiting", timeout=STEP_MS)
        queue = page.get_by_role("definition").first
        expect(queue).to_have_text("1", timeout=STEP_MS)
        assert serious_accessibility_problems(page) == []

        # Live from the team feed (nothing re-reads the list): a customer who writes now
        # shows at once, and one who writes while the browser is offline shows once it is back.
        expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(
            timeout=STEP_MS)
        newcomer = desk.customer(f"Recém {secrets.token_hex(2)}")
        in_trio(desk.sim.send_text, newcomer, "cheguei agora")
        expect(page.get_by_role("row").filter(has_text=newcomer.name)).to_contain_text(
            "waiting", timeout=STEP_MS)
        context.set_offline(True)
        expect(page.get_by_role("status").filter(has_text="Connecting")).to_be_visible(
            timeout=STEP_MS)
        late = desk.customer(f"Offline {secrets.token_hex(2)}")
        in_trio(desk.sim.send_text, late, "escrevi enquanto estava offline")
        context.set_offline(False)
        expect(page.get_by_role("row").filter(has_text=late.name)).to_contain_text(
            "waiting", timeout=STEP_MS)
        expect(queue).to_have_text("3", timeout=STEP_MS)

        page.get_by_role("button", name=f"Watch the conversation with {customer.name}").click()
        watched = page.get_by_role("dialog")
        expect(watched.get_by_text("quero falar com alguém")).to_be_visible(timeout=STEP_MS)
        watched.get_by_role("button", name="Close").click()

        page.get_by_label(f"Assign the conversation with {customer.name} to").select_option(
            label=agent_name)
        expect(row).to_contain_text(agent_name, timeout=STEP_MS)
        expect(row).to_contain_text("assigned")

        page.get_by_role("button", name=f"Take over the conversation with {customer.name}").click()
        expect(row).to_contain_text("Supervisora", timeout=STEP_MS)
        page.get_by_role("navigation", name="Views").get_by_role(
            "button", name="My conversations").click()
        expect(page.get_by_role("list", name="Conversations").get_by_text(
            "quero falar com alguém")).to_be_visible(timeout=STEP_MS)
        browser.close()


async def test_a_supervisor_watches_assigns_and_takes_over_in_the_browser(
        pg_url: str, tmp_path: Path, built_app: Path) -> None:
    async with running_desk(pg_url, tmp_path, agents=1, PYTAKE_UI_DIR=str(built_app)) as desk:
        (agent_email,) = desk.agents
        supervisor = f"supervisor-{secrets.token_hex(3)}@example.com"
        info = await desk.edge.engine.identity.create_user(
            supervisor, "Supervisora Ângela", UserRole.SUPERVISOR, PASSWORD)
        await desk.edge.engine.db.run(_join, desk.team_id, info.id)
        customer = desk.customer(f"Cliente {secrets.token_hex(2)}")
        async with desk.connect(agent_email) as agent:
            # Away: nothing is offered to the agent; the conversation waits in the queue.
            await agent.command("presence", status="away")
            await trio.to_thread.run_sync(_supervise, desk, supervisor, customer, "Agent 0",
                                          _in_trio(trio.lowlevel.current_trio_token()))
            assigned = await agent.event("conversation.assigned", timeout=15.0)
            assert assigned["data"]["preview"] == "quero falar com alguém"
            taken = await agent.event("conversation.transferred", timeout=15.0)
            assert taken["data"]["reason"] == "reassign"


def _join(session: Any, team_id: int, user_id: int) -> None:
    session.add(TeamMember(team_id=team_id, user_id=user_id, skills=[], max_concurrent=5))

"""Outbound WhatsApp: message builders and their limits, the 24-hour window, the send
governor (on MockClock), the template catalogue and the Cloud API client against the stand-in."""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio
import trio.testing

from pytake.errors import CloudApiError, InvalidMessage, WindowClosed
from pytake.messaging import CloudApiClient, Outcome, SendGovernor, TemplateCatalogue, is_retryable
from pytake.standins.whatsapp import CloudApiStandIn, run_standin
from pytake.whatsapp import (
    WINDOW_SECONDS,
    Button,
    Header,
    ListRow,
    ListSection,
    check_window,
    list_message,
    mark_read_body,
    media_message,
    normalize_recipient,
    reaction_message,
    reply_buttons_message,
    template_message,
    text_message,
    window_open,
)

TO = "+34600111222"


def api(standin: CloudApiStandIn) -> str:
    """The stand-in's base URL (set once it is serving)."""
    assert standin.base_url is not None
    return standin.base_url


def problems(exc: pytest.ExceptionInfo[InvalidMessage]) -> list[str]:
    return exc.value.problems


# --- recipients --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+34600111222", "+34600111222"),
        ("34600111222", "+34600111222"),
        ("+55 (11) 99999-0000", "+5511999990000"),
        ("  1.415.555.0100 ", "+14155550100"),
        ("US.13491208655302741918", "US.13491208655302741918"),
    ],
)
def test_recipient_normalization(given: str, expected: str) -> None:
    assert normalize_recipient(given) == expected


@pytest.mark.parametrize("bad", ["", "   ", "+12 34", "1" * 16, "0034600111222", "a b", "x" * 257])
def test_recipient_rejected(bad: str) -> None:
    with pytest.raises(InvalidMessage):
        normalize_recipient(bad)


# --- text and media ----------------------------------------------------------------------------


def test_text_body_shape() -> None:
    body = text_message("34600111222", "hi", preview_url=True, reply_to="wamid.X")
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"preview_url": True, "body": "hi"},
        "context": {"message_id": "wamid.X"},
    }


def test_text_limits() -> None:
    text_message(TO, "x" * 4096)
    with pytest.raises(InvalidMessage) as exc:
        text_message(TO, "x" * 4097)
    assert problems(exc) == ["text.body: at most 4096 characters, got 4097"]
    with pytest.raises(InvalidMessage):
        text_message(TO, "")


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidMessage) as exc:
        text_message("", "x" * 5000)
    assert len(problems(exc)) == 2
    assert problems(exc)[0].startswith("to:")


def test_media_by_id_and_link() -> None:
    assert media_message(TO, "image", id="123", caption="Invoice")["image"] == {
        "id": "123", "caption": "Invoice",
    }
    doc = media_message(TO, "document", link="https://x.example/a.pdf", filename="a.pdf")
    assert doc["document"] == {"link": "https://x.example/a.pdf", "filename": "a.pdf"}
    media_message(TO, "video", id="1", caption="c" * 1024)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"type": "image"}, "exactly one of id or link"),
        ({"type": "image", "id": "1", "link": "https://a"}, "exactly one of id or link"),
        ({"type": "image", "link": "ftp://a"}, "http(s) URL"),
        ({"type": "audio", "id": "1", "caption": "no"}, "take no caption"),
        ({"type": "sticker", "id": "1", "caption": "no"}, "take no caption"),
        ({"type": "image", "id": "1", "caption": "c" * 1025}, "at most 1024"),
        ({"type": "image", "id": "1", "filename": "a.png"}, "only documents take a filename"),
        ({"type": "gif", "id": "1"}, "type: must be one of"),
    ],
)
def test_media_rules(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidMessage) as exc:
        media_message(TO, **kwargs)
    assert any(fragment in p for p in problems(exc)), problems(exc)


# --- interactive -------------------------------------------------------------------------------


def test_reply_buttons_shape() -> None:
    body = reply_buttons_message(
        TO, "Resolved?", [Button("yes", "Yes"), Button("no", "No")],
        header=Header.of_text("Ticket"), footer="PyTake",
    )
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert interactive["action"]["buttons"][1] == {"type": "reply",
                                                   "reply": {"id": "no", "title": "No"}}
    assert interactive["header"] == {"type": "text", "text": "Ticket"}
    assert interactive["footer"] == {"text": "PyTake"}
    media = reply_buttons_message(TO, "b", [Button("a", "A")],
                                  header=Header.of_media("image", id="55"))
    assert media["interactive"]["header"] == {"type": "image", "image": {"id": "55"}}


@pytest.mark.parametrize(
    ("buttons", "kwargs", "fragment"),
    [
        ([], {}, "buttons: between 1 and 3"),
        ([Button(str(i), str(i)) for i in range(4)], {}, "buttons: between 1 and 3"),
        ([Button("a", "t" * 21)], {}, "buttons[0].title: at most 20"),
        ([Button("i" * 257, "t")], {}, "buttons[0].id: at most 256"),
        ([Button("a", "Same"), Button("b", "Same")], {}, "title 'Same' is used twice"),
        ([Button("a", "A"), Button("a", "B")], {}, "id 'a' is used twice"),
        ([Button("a", "A")], {"body": "b" * 1025}, "body.text: at most 1024"),
        ([Button("a", "A")], {"footer": "f" * 61}, "footer.text: at most 60"),
        ([Button("a", "A")], {"header": Header.of_text("h" * 61)}, "header.text: at most 60"),
    ],
)
def test_reply_button_limits(
    buttons: list[Button], kwargs: dict[str, Any], fragment: str
) -> None:
    args: dict[str, Any] = {"body": "Body", **kwargs}
    with pytest.raises(InvalidMessage) as exc:
        reply_buttons_message(TO, args.pop("body"), buttons, **args)
    assert any(fragment in p for p in problems(exc)), problems(exc)


def test_reply_button_limits_at_the_edge() -> None:
    reply_buttons_message(
        TO, "b" * 1024, [Button("i" * 256, "t" * 20), Button("j", "u"), Button("k", "v")],
        footer="f" * 60, header=Header.of_text("h" * 60),
    )


def _rows(n: int, prefix: str = "r") -> list[ListRow]:
    return [ListRow(f"{prefix}{i}", f"Row {i}") for i in range(n)]


def test_list_shape() -> None:
    body = list_message(
        TO, "Pick", "Topics",
        [ListSection("Orders", [ListRow("s", "Status", "Where is it?"), ListRow("r", "Returns")])],
        header="Help", footer="PyTake",
    )
    action = body["interactive"]["action"]
    assert action["button"] == "Topics"
    assert action["sections"][0]["rows"][0] == {"id": "s", "title": "Status",
                                                "description": "Where is it?"}
    assert body["interactive"]["header"] == {"type": "text", "text": "Help"}


@pytest.mark.parametrize(
    ("sections", "kwargs", "fragment"),
    [
        ([ListSection("A", _rows(6, "a")), ListSection("B", _rows(5, "b"))], {},
         "rows: between 1 and 10 in total, got 11"),
        ([ListSection(str(i), _rows(1, f"s{i}_")) for i in range(11)], {},
         "sections: between 1 and 10"),
        ([], {}, "sections: between 1 and 10"),
        ([ListSection("t" * 25, _rows(1))], {}, "sections[0].title: at most 24"),
        ([ListSection(None, _rows(1, "a")), ListSection("B", _rows(1, "b"))], {},
         "sections[0].title: must not be empty"),
        ([ListSection("A", [ListRow("x", "t" * 25)])], {}, "rows[0].title: at most 24"),
        ([ListSection("A", [ListRow("i" * 201, "t")])], {}, "rows[0].id: at most 200"),
        ([ListSection("A", [ListRow("x", "t", "d" * 73)])], {}, "description: at most 72"),
        ([ListSection("A", [ListRow("x", "a")]), ListSection("B", [ListRow("x", "b")])], {},
         "id 'x' is used twice"),
        ([ListSection("A", _rows(1))], {"button": "b" * 21}, "action.button: at most 20"),
        ([ListSection("A", _rows(1))], {"body": "b" * 4097}, "body.text: at most 4096"),
        ([ListSection("A", _rows(1))], {"header": "h" * 61}, "header.text: at most 60"),
        ([ListSection("A", _rows(1))], {"footer": "f" * 61}, "footer.text: at most 60"),
    ],
)
def test_list_limits(
    sections: list[ListSection], kwargs: dict[str, Any], fragment: str
) -> None:
    args: dict[str, Any] = {"body": "Body", "button": "Menu", **kwargs}
    with pytest.raises(InvalidMessage) as exc:
        list_message(TO, args.pop("body"), args.pop("button"), sections, **args)
    assert any(fragment in p for p in problems(exc)), problems(exc)


def test_list_limits_at_the_edge() -> None:
    list_message(
        TO, "b" * 4096, "b" * 20,
        [ListSection("s" * 24, [ListRow("i" * 200, "t" * 24, "d" * 72), *_rows(9)])],
        header="h" * 60, footer="f" * 60,
    )


# --- template, reaction, read ------------------------------------------------------------------


def test_template_shape() -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "991"}]}]
    body = template_message(TO, "ticket_update", "es_ES", components)
    assert body["template"] == {"name": "ticket_update", "language": {"code": "es_ES"},
                                "components": components}
    with pytest.raises(InvalidMessage) as exc:
        template_message(TO, "Bad Name", "spanish", [{"type": "button"}])
    assert len(problems(exc)) == 3


def test_reaction_and_removal() -> None:
    assert reaction_message(TO, "wamid.B2", "👍")["reaction"] == {"message_id": "wamid.B2",
                                                                  "emoji": "👍"}
    assert reaction_message(TO, "wamid.B2", "")["reaction"]["emoji"] == ""
    with pytest.raises(InvalidMessage):
        reaction_message(TO, "", "👍")


def test_mark_read_and_typing() -> None:
    assert mark_read_body("wamid.B2") == {"messaging_product": "whatsapp", "status": "read",
                                          "message_id": "wamid.B2"}
    assert mark_read_body("wamid.B2", typing=True)["typing_indicator"] == {"type": "text"}


# --- window ------------------------------------------------------------------------------------


def test_window() -> None:
    t = 1_767_225_600
    assert window_open(t, t + WINDOW_SECONDS - 1)
    assert not window_open(t, t + WINDOW_SECONDS)
    assert not window_open(None, t)
    check_window(TO, t, t + 10, "text")
    check_window(TO, None, t, "template")
    check_window(TO, None, t, "read")
    with pytest.raises(WindowClosed):
        check_window(TO, t, t + WINDOW_SECONDS + 1, "text")
    with pytest.raises(WindowClosed):
        check_window(TO, None, t, "reaction")


# --- governor ----------------------------------------------------------------------------------


def _error(code: int, status: int | None = 400) -> CloudApiError:
    return CloudApiError(code, f"(#{code})", http_status=status,
                         retryable=is_retryable(code, status))


async def test_token_bucket_paces_at_rate(autojump_clock: trio.testing.MockClock) -> None:
    gov = SendGovernor("n", rate=10, burst=1)
    start = trio.current_time()
    for i in range(21):
        await gov.acquire(f"c{i}")
    assert trio.current_time() - start == pytest.approx(2.0)


async def test_pair_interval(autojump_clock: trio.testing.MockClock) -> None:
    gov = SendGovernor("n", rate=1000, pair_interval=6)
    start = trio.current_time()
    await gov.acquire("a")
    await gov.acquire("b")
    assert trio.current_time() == pytest.approx(start)
    await gov.acquire("a")
    assert trio.current_time() - start == pytest.approx(6.0)
    assert not await gov.acquire("a", max_wait=1.0)


def test_throughput_error_pauses_the_number() -> None:
    gov = SendGovernor("n", backoff_base=1.0, rng=random.Random(1))
    first = gov.on_error("a", _error(130429, 429), 1, 100.0)
    assert first.outcome is Outcome.RETRY and first.retry_at is not None
    assert 100.5 <= first.retry_at <= 101.0
    assert gov.ready_at("someone-else", 100.0) == first.retry_at
    second = gov.on_error("a", _error(130429, 429), 2, 100.0)
    assert second.retry_at is not None and 101.0 <= second.retry_at <= 102.0
    gov.on_success("a", 103.0)
    third = gov.on_error("a", _error(130429, 429), 3, 200.0)
    assert third.retry_at is not None and third.retry_at <= 201.0


def test_pair_error_backs_off_one_recipient_4_to_the_n() -> None:
    gov = SendGovernor("n")
    waits = [gov.on_error("a", _error(131056), i, 0.0).retry_at for i in range(1, 4)]
    assert waits == [1.0, 4.0, 16.0]
    assert gov.ready_at("b", 0.0) == 0.0
    assert gov.ready_at("a", 0.0) == 16.0


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(131047, Outcome.NEEDS_TEMPLATE), (131026, Outcome.UNREACHABLE),
     (131049, Outcome.WAIT_24H), (131050, Outcome.OPTED_OUT), (100, Outcome.FAILED),
     (132001, Outcome.FAILED)],
)
def test_final_outcomes(code: int, outcome: Outcome) -> None:
    decision = SendGovernor("n").on_error("a", _error(code), 1, 0.0)
    assert decision.outcome is outcome and decision.final


def test_token_expired_alerts_and_stops_the_number(caplog: pytest.LogCaptureFixture) -> None:
    gov = SendGovernor("n", token_pause=300, max_attempts=3)
    decision = gov.on_error("a", _error(190, 401), 1, 10.0)
    assert decision.outcome is Outcome.TOKEN_EXPIRED and decision.retry_at == 310.0
    assert gov.alerts == 1 and gov.token_expired
    assert gov.paused_until(11.0) == 310.0
    assert any(r.levelname == "ERROR" for r in caplog.records)
    gov.token_changed()
    assert gov.paused_until(11.0) is None
    assert gov.on_error("a", _error(190, 401), 3, 20.0).final


def test_transient_errors_retry_with_bounded_backoff() -> None:
    gov = SendGovernor("n", backoff_base=2.0, max_attempts=4, rng=random.Random(0))
    network = CloudApiError(0, "dropped", retryable=True)
    delays = []
    for attempt in (1, 2, 3):
        d = gov.on_error("a", network, attempt, 0.0)
        assert d.outcome is Outcome.RETRY and d.retry_at is not None
        delays.append(d.retry_at)
    assert 1.0 <= delays[0] <= 2.0 and 2.0 <= delays[1] <= 4.0 and 4.0 <= delays[2] <= 8.0
    assert gov.on_error("a", network, 4, 0.0).outcome is Outcome.FAILED
    assert gov.on_error("a", _error(131000, 500), 1, 0.0).outcome is Outcome.RETRY
    proxy = CloudApiError(0, "HTTP 503", http_status=503, retryable=True)
    assert gov.on_error("a", proxy, 1, 0.0).outcome is Outcome.RETRY


# --- templates catalogue -----------------------------------------------------------------------


def test_template_catalogue() -> None:
    cat = TemplateCatalogue()
    cat.load([{"name": "hello", "language": "en_US", "status": "APPROVED"},
              {"name": "promo", "language": "pt_BR", "status": "PENDING"}])
    assert cat.approved("hello", "en_US")
    assert not cat.approved("hello", "es_ES")
    assert not cat.approved("promo", "pt_BR")
    with pytest.raises(InvalidMessage, match="PENDING"):
        cat.require_approved("promo", "pt_BR")
    with pytest.raises(InvalidMessage, match="only in en_US"):
        cat.require_approved("hello", "es_ES")
    cat.apply_status_update("promo", "pt_BR", "APPROVED")
    cat.require_approved("promo", "pt_BR")
    cat.apply_status_update("hello", "en_US", "PAUSED")
    assert not cat.approved("hello", "en_US")


# --- client against the stand-in ---------------------------------------------------------------


async def test_client_send_and_read() -> None:
    async with run_standin(token="tok") as standin, \
            CloudApiClient(api(standin), "v23.0", "tok") as client:
        result = await client.send("111", text_message("34600111222", "hello"))
        assert result.wamid.startswith("wamid.")
        assert result.wa_id == "34600111222" and result.input == TO
        await client.mark_read("111", result.wamid, typing=True)
        assert standin.sent[0].headers["authorization"] == "Bearer tok"
        assert standin.sent[1].body["typing_indicator"] == {"type": "text"}


async def test_client_error_shapes() -> None:
    async with run_standin(token="tok") as standin, \
            CloudApiClient(api(standin), "v23.0", "tok", timeout=5) as client:
        body = text_message(TO, "hi")
        expectations = [
            ("rate_limit_next", 130429, 429, True),
            ("server_error_next", 131000, 500, True),
        ]
        for knob, code, status, retryable in expectations:
            setattr(standin.faults, knob, 1)
            with pytest.raises(CloudApiError) as exc:
                await client.send("111", body)
            err = exc.value
            assert (err.code, err.http_status, err.retryable) == (code, status, retryable)
            assert err.fbtrace_id and err.details
        standin.faults.server_error_next = 1
        standin.faults.server_error_status = 503
        with pytest.raises(CloudApiError) as exc:
            await client.send("111", body)
        assert (exc.value.code, exc.value.http_status, exc.value.retryable) == (0, 503, True)
        standin.faults.drop_next = 1
        with pytest.raises(CloudApiError) as exc:
            await client.send("111", body)
        assert (exc.value.code, exc.value.http_status, exc.value.retryable) == (0, None, True)
        for code in (131047, 131026, 131056, 190):
            standin.faults.recipient_errors = {TO: code}
            with pytest.raises(CloudApiError) as exc:
                await client.send("111", body)
            assert exc.value.code == code
            assert exc.value.retryable is (code == 131056)
        standin.faults.recipient_errors = {}
        client.token = "wrong"
        with pytest.raises(CloudApiError) as exc:
            await client.send("111", body)
        assert (exc.value.code, exc.value.http_status, exc.value.retryable) == (190, 401, False)


async def test_client_timeout_is_retryable() -> None:
    async with run_standin(token="tok") as standin, \
            CloudApiClient(api(standin), "v23.0", "tok", timeout=0.1) as client:
        standin.faults.slow_next = 1
        standin.faults.slow_ms = 500
        with pytest.raises(CloudApiError) as exc:
            await client.send("111", text_message(TO, "hi"))
        assert exc.value.code == 0 and exc.value.retryable and "timed out" in str(exc.value)


async def test_client_connection_refused_is_retryable() -> None:
    async with CloudApiClient("http://127.0.0.1:9", "v23.0", "tok", timeout=2) as client:
        with pytest.raises(CloudApiError) as exc:
            await client.send("111", text_message(TO, "hi"))
        assert exc.value.code == 0 and exc.value.retryable


async def test_list_templates_follows_paging_and_syncs_catalogue() -> None:
    async with run_standin(token="tok") as standin, \
            CloudApiClient(api(standin), "v23.0", "tok") as client:
        templates = await client.list_templates("waba1", limit=1)
        assert [t["name"] for t in templates] == [t.name for t in standin.templates]
        cat = TemplateCatalogue()
        assert await cat.sync(client, "waba1") == len(standin.templates)
        assert cat.approved("hello_world", "en_US")
        assert not cat.approved("spring_offer", "pt_BR")

"""A bot with nothing to do (no published flow, no default team) says so in the log, once."""

from __future__ import annotations

import logging

import pytest

from .webhook_support import encode, envelope, running_edge, text_message, wa_id, webhook_settings


async def test_an_idle_bot_is_reported_once_per_process(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pytake.conversations")
    async with running_edge(webhook_settings(sqlite_url)) as edge:
        for text in ("oi", "alguém aí?"):
            for _ in range(2):  # two customers, two messages each
                body = encode(envelope([text_message(wa_id(), text)]))
                assert (await edge.post(body)).status_code == 200
        await edge.settle()
    said = [r for r in caplog.records if "has nothing to do" in r.getMessage()]
    assert len(said) == 1
    assert "routing_default_team" in said[0].getMessage()

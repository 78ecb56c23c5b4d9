"""Every body of tests/whatsapp_corpus.py, POSTed to the real webhook on PostgreSQL:
each is acknowledged, none yields a 5xx, and every stored body is processed (only the
non-JSON one ends dead-lettered)."""

from __future__ import annotations

from collections.abc import Iterator

from pytake.whatsapp import sign

from . import whatsapp_corpus as corpus
from .webhook_support import APP_SECRET, Edge, running_edge, webhook_settings

#: cases that are not a plain signed POST (handshakes, bad signatures, oversized bodies)
_NOT_PLAIN = {1, 2, 3, 4, 9, 10, 11, 14}


def corpus_bodies() -> Iterator[tuple[int, bytes]]:
    for name in sorted(n for n in dir(corpus) if n.startswith("case_")):
        number = int(name.split("_")[1])
        if number in _NOT_PLAIN:
            continue
        produced = getattr(corpus, name)()
        for body in produced if isinstance(produced, tuple) else (produced,):
            assert isinstance(body, bytes), name
            yield number, body


async def test_every_corpus_body_is_acknowledged_and_processed(pg_url: str) -> None:
    async with running_edge(webhook_settings(pg_url)) as edge:
        await _post_all(edge)


async def _post_all(edge: Edge) -> None:
    posted = 0
    for number, body in corpus_bodies():
        response = await edge.post(body, signature=sign(body, APP_SECRET))
        assert response.status_code == 200, (number, response.text)
        posted += 1
    assert posted >= 50
    await edge.settle()
    states = dict(
        tuple(r) for r in await edge.query("SELECT state, count(*) FROM inbox GROUP BY state")
    )
    assert "pending" not in states
    assert states.get("dead", 0) >= 1  # case 13: not JSON
    (stored,) = await edge.query(
        "SELECT count(*) FROM messages WHERE whatsapp_message_id = 'wamid.C05'"
    )
    assert stored[0] == 1
    text = (await edge.client.get("/metrics")).text
    assert 'pytake_webhook_requests_total{status="500"}' not in text

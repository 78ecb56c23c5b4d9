"""The baseline of ``benchmarks.webhook``: a raw ASGI app on Hypercorn's trio worker.

It reads the request body to the end and answers 200 with the same small JSON body as the
webhook, and nothing else: no signature check, no storage, no framework.  Hypercorn is
configured as ``pytake.web.serve`` configures it, except that there is no access log.

``python -m benchmarks._bare_asgi --port P [--host H]`` serves it until SIGINT or SIGTERM and
prints ``bare: listening on <url>`` once bound.
"""

from __future__ import annotations

import argparse
import functools
import signal
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import hypercorn.trio
import trio
from hypercorn.config import Config

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_HEADERS = [(b"content-type", b"application/json")]
_BODY = b'{"status":"ok"}'


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while True:  # the whole body, as the webhook reads it
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


async def _serve(host: str, port: int) -> None:
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.include_server_header = False
    stop = trio.Event()

    async def watch_signals() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                stop.set()
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_signals)
        serve = functools.partial(
            hypercorn.trio.serve, cast(Any, app), config, shutdown_trigger=stop.wait
        )
        urls = await nursery.start(serve)
        for url in urls:
            print(f"bare: listening on {url}", flush=True)
        await stop.wait()
    print("bare: stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    trio.run(_serve, args.host, args.port)


if __name__ == "__main__":
    main()

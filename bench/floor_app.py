"""The floor: a bare ASGI 3 application, no Django, for daphne to serve beside wpdash.

Any HTTP GET is answered 200 with a small JSON body; another method 405. WebSockets
are refused and lifespan events acknowledged. What a request through this costs is
daphne's own share (parsing, the event loop, the socket): no server of ours can be
faster on the same daphne. The tail, metrics, API-load and footprint benchmarks show it
as an informative row beside their cases, so a reader sees how much of a small answer
is daphne's and how much is Django's and ours; no goal is a ratio to it (the goals are
absolute, or ratios to the seed's own implementation: issue 26).

Run by bench.common.floor_server as `python -m daphne ... bench.floor_app:application`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

BODY = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1000})
    elif scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


async def http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body", False):
        pass  # a GET has no body; read whatever came anyway
    if scope["method"] not in ("GET", "HEAD"):
        await send({"type": "http.response.start", "status": 405, "headers": [(b"allow", b"GET, HEAD")]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY if scope["method"] == "GET" else b""})

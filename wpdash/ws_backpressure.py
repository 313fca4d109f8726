"""Backpressure for WebSocket sends under daphne: a client that stops reading costs a bounded amount.

daphne hands an application `send=functools.partial(Server.handle_reply, protocol)`, and
handle_reply writes each message into the socket's Twisted transport at once, whatever
the client has read. So `await send(...)` never waits, and the transport's buffer for a
client that stopped reading grows without limit (50 such sockets at 8,000 lines/s took
daphne to 1.5 GiB, never given back): the live tail's own bound (its Subscription's
MAX_BACKLOG_LINES, then {"skipped": n}) never applied, because nothing ever waited.

This middleware is the one module that knows daphne's internals. Under daphne it
registers a streaming producer (Twisted's IPushProducer) on the socket's transport,
which calls pauseProducing() once more than its bufferSize (64 KiB) waits unsent and
resumeProducing() when all of it is written. A "websocket.send" waits while the
transport is paused, so what one socket holds unsent stays at about 64 KiB plus one
message, and a stalled client's lines pile up where they are bounded: the live tail's
Subscription, which drops the oldest and says {"skipped": n} when the client reads
again. Accept and close are never held.

A socket paused for longer than WPDASH_WS_STALL_SECONDS is closed with STALLED_CLOSE_CODE
(4008). Its close frame waits behind what is unsent, so the client gets as long again
to read it; then autobahn's close-handshake timeout aborts the connection (a TCP reset:
the kernel's buffers go at once), and the transport and its buffer are freed with the
application. Once a socket is closing (our close, the application's, or the client
gone), sends still waiting and later ones are dropped, as daphne drops those after a
disconnect.

daphne's HTTP upgrade leaves the HTTP channel registered as the transport's producer
(it may stop reading a connection whose replies back up). Twisted allows one producer
per transport, so ours takes its place, passes every call on to it and gives the place
back when the application ends: the channel behaves as before. daphne runs Twisted's
asyncio reactor on the application's own event loop, so these callbacks and the
application's sends never run at the same time.

Under any other server (Channels' WebsocketCommunicator in tests, another ASGI server)
it passes everything through, and says so once at debug level.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, cast

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope, WebSocketCloseEvent
from django.conf import settings
from twisted.internet.abstract import FileDescriptor
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

logger = logging.getLogger("server_monitor.websockets")

STALLED_CLOSE_CODE = 4008  # as HTTP's 408: the client took too long (to read)

_said_pass_through = False


@implementer(IPushProducer)
class SendGate:
    """The transport's producer for one socket: open while it takes more, shut while full."""

    def __init__(self, previous: Any, paused: bool, stall_seconds: float, on_stall: Callable[[], None]) -> None:
        self._previous = previous  # the producer we replaced; told everything we are told
        self._loop = asyncio.get_running_loop()
        self._open = asyncio.Event()
        self._stall_seconds = stall_seconds
        self._on_stall = on_stall
        self._stall_timer: asyncio.TimerHandle | None = None
        self.ended = False  # closed or closing: nothing more is sent, nobody waits
        if paused:  # the transport was already full under the producer we replaced
            self._stall_timer = self._loop.call_later(stall_seconds, self._stalled)
        else:
            self._open.set()

    # IPushProducer, called by the transport (on the event loop)

    def pauseProducing(self) -> None:
        if self._previous is not None:
            self._previous.pauseProducing()
        if self.ended:
            return
        self._open.clear()
        if self._stall_timer is None:
            self._stall_timer = self._loop.call_later(self._stall_seconds, self._stalled)

    def resumeProducing(self) -> None:
        if self._previous is not None:
            self._previous.resumeProducing()
        if self.ended:
            return
        self._cancel_stall_timer()
        self._open.set()

    def stopProducing(self) -> None:
        if self._previous is not None:
            self._previous.stopProducing()
        self.end()

    # for the middleware

    def end(self) -> None:
        """The socket is closed or closing: release every waiting send, for good."""
        self.ended = True
        self._cancel_stall_timer()
        self._open.set()

    async def wait_until_open(self) -> None:
        # Re-checked after each wake-up: another send may have filled the buffer again first.
        while not self._open.is_set():
            await self._open.wait()

    def _cancel_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def _stalled(self) -> None:
        self._stall_timer = None
        if not self.ended:
            self.end()
            self._on_stall()


def _daphne_socket(send: Any) -> tuple[Any, FileDescriptor] | None:
    """daphne's WebSocket protocol and its TCP transport behind `send`, or None elsewhere."""
    server = sys.modules.get("daphne.server")  # never imported here: it installs a reactor
    if server is None or not isinstance(send, functools.partial) or len(send.args) != 1:
        return None
    if getattr(send.func, "__func__", None) is not server.Server.handle_reply:
        return None
    protocol = send.args[0]
    transport = getattr(protocol, "transport", None)
    # A TLS transport (daphne's ssl: endpoint) is a protocol wrapper, not a FileDescriptor;
    # wpdash is served in plain TCP behind nginx.
    if not isinstance(transport, FileDescriptor) or not hasattr(protocol, "is_closed"):
        return None
    return protocol, transport


class WebSocketBackpressure:
    """ASGI middleware: under daphne, a "websocket.send" waits while the socket's transport is full."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        found = _daphne_socket(send) if scope["type"] == "websocket" else None
        if found is None:
            if scope["type"] == "websocket":
                _say_pass_through(send)
            await self.application(scope, receive, send)
            return
        protocol, transport = found
        closing: list[asyncio.Future[None]] = []  # keeps the close task referenced while it runs
        stall_seconds = settings.WPDASH_WS_STALL_SECONDS

        def close_stalled() -> None:
            logger.info(
                "closing with %s the WebSocket of %s on %s: its client read nothing for %s s",
                STALLED_CLOSE_CODE,
                _address(scope),
                scope.get("path", "?"),
                stall_seconds,
            )
            # The close frame queues behind what is unsent: the client gets as long again to
            # read up to it, then autobahn aborts the connection.
            protocol.closeHandshakeTimeout = stall_seconds
            close: WebSocketCloseEvent = {"type": "websocket.close", "code": STALLED_CLOSE_CODE, "reason": None}
            closing.append(asyncio.ensure_future(send(close)))

        previous = transport.producer
        if previous is not None:
            transport.unregisterProducer()
        gate = SendGate(previous, bool(transport.producerPaused), stall_seconds, close_stalled)
        # Streaming: paused and resumed, never polled. (The cast: mypy cannot see @implementer.)
        transport.registerProducer(cast(IPushProducer, gate), True)

        def closed(result: object) -> object:
            gate.end()
            return result  # passed on untouched to whoever else waits for it

        protocol.is_closed.addBoth(closed)

        async def gated_send(message: ASGISendEvent) -> None:
            if message["type"] == "websocket.send":
                await gate.wait_until_open()
                if gate.ended:
                    return  # closed or closing: daphne drops what comes after a disconnect too
            elif message["type"] == "websocket.close":
                # Never held; and a send held until now must not follow it (autobahn
                # raises on a send to a closing socket).
                gate.end()
            await send(message)

        try:
            await self.application(scope, receive, gated_send)
        finally:
            # The application is done: no stall timer may outlive it, and the transport
            # gets back the producer it had.
            gate.end()
            if transport.producer is gate:
                transport.unregisterProducer()
                if previous is not None and transport.connected:
                    transport.registerProducer(previous, True)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return "{}:{}".format(*client) if isinstance(client, list | tuple) and len(client) == 2 else "?"


def _say_pass_through(send: Any) -> None:
    global _said_pass_through
    if not _said_pass_through:
        _said_pass_through = True
        logger.debug(
            "WebSocket sends pass through unbounded: the server is not daphne over TCP (send is %r)",
            type(send).__name__,
        )

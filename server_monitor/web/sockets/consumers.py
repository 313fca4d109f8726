"""WebSocket consumers. They call the live-tail workflow only; nothing here blocks."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from server_monitor.adapters.logs import tail
from server_monitor.errors import DomainError, NotSignedIn
from server_monitor.web.errors import close_code
from server_monitor.web.sockets import revocation
from server_monitor.web.sockets.auth import WS_SUBPROTOCOL
from server_monitor.workflows.logs import reader, sources
from server_monitor.workflows.logs.subscription import Subscription

logger = logging.getLogger("server_monitor.consumers")

# Characters; the only messages we expect are tiny. Room for a filter of
# tail.MAX_QUERY_CHARS characters even when every one is sent as a \uXXXX escape pair.
MAX_CLIENT_MESSAGE = 4096
UNKNOWN_ACTION = 'unknown action: use {"action": "pause"}, {"action": "resume"} or {"action": "filter", "q": "text"}'


class AuthenticatedConsumer(AsyncJsonWebsocketConsumer):
    """Closes with 4001 unless the scope carries an active, signed-in user; once open,
    closes with 4001 when that sign-in ends (server_monitor.web.sockets.revocation)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            revocation.forget(self)

    async def connect(self) -> None:
        user = self.scope.get("user")
        credential = revocation.credential_of(self.scope)
        try:
            if user is None or not user.is_authenticated or not user.is_active or credential is None:
                raise NotSignedIn("Sign in to follow logs.")
            await self.authenticated_connect()
            revocation.watch(self, credential)
        except DomainError as error:
            # Accept first so the client sees our close code, not a bare 403.
            await self.accept()
            await self.close(code=close_code(error))

    async def revoke(self) -> None:
        """The credentials it was opened with no longer hold: stop, then close with 4001."""
        await self.leave()
        await self.close(code=close_code(NotSignedIn("Signed out, or the account changed.")))

    async def leave(self) -> None:
        """Stop sending (subclasses that send on their own say how)."""

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        # Answer with our own subprotocol when the client offered it (JWT clients do);
        # never echo the bearer token the client sent beside it.
        if subprotocol is None and WS_SUBPROTOCOL in (self.scope.get("subprotocols") or ()):
            subprotocol = WS_SUBPROTOCOL
        await super().accept(subprotocol=subprotocol, headers=headers)

    async def authenticated_connect(self) -> None:
        raise NotImplementedError


class LogTailConsumer(AuthenticatedConsumer):
    """Live tail of one configured log: the last lines, then only new ones.

    Messages to the client, in order: first {"lines": [the last 50]} (with
    "available": false and a "reason" when the log cannot be read yet), then
    {"lines": [...]} for new lines as the reader finds them (woken by the kernel, spaced
    by the shared reader's gather window when many follow, at most MAX_BATCH_LINES each),
    {"skipped": n} before lines that follow a gap (the client fell MAX_BACKLOG_LINES
    behind, or paused that long), {"available": false, "reason": "..."} as soon as the
    log can no longer be read (deleted, swapped for a link, unreadable, journalctl
    ended: the lines read before come first) and {"available": true} when it can again
    (its new lines follow), {"paused": true|false} to acknowledge the actions,
    {"error": "..."} for a message it cannot act on. From the client: {"action":
    "pause"} holds new lines back (kept up to MAX_BACKLOG_LINES, older ones then
    counted as skipped; a change of availability that no held line precedes is still
    sent), {"action": "resume"} sends what was held, {"action": "filter", "q": "text"}
    (answered {"filter": "text"}) sends from then on only lines that contain the
    text, ignoring case, held lines included ("q": "" sends every line again).
    "skipped" then counts matching lines only. A bad q is answered {"error"} with
    the REST API's words, and the filter stays as it was.
    """

    subscription: Subscription | None = None
    pump: asyncio.Task | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the server cancels the application instead of saying disconnect.
            await self.leave()

    async def authenticated_connect(self) -> None:
        # In a thread: a site's log name is looked up in nginx's configuration (UnknownLog: 4000).
        source = await asyncio.to_thread(sources.get_source, self.scope["url_route"]["kwargs"]["log_type"])
        self.log_type = source.name
        await self.accept()
        self.subscription = await reader.subscribe(source)
        first: dict[str, Any] = {"lines": self.subscription.initial}
        if self.subscription.reason:
            first.update(available=False, reason=self.subscription.reason)
        await self.send_json(first)
        self.pump = asyncio.create_task(self.send_new_lines(self.subscription), name="wpdash log tail pump")

    async def send_new_lines(self, subscription: Subscription) -> None:
        # Under daphne each send waits while the client is not reading (wpdash.ws_backpressure),
        # so a stalled client's lines wait in its bounded Subscription, not in daphne's buffers.
        while True:
            delivery = await subscription.get()
            if delivery.skipped:
                await self.send_json({"skipped": delivery.skipped})
            if (change := delivery.availability) is not None:
                await self.send_json(
                    {"available": True} if change.available else {"available": False, "reason": change.reason}
                )
            if not delivery.batches:
                continue
            if len(delivery.batches) == 1:
                batch = delivery.batches[0]
                if batch.encoded is None:  # once for every client of this log
                    batch.encoded = json.dumps({"lines": batch.lines})
                text = batch.encoded
            else:
                text = json.dumps({"lines": [line for batch in delivery.batches for line in batch.lines]})
            await self.send(text_data=text)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Client messages; anything unexpected gets an error answer, never a crash."""
        if self.subscription is None:
            return
        if text_data is None or len(text_data) > MAX_CLIENT_MESSAGE:
            await self.send_json({"error": 'send a small JSON text message such as {"action": "pause"}'})
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_json({"error": "not JSON"})
            return
        except RecursionError:
            # Valid JSON nested deeper than the parser's recursion limit ("[[[[…]]]]" fits
            # in MAX_CLIENT_MESSAGE a thousand levels deep): an answer, not a crash (1011).
            await self.send_json({"error": 'too deeply nested: send a small JSON object such as {"action": "pause"}'})
            return
        action = message.get("action") if isinstance(message, dict) else None
        if action == "pause":
            self.subscription.pause()
            await self.send_json({"paused": True})
        elif action == "resume":
            self.subscription.resume()
            await self.send_json({"paused": False})
        elif action == "filter":
            try:
                match = tail.parse_query(message.get("q"))
            except ValueError as error:
                await self.send_json({"error": str(error)})
                return
            # No await between the filter and its answer, and a delivery is taken and
            # sent in one step (send_new_lines): nothing unfiltered follows the answer.
            self.subscription.set_filter(match)
            await self.send_json({"filter": match.text if match else ""})
        else:
            await self.send_json({"error": UNKNOWN_ACTION})

    async def disconnect(self, code: int) -> None:
        await self.leave()

    async def leave(self) -> None:
        """Stop sending and leave the reader (the last one out stops it). Idempotent."""
        pump, self.pump = self.pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait([pump])  # not `await pump`: our own cancellation must still propagate
            if not pump.cancelled() and pump.exception() is not None:
                logger.info("log tail of %s ended: %r", getattr(self, "log_type", "?"), pump.exception())
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            await subscription.close()

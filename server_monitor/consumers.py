"""WebSocket consumers. They call adapter modules only; nothing here blocks."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from wpdash.ws_auth import WS_SUBPROTOCOL

CLOSE_NOT_AUTHENTICATED = 4001
CLOSE_BAD_REQUEST = 4000


class AuthenticatedConsumer(AsyncJsonWebsocketConsumer):
    """Closes with 4001 unless the scope carries an active, signed-in user."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept first so the browser sees our close code, not a bare 403.
            await self.accept()
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        await self.authenticated_connect()

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        # Answer with our own subprotocol when the client offered it (JWT clients do);
        # never echo the bearer token the client sent beside it.
        if subprotocol is None and WS_SUBPROTOCOL in (self.scope.get("subprotocols") or ()):
            subprotocol = WS_SUBPROTOCOL
        await super().accept(subprotocol=subprotocol, headers=headers)

    async def authenticated_connect(self) -> None:
        raise NotImplementedError


class LogTailConsumer(AuthenticatedConsumer):
    """Live tail of one configured log: the last lines, then only new ones."""

    async def authenticated_connect(self) -> None:
        log_type = self.scope["url_route"]["kwargs"]["log_type"]
        if log_type not in settings.WPDASH_LOGS:
            await self.accept()
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.log_type = log_type
        await self.accept()

"""WebSocket authentication by JWT, for clients that have no session cookie.

Browsers cannot set an Authorization header on a WebSocket, and a token in the URL
ends up in proxy access logs. So the access token travels in the
Sec-WebSocket-Protocol header instead, as two offered subprotocols:

    Sec-WebSocket-Protocol: wpdash, bearer.<access token>

The server answers with the subprotocol "wpdash" only (see
server_monitor.consumers), never echoing the token. A session cookie, when present
and valid, takes precedence.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

WS_SUBPROTOCOL = "wpdash"
BEARER_PREFIX = "bearer."


def bearer_token(scope: dict[str, Any]) -> str | None:
    for protocol in scope.get("subprotocols") or ():
        if protocol.startswith(BEARER_PREFIX):
            return protocol[len(BEARER_PREFIX) :] or None
    return None


@database_sync_to_async
def user_for_access_token(raw_token: str) -> Any:
    """The active user an access token names, or AnonymousUser for any bad token.

    simplejwt checks the signature, expiry and token type (a refresh token is not
    an access token) and refuses inactive users.
    """
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw_token.encode())
        return authentication.get_user(validated)
    except (InvalidToken, AuthenticationFailed, TokenError):
        return AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    """Runs inside AuthMiddlewareStack: fills scope["user"] from a bearer subprotocol."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        token = bearer_token(scope)
        if token and (user is None or not user.is_authenticated):
            scope = dict(scope, user=await user_for_access_token(token))
        return await super().__call__(scope, receive, send)

"""WebSocket sign-in: a JWT access token, or the session cookie from an allowed origin.

A socket offers an access token in one of two ways:

    wss://HOST/api/v1/server/logs/nginx-access/ws?token=<access>      (the logs plan's way)
    Sec-WebSocket-Protocol: wpdash, bearer.<access>                   (preferred: not in any URL)

The server answers with the subprotocol "wpdash" only (see
server_monitor.web.sockets.consumers), never echoing the token. Without a token, the session
cookie signs the socket in.

The Origin check exists against cross-site WebSocket hijacking: a page elsewhere
opening a socket to us rides on the browser's cookie. So it guards cookie sockets
only. A socket that offers a token is signed in by that token alone, with or without
an Origin header (Python websockets, wscat and websocat send none), and any cookie
beside it is ignored: otherwise a foreign page could add `?token=x` to skip the
origin check and still be let in by the cookie. A bad token, like no credentials at
all, is AnonymousUser, which the consumer closes with 4001.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

from server_monitor.web.authentication import CachedUserJWTAuthentication

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope

WS_SUBPROTOCOL = "wpdash"
BEARER_PREFIX = "bearer."
TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a secret


def socket_token(scope: Mapping[str, Any]) -> str | None:
    """The access token the socket offers (possibly empty, which is a bad one), or None."""
    query_string: bytes = scope.get("query_string", b"")
    query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    if TOKEN_PARAMETER in query:
        return query[TOKEN_PARAMETER][0]
    protocols: list[str] = scope.get("subprotocols") or []
    for protocol in protocols:
        if protocol.startswith(BEARER_PREFIX):
            return protocol[len(BEARER_PREFIX) :]
    return None


@database_sync_to_async
def user_for_access_token(raw_token: str) -> Any:
    """The active user an access token names, or AnonymousUser for any bad token.

    simplejwt checks the signature, expiry and token type (a refresh token is not
    an access token) and refuses inactive users.
    """
    if not raw_token:
        return AnonymousUser()
    authentication = CachedUserJWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw_token.encode())
        return authentication.get_user(validated)
    except (InvalidToken, AuthenticationFailed, TokenError):
        return AnonymousUser()


class WebSocketAuth:
    """ASGI middleware: a token socket is signed in by its token; any other goes
    through the origin check and the session cookie."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.by_cookie = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope: _ChannelScope, receive: Any, send: Any) -> Any:
        token = socket_token(scope)
        if token is not None:
            user = await user_for_access_token(token)
        elif any(name == b"cookie" for name, _ in scope.get("headers", ())):
            return await self.by_cookie(scope, receive, send)
        else:
            user = AnonymousUser()  # no credentials at all: nothing to hijack, so 4001 rather than a bare 403
        return await self.inner(dict(scope, user=user), receive, send)

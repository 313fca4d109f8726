"""WebSocket sign-in: a JWT access token, or the session cookie from the dashboard's own origin.

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

A cookie socket's Origin must be the socket's own origin, as Django's CSRF check
wants a form's: scheme (https with settings.HTTPS, else http), host and port exactly
as the Host header names them, that host in ALLOWED_HOSTS. Channels'
AllowedHostsOriginValidator let in any scheme and any port of an allowed host, so a
page served elsewhere on the same host (another port, plain http) could ride on the
cookie. A foreign Origin is refused during the handshake (HTTP 403, Channels'
WebsocketDenier): nothing is accepted, so no close code.

What a socket was signed in with goes into its scope for
server_monitor.web.sockets.revocation, which closes it when that ends: TOKEN_ACCOUNT,
the token's account claim, for a token socket; Channels' session for a cookie socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError

from server_monitor.web.authentication import ACCOUNT_CLAIM, CachedUserJWTAuthentication

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope

WS_SUBPROTOCOL = "wpdash"
BEARER_PREFIX = "bearer."
TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a secret
TOKEN_ACCOUNT = "token_account"  # noqa: S105 - the scope key of a token socket's account claim


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


def header_values(scope: Mapping[str, Any], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name]


def own_origin(scope: Mapping[str, Any]) -> bool:
    """Whether the socket's Origin is the dashboard's own origin (see the module's doc).

    One Origin and one Host, the host allowed as Django's get_host() allows it, and
    Origin equal to scheme://Host. Compared without case: browsers send lower case,
    and neither a scheme nor a host name has case.
    """
    origins, hosts = header_values(scope, b"origin"), header_values(scope, b"host")
    if len(origins) != 1 or len(hosts) != 1:
        return False
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]  # as Django's get_host()
    domain, _ = split_domain_port(hosts[0])
    if not domain or not validate_host(domain, allowed_hosts):
        return False
    scheme = "https" if settings.HTTPS else "http"
    return origins[0].lower() == f"{scheme}://{hosts[0]}".lower()


@database_sync_to_async
def user_for_access_token(raw_token: str) -> tuple[Any, str | None]:
    """The active user an access token names and its account claim, or AnonymousUser
    (and None) for any bad token.

    simplejwt checks the signature, expiry and token type (a refresh token is not
    an access token) and refuses inactive users; the account claim must match.
    """
    if not raw_token:
        return AnonymousUser(), None
    authentication = CachedUserJWTAuthentication()
    try:
        validated = authentication.get_validated_token(raw_token.encode())
        return authentication.get_user(validated), validated[ACCOUNT_CLAIM]
    except (InvalidToken, AuthenticationFailed, TokenError):
        return AnonymousUser(), None


class WebSocketAuth:
    """ASGI middleware: a token socket is signed in by its token; any other goes
    through the origin check and the session cookie."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.by_cookie: Any = AuthMiddlewareStack(inner)  # the session, then its user
        self.deny: Any = WebsocketDenier.as_asgi()  # a handshake refused: HTTP 403

    async def __call__(self, scope: _ChannelScope, receive: Any, send: Any) -> Any:
        token = socket_token(scope)
        if token is not None:
            user, account = await user_for_access_token(token)
            return await self.inner(dict(scope, user=user, **{TOKEN_ACCOUNT: account}), receive, send)
        if any(name == b"cookie" for name, _ in scope.get("headers", ())):
            if not own_origin(scope):
                return await self.deny(scope, receive, send)
            return await self.by_cookie(scope, receive, send)
        # No credentials at all: nothing to hijack, so 4001 rather than a bare 403.
        return await self.inner(dict(scope, user=AnonymousUser()), receive, send)

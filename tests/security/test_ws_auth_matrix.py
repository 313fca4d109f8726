"""The live-log WebSocket by every kind of caller of tests/security/test_auth_matrix.py: 4001 or accepted.

Viewing a log needs only an active signed-in user, so every role is let in and every
kind of nobody (including an inactive user's session and the three bad JWTs, which
belong to a superuser so only the token's flaw stops them) is closed with 4001.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.support.identities import IDENTITIES, NOBODY, bad_tokens
from tests.support.users import user_with
from wpdash.asgi import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/server/logs/nginx-access/ws"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
ROLES = {"operator": ("restart_service",), "approver": ("approve_restart",)}


@database_sync_to_async
def credentials(identity: str) -> tuple[list[tuple[bytes, bytes]], list[str] | None]:
    """(extra headers, subprotocols) this caller offers."""
    if identity == "anonymous":
        return [], None
    if identity.endswith(("_jwt", "_access")):
        user = user_with(f"ws-{identity}", is_superuser=True)
        return [], ["wpdash", f"bearer.{bad_tokens(user)[identity]}"]
    flags = {"inactive": {"is_active": False}, "superuser": {"is_superuser": True}}.get(identity, {})
    user = user_with(f"ws-{identity}", *ROLES.get(identity, ()), **flags)
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())], None


@pytest.mark.parametrize("identity", IDENTITIES)
async def test_the_log_socket_lets_in_exactly_the_signed_in(identity, settings, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("first line\n")
    settings.WPDASH_LOGS = {"nginx-access": str(log)}
    headers, subprotocols = await credentials(identity)
    communicator = WebsocketCommunicator(
        websocket_application, PATH, headers=[*ORIGIN, *headers], subprotocols=subprotocols
    )

    connected, _ = await communicator.connect()

    assert connected  # accepted first, so a browser sees the 4001 reason rather than a failed handshake
    first = await communicator.receive_output(timeout=5)
    if identity in NOBODY:
        assert first == {"type": "websocket.close", "code": 4001}
    else:
        assert first["type"] == "websocket.send"
        assert "first line" in first["text"]
        await communicator.disconnect()

"""A cookie socket is let in only from the dashboard's own origin: scheme, host and port.

A page served elsewhere on the same host (another port, plain http beside https)
must not ride on the browser's session cookie. A refused Origin fails the handshake
(HTTP 403). Through the real ASGI stack, and once against a real daphne.
"""

from __future__ import annotations

import asyncio

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.servers import live_server
from tests.support.users import PASSWORD
from wpdash.asgi import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/server/logs/nginx-access/ws"


@database_sync_to_async
def session_cookie() -> bytes:
    user = get_user_model().objects.create_user("viewer", password=PASSWORD)
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def let_in(headers: list[tuple[bytes, bytes]]) -> bool:
    communicator = WebsocketCommunicator(websocket_application, PATH, headers=headers)
    connected, _ = await communicator.connect()
    if connected:
        message = await communicator.receive_output(timeout=5)
        assert message["type"] == "websocket.send", message  # signed in, not closed with 4001
        await communicator.disconnect()
    return connected


@pytest.fixture(autouse=True)
def a_log(settings, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("first line\n")
    settings.WPDASH_LOGS = {"nginx-access": str(log)}


def headers(origin: str | None, host: str | None) -> list[tuple[bytes, bytes]]:
    found = [] if origin is None else [(b"origin", origin.encode())]
    return found + ([] if host is None else [(b"host", host.encode())])


@pytest.mark.parametrize(
    ("origin", "host", "https", "allowed"),
    [
        ("http://localhost", "localhost", False, True),
        ("http://localhost:8000", "localhost:8000", False, True),
        ("HTTP://LocalHost:8000", "localhost:8000", False, True),  # neither scheme nor host has case
        ("https://localhost", "localhost", True, True),
        ("http://localhost:8001", "localhost:8000", False, False),  # another port
        ("http://localhost:8000", "localhost", False, False),
        ("http://localhost", "localhost:8000", False, False),
        ("https://localhost", "localhost", False, False),  # another scheme
        ("http://localhost", "localhost", True, False),  # plain http where the dashboard is https
        ("http://127.0.0.1", "localhost", False, False),  # another allowed host is another origin
        ("http://evil.example", "evil.example", False, False),  # a host not allowed, even if it matches
        ("null", "localhost", False, False),  # a sandboxed page or a file
        (None, "localhost", False, False),
        ("http://localhost", None, False, False),
    ],
)
async def test_a_cookie_socket_needs_exactly_the_dashboards_own_origin(origin, host, https, allowed, settings):
    settings.HTTPS = https
    cookie = await session_cookie()

    assert await let_in([*headers(origin, host), (b"cookie", cookie)]) is allowed


async def test_two_origin_headers_are_refused():
    cookie = await session_cookie()
    both = [(b"origin", b"http://localhost"), (b"origin", b"http://localhost:9999"), (b"host", b"localhost")]

    assert await let_in([*both, (b"cookie", cookie)]) is False


def test_a_real_daphne_refuses_another_port_or_scheme_of_its_host(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("first line\n")
    with live_server(tmp_path, WPDASH_LOGS=f"nginx-access={log}") as server:
        server.create_user("viewer", PASSWORD)
        cookie = f"sessionid={server.session('viewer', PASSWORD).cookies['sessionid']}"
        other_port = f"http://127.0.0.1:{server.port + 1}"
        other_scheme = server.url.replace("http://", "https://")

        async def status(origin: str) -> int:
            try:
                async with websockets.connect(
                    server.ws_url + PATH, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10
                ) as socket:
                    assert "first line" in await asyncio.wait_for(socket.recv(), 10)
                    return 101
            except websockets.InvalidStatus as refused:
                return refused.response.status_code

        assert asyncio.run(status(server.url)) == 101
        assert asyncio.run(status(other_port)) == 403
        assert asyncio.run(status(other_scheme)) == 403

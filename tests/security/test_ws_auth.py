"""WebSocket sign-in through the real ASGI stack: session cookie or JWT, else 4001."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from server_monitor.web.authentication import AccountRefreshToken
from tests.support.servers import live_server
from tests.support.users import PASSWORD
from wpdash.asgi import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/server/logs/nginx-access/ws"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@database_sync_to_async
def make_user(username: str = "viewer", **flags: bool):
    return get_user_model().objects.create_user(username, password=PASSWORD, **flags)


@database_sync_to_async
def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@database_sync_to_async
def token_pair(user) -> AccountRefreshToken:
    return AccountRefreshToken.for_user(user)


async def not_closed(communicator: WebsocketCommunicator) -> bool:
    """True when the consumer, half a second on, has not closed the socket.

    A signed-in socket first gets the log's last lines; every message is read, so a
    close that follows them is not missed.
    """
    while not await communicator.receive_nothing(timeout=0.5):
        if (await communicator.receive_output())["type"] == "websocket.close":
            return False
    return True


async def connect(headers=(), subprotocols=None):
    communicator = WebsocketCommunicator(
        websocket_application, PATH, headers=[*ORIGIN, *headers], subprotocols=subprotocols
    )
    connected, detail = await communicator.connect()
    return communicator, connected, detail


async def test_an_anonymous_socket_is_closed_with_4001():
    communicator, connected, _ = await connect()

    assert connected
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4001}


async def test_a_session_cookie_signs_the_socket_in():
    cookie = await session_cookie(await make_user())

    communicator, connected, _ = await connect(headers=[(b"cookie", cookie)])

    assert connected
    assert await not_closed(communicator)
    await communicator.disconnect()


async def test_a_jwt_access_token_in_the_subprotocol_signs_the_socket_in():
    tokens = await token_pair(await make_user())

    communicator, connected, subprotocol = await connect(subprotocols=["wpdash", f"bearer.{tokens.access_token}"])

    assert connected
    assert subprotocol == "wpdash"  # the token itself is never echoed back
    assert await not_closed(communicator)
    await communicator.disconnect()


@pytest.mark.parametrize("case", ["refresh", "tampered", "expired", "garbage", "inactive"])
async def test_a_bad_token_gets_4001(case):
    user = await make_user(is_active=case != "inactive")
    tokens = await token_pair(user)
    access = tokens.access_token
    if case == "expired":
        access.set_exp(lifetime=-__import__("datetime").timedelta(seconds=1))
    token = {
        "refresh": str(tokens),
        "tampered": str(access)[:-4] + "AAAA",
        "garbage": "not.a.jwt",
    }.get(case, str(access))

    communicator, connected, _ = await connect(subprotocols=["wpdash", f"bearer.{token}"])

    assert connected
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4001}


async def test_a_foreign_origin_is_refused():
    cookie = await session_cookie(await make_user())
    communicator = WebsocketCommunicator(
        websocket_application, PATH, headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)]
    )

    connected, _ = await communicator.connect()

    assert not connected


def test_a_real_daphne_accepts_a_jwt_socket_and_closes_an_anonymous_one(tmp_path):
    with live_server(tmp_path) as server:
        server.create_user("viewer", PASSWORD)
        import requests

        access = requests.post(
            f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
        ).json()["access"]

        async def scenario():
            async with websockets.connect(
                server.ws_url + PATH, origin="http://127.0.0.1", subprotocols=["wpdash", f"bearer.{access}"]
            ) as socket:
                assert socket.subprotocol == "wpdash"
            async with websockets.connect(server.ws_url + PATH, origin="http://127.0.0.1") as socket:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(socket.recv(), 10)
                assert closed.value.rcvd.code == 4001

        asyncio.run(scenario())
        assert access not in server.log()

"""Open log sockets close with 4001 when their sign-in ends, through the real ASGI stack.

In this process a change announces itself (a signal): the periodic check is set to an
hour here, so only that announcement can close the socket in time. The periodic check
itself, which sees changes made by other processes, is tested against a real daphne
in test_socket_revocation_live.py.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from server_monitor.web.authentication import AccountRefreshToken
from server_monitor.web.sockets import revocation
from tests.support.users import PASSWORD, deactivation, deletion, new_password
from wpdash.asgi import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/server/logs/nginx-access/ws"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
CLOSED = {"type": "websocket.close", "code": 4001}


@pytest.fixture(autouse=True)
def only_signals_in_time(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(revocation, "CHECK_SECONDS", 3600.0)
    log = tmp_path / "access.log"
    log.write_text("first line\n")
    settings.WPDASH_LOGS = {"nginx-access": str(log)}


@database_sync_to_async
def signed_in(username: str) -> tuple[object, Client, str]:
    """A user, a test Client signed in as them, and an access token of theirs."""
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    client = Client()
    client.force_login(user)
    return user, client, str(AccountRefreshToken.for_user(user).access_token)


async def open_socket(**credentials) -> WebsocketCommunicator:
    if "client" in credentials:
        cookie = f"sessionid={credentials['client'].cookies['sessionid'].value}".encode()
        communicator = WebsocketCommunicator(websocket_application, PATH, headers=[*ORIGIN, (b"cookie", cookie)])
    else:
        communicator = WebsocketCommunicator(
            websocket_application, PATH, headers=ORIGIN, subprotocols=["wpdash", f"bearer.{credentials['token']}"]
        )
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert first["lines"] == ["first line"]
    return communicator


async def still_open(communicator: WebsocketCommunicator) -> bool:
    await communicator.send_json_to({"action": "pause"})
    return await communicator.receive_json_from(timeout=5) == {"paused": True}


@pytest.mark.parametrize("change", [new_password, deactivation, deletion], ids=lambda change: change.__name__)
async def test_a_change_to_the_account_closes_its_token_and_cookie_sockets(change):
    user, client, token = await signed_in("viewer")
    _, other_client, other_token = await signed_in("bystander")
    by_token, by_cookie = await open_socket(token=token), await open_socket(client=client)
    others = [await open_socket(token=other_token), await open_socket(client=other_client)]

    await database_sync_to_async(change)(user)

    assert await by_token.receive_output(timeout=5) == CLOSED
    assert await by_cookie.receive_output(timeout=5) == CLOSED
    for other in others:
        assert await still_open(other)
        await other.disconnect()


async def test_signing_out_closes_that_sessions_socket_only():
    _, client, token = await signed_in("viewer")
    _, second_browser, _ = await signed_in("viewer-2")
    by_cookie, by_token = await open_socket(client=client), await open_socket(token=token)
    elsewhere = await open_socket(client=second_browser)

    await database_sync_to_async(client.logout)()

    assert await by_cookie.receive_output(timeout=5) == CLOSED
    assert await still_open(by_token)
    assert await still_open(elsewhere)
    await by_token.disconnect()
    await elsewhere.disconnect()


async def test_signing_in_again_closes_nothing_and_a_closed_socket_is_forgotten():
    _, _, token = await signed_in("viewer")
    socket = await open_socket(token=token)
    assert revocation.open_sockets() == 1

    signing_in = APIClient().post  # saves last_login, and its own session
    response = await database_sync_to_async(signing_in)(
        "/api/v1/auth/token", {"username": "viewer", "password": PASSWORD}
    )
    assert response.status_code == 200

    assert await still_open(socket)
    await socket.disconnect()
    assert revocation.open_sockets() == 0


async def test_while_the_database_cannot_be_asked_sockets_stay_open_and_the_next_round_decides(monkeypatch):
    monkeypatch.setattr(revocation, "CHECK_SECONDS", 0.05)
    user, _, token = await signed_in("viewer")
    answer_from_the_database = revocation.find_revoked
    failing, rounds = True, []

    def locked_then_answering(credentials):
        rounds.append(failing)
        if failing:
            raise OperationalError("database is locked")
        return answer_from_the_database(credentials)

    monkeypatch.setattr(revocation, "find_revoked", locked_then_answering)
    socket = await open_socket(token=token)
    deactivated_elsewhere = get_user_model().objects.filter(pk=user.pk).update  # no signal, as another process
    await database_sync_to_async(deactivated_elsewhere)(is_active=False)
    async with asyncio.timeout(10):  # three rounds that could not ask
        while len(rounds) < 3:
            await asyncio.sleep(0.05)

    assert await still_open(socket)
    failing = False
    assert await socket.receive_output(timeout=5) == CLOSED

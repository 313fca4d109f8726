"""A real daphne closes open log sockets with 4001 within seconds of the sign-in ending.

Token and cookie sockets from a real WebSocket client. The account changes are made
by another process (`manage.py shell`, as `manage.py changepassword` or a second
daphne would make them), so nothing announces them to the daphne: its periodic check
must find them. Signing out goes through the daphne's own sign-out form.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import requests
import websockets

from tests.support.servers import LiveServer, live_server
from tests.support.users import PASSWORD

PATH = "/api/v1/server/logs/nginx-access/ws"
CLOSE_WITHIN = 10.0  # seconds: the check runs every 2 s; this bound only keeps a failure from hanging

# What happens to each user, and whether their (token, cookie) sockets must close.
FATES = {
    "new-password": (True, True),
    "deactivated": (True, True),
    "deleted": (True, True),
    "session-expired": (False, True),
    "signed-out": (False, True),
    "bystander": (False, False),
}


def create_users(server: LiveServer) -> None:
    code = (
        "from django.contrib.auth import get_user_model\n"
        f"for name in {list(FATES)!r}:\n"
        f"    get_user_model().objects.create_user(name, password={PASSWORD!r})\n"
    )
    server.manage("shell", "-c", code)


def change_accounts_elsewhere(server: LiveServer, expired_session: str) -> None:
    code = (
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.sessions.models import Session\n"
        "from django.utils import timezone\n"
        "users = get_user_model().objects\n"
        "user = users.get(username='new-password')\n"
        "user.set_password('another horse battery staple')\n"
        "user.save()\n"
        "users.filter(username='deactivated').update(is_active=False)\n"
        "users.get(username='deleted').delete()\n"
        f"Session.objects.filter(session_key={expired_session!r})"
        ".update(expire_date=timezone.now() - timedelta(seconds=1))\n"
    )
    server.manage("shell", "-c", code)


def sign_out(server: LiveServer, session: requests.Session) -> None:
    response = session.post(
        f"{server.url}/accounts/logout/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text


async def open_socket(server: LiveServer, token: str | None = None, session: requests.Session | None = None):
    if token is not None:
        socket = await websockets.connect(server.ws_url + PATH, subprotocols=["wpdash", f"bearer.{token}"])
    else:
        assert session is not None
        cookie = f"sessionid={session.cookies['sessionid']}"
        headers = {"Cookie": cookie}
        socket = await websockets.connect(server.ws_url + PATH, origin=server.url, additional_headers=headers)
    first = await asyncio.wait_for(socket.recv(), 10)
    assert "first line" in first
    return socket


async def close_code(socket) -> int | None:
    """The code the server closed the socket with, or None if it stayed open CLOSE_WITHIN."""
    try:
        async with asyncio.timeout(CLOSE_WITHIN):
            while True:
                await socket.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def answers(socket) -> bool:
    await socket.send('{"action": "pause"}')
    return await asyncio.wait_for(socket.recv(), 10) == '{"paused": true}'


def test_sockets_close_with_4001_when_the_account_changes_elsewhere_or_the_session_ends(tmp_path: Path):
    log = tmp_path / "access.log"
    log.write_text("first line\n")
    with live_server(tmp_path, WPDASH_LOGS=f"nginx-access={log}") as server:
        create_users(server)
        tokens = {
            name: requests.post(
                f"{server.url}/api/v1/auth/token", json={"username": name, "password": PASSWORD}, timeout=10
            ).json()["access"]
            for name in FATES
        }
        sessions = {name: server.session(name, PASSWORD) for name in FATES}

        async def scenario() -> dict[str, tuple[int | None, int | None]]:
            sockets = {
                name: (await open_socket(server, token=tokens[name]), await open_socket(server, session=sessions[name]))
                for name in FATES
            }
            expired = sessions["session-expired"].cookies["sessionid"]
            await asyncio.to_thread(change_accounts_elsewhere, server, expired)
            await asyncio.to_thread(sign_out, server, sessions["signed-out"])
            codes = await asyncio.gather(*(close_code(socket) for pair in sockets.values() for socket in pair))
            outcome = dict(zip(FATES, zip(codes[::2], codes[1::2], strict=True), strict=True))
            for name, (by_token, by_cookie) in sockets.items():
                for socket, code in zip((by_token, by_cookie), outcome[name], strict=True):
                    if code is None:
                        assert await answers(socket), name  # open, and still serving
                        await socket.close()
            return outcome

        outcome = asyncio.run(scenario())

        expected = {name: tuple(4001 if closes else None for closes in fate) for name, fate in FATES.items()}
        assert outcome == expected
        assert tokens["bystander"] not in server.log()

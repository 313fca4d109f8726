"""No token, password or session id ever reaches daphne's log, whatever a client does.

A real daphne (its access log and the application log at debug level on the same
stream) is driven through every way a secret travels: the token endpoint, JWT API
calls, a token refresh, a JWT WebSocket, a session sign-in, and failed sign-ins on
the form and the token endpoint (whose wrong password must not be echoed either).
"""

from __future__ import annotations

import asyncio

import requests
import websockets

from tests.support.servers import live_server

PASSWORD = "Right-horse-7f3c2a91"
WRONG_PASSWORD = "Wrong-horse-0d9e8b77"
WS_PATH = "/api/v1/server/logs/app/ws"


def test_no_secret_appears_in_daphnes_log(tmp_path):
    app_log = tmp_path / "app.log"
    app_log.write_text("a line\n")
    with live_server(
        tmp_path, WPDASH_LOG_LEVEL="debug", WPDASH_LOGS=f"app={app_log}", WPDASH_METRICS_SOURCE="local"
    ) as server:
        server.create_user("alice", PASSWORD)
        pair = requests.post(
            f"{server.url}/api/v1/auth/token/", json={"username": "alice", "password": PASSWORD}, timeout=10
        ).json()
        access, refresh = pair["access"], pair["refresh"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert requests.get(f"{server.url}/api/v1/server/logs", headers=bearer, timeout=10).status_code == 200
        assert requests.get(f"{server.url}/api/v1/server/metrics", headers=bearer, timeout=30).status_code == 200
        refreshed = requests.post(f"{server.url}/api/v1/auth/token/refresh/", json={"refresh": refresh}, timeout=10)
        new_access = refreshed.json()["access"]
        tampered = f"{access[:-4]}AAAA"
        bad = requests.get(
            f"{server.url}/api/v1/server/logs", headers={"Authorization": f"Bearer {tampered}"}, timeout=10
        )
        assert bad.status_code == 401

        async def socket() -> None:
            async with websockets.connect(
                server.ws_url + WS_PATH, origin="http://127.0.0.1", subprotocols=["wpdash", f"bearer.{new_access}"]
            ) as connection:
                assert "a line" in await asyncio.wait_for(connection.recv(), 10)

        asyncio.run(socket())
        failed_token = requests.post(
            f"{server.url}/api/v1/auth/token/", json={"username": "alice", "password": WRONG_PASSWORD}, timeout=10
        )
        assert failed_token.status_code == 401
        form = requests.Session()
        form.get(f"{server.url}/accounts/login/", timeout=10)
        failed_form = form.post(
            f"{server.url}/accounts/login/",
            data={"username": "alice", "password": WRONG_PASSWORD, "csrfmiddlewaretoken": form.cookies["csrftoken"]},
            headers={"Referer": f"{server.url}/accounts/login/"},
            timeout=10,
        )
        assert failed_form.status_code == 200  # the form again, with its error
        session = server.session("alice", PASSWORD)
        assert session.get(f"{server.url}/", timeout=30).status_code == 200
        session_id = session.cookies["sessionid"]
        server.stop()  # flushes everything it had to say
        log = server.log()

    assert "/api/v1/auth/token/" in log  # the log did record the requests…
    secrets = {
        "access token": access,
        "refreshed access token": new_access,
        "refresh token": refresh,
        "tampered token": tampered,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "session id": session_id,
        "csrf token": form.cookies["csrftoken"],
    }
    # …and none of the secrets, nor the signature part of any token on its own.
    leaked = [name for name, secret in secrets.items() if secret in log]
    leaked += [name for name, secret in secrets.items() if secret.count(".") == 2 and secret.rsplit(".", 1)[1] in log]
    assert leaked == [], log[-3000:]

"""The API says what went wrong in words a person acts on (issue 29, "API wording").

A token sent with the wrong scheme, an expired token, an unknown range; expected
503s logged as warnings, a failed restart as a warning with its row; and a cookie
WebSocket from a foreign origin gets exactly what the README says.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import jwt
import pytest
import requests
import websockets
from rest_framework_simplejwt.tokens import AccessToken

from server_monitor.models import RestartAction
from tests.support.servers import REPO, live_server
from wpdash.log_config import UnavailableIsAWarning

SERVICES = "/api/v1/server/services"
METRICS = "/api/v1/server/metrics"


def expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(minutes=1))
    return str(token)


# --- signing in -----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Token", "JWT", "Basic"])
def test_a_token_sent_with_another_scheme_is_told_the_scheme_is_bearer(anonymous_client, viewer, scheme):
    token = str(AccessToken.for_user(viewer))

    response = anonymous_client.get(SERVICES, HTTP_AUTHORIZATION=f"{scheme} {token}")

    assert response.status_code == 401
    assert response.json() == {
        "detail": f"The Authorization scheme '{scheme}' is not accepted: the scheme is Bearer. "
        "Send 'Authorization: Bearer <access token>'."
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_no_credentials_at_all_keep_drfs_words(anonymous_client, db):
    response = anonymous_client.get(SERVICES)

    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_an_expired_token_says_expired_at_the_top_level(anonymous_client, viewer):
    response = anonymous_client.get(SERVICES, HTTP_AUTHORIZATION=f"Bearer {expired_token(viewer)}")

    assert response.status_code == 401
    body = response.json()
    assert "expired" in body["detail"]
    assert body["detail"].startswith("The access token has expired")
    assert body["code"] == "token_not_valid"  # simplejwt's code and messages stay for clients that read them
    assert body["messages"][0]["message"] == "Token is expired"


def test_a_forged_token_that_is_also_out_of_date_is_not_called_expired(anonymous_client, viewer):
    claims = jwt.decode(expired_token(viewer), options={"verify_signature": False})
    forged = jwt.encode(claims, "not the server's key, but long enough for HS256", algorithm="HS256")

    response = anonymous_client.get(SERVICES, HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert response.status_code == 401
    assert "expired" not in response.json()["detail"]


def test_an_unknown_range_lists_the_allowed_values_in_words(viewer_client, settings):
    settings.WPDASH_METRICS_SOURCE = "local"

    response = viewer_client.get(METRICS, {"range": "7d"})

    assert response.status_code == 400
    assert response.json() == {"range": ['"7d" is not a range: use 5m, 1h or 24h.']}


# --- what is logged, at which level ---------------------------------------------------


def request_records(caplog) -> list[tuple[str, int | None]]:
    return [(record.levelname, getattr(record, "status_code", None)) for record in caplog.records]


def test_a_503_because_systemd_is_away_is_logged_as_a_warning(viewer_client, fake_systemd, caplog):
    fake_systemd.go_offline()

    with caplog.at_level(logging.INFO, logger="django.request"):
        response = viewer_client.get(SERVICES)

    assert response.status_code == 503
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "django.request"]
    assert logged == [("WARNING", f"Service Unavailable: {SERVICES}")]


def test_a_500_is_still_an_error():
    unavailable, broken = (
        logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", None, None) for _ in range(2)
    )
    unavailable.status_code, broken.status_code = 503, 500

    for record in (unavailable, broken):
        assert UnavailableIsAWarning().filter(record)

    assert (unavailable.levelname, broken.levelname) == ("WARNING", "ERROR")


def test_a_failed_restart_is_a_warning_naming_its_row(signed_in, operator, fake_systemd, caplog):
    fake_systemd.on_restart("nginx.service", "fail")

    with caplog.at_level(logging.INFO):
        response = signed_in(operator).post(f"{SERVICES}/nginx/restart")

    row = RestartAction.objects.get()
    assert response.status_code == 503
    ours = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "server_monitor.restarts"]
    assert ("WARNING", f"restart #{row.pk} of nginx: failed ({row.note})") in ours
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


# --- a cookie WebSocket from a foreign origin -------------------------------------------


def test_a_cookie_socket_from_a_foreign_origin_is_refused_at_the_handshake_as_the_readme_says(tmp_path):
    readme = (REPO / "README.md").read_text()
    assert "is refused at the handshake with HTTP 403" in readme
    with live_server(tmp_path) as server:
        server.create_user("viewer", "a websocket password 42")
        cookie = "sessionid=" + server.session("viewer", "a websocket password 42").cookies["sessionid"]
        path = "/api/v1/server/logs/nginx-access/ws"

        async def status_of(origin: str) -> int | str:
            headers = {"Cookie": cookie}
            try:
                async with websockets.connect(server.ws_url + path, origin=origin, additional_headers=headers):
                    return "open"
            except websockets.InvalidStatus as refused:
                return refused.response.status_code

        assert asyncio.run(status_of("https://evil.example")) == 403
        assert asyncio.run(status_of(server.url)) == "open"  # the same cookie from our own origin, port included
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200

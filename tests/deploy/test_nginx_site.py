"""The nginx site, run by the real nginx in front of a real daphne started as the unit starts it.

The site is adapted to this machine by tests/support/nginx.py (ports, certificate,
folders; each replacement checked); nginx runs in the foreground from a temporary prefix.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websockets

from tests.support.nginx import SITE, UnitDaphne, main_config, nginx, site_for_test
from tests.support.servers import LiveServer, free_port, live_database_url, port_open, wait_until

WS_PATH = "/api/v1/server/logs/nginx-access/ws"


# What WordOps's nginx.conf and conf.d put in the http block around every site
# (WordOps/WordOps: wo/cli/templates/nginx-core.mustache, map-wp.mustache), as far
# as it could collide with this site: its own $connection_upgrade map, TLS 1.3 early
# data for all, and the Early-Data header it forwards to every upstream.
WORDOPS_HTTP = """
    ssl_early_data on;
    proxy_set_header Early-Data $ssl_early_data;
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
"""


@pytest.mark.parametrize("http_extra", ["", WORDOPS_HTTP], ids=["plain-nginx", "beside-wordops"])
def test_nginx_accepts_the_site(tmp_path, http_extra):
    config = main_config(tmp_path, site_for_test(tmp_path, free_port(), free_port(), 8000), http_extra)

    result = subprocess.run(
        [nginx(), "-t", "-c", str(config), "-e", str(tmp_path / "logs" / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_a_restart_has_time_to_finish_before_nginx_gives_up():
    # 30 s for systemctl restart plus the settle time of the services adapter.
    server_level = SITE.split("listen 443 ssl http2;")[1].split("    location / {")[0]

    assert "proxy_read_timeout 90s;" in server_level


class Stack:
    def __init__(self, folder: Path, daphne: LiveServer, process: subprocess.Popen, http: int, https: int) -> None:
        self.folder, self.daphne, self.process = folder, daphne, process
        self.http = f"http://127.0.0.1:{http}"
        self.https = f"https://127.0.0.1:{https}"
        self.wss = f"wss://127.0.0.1:{https}"
        self.ca = str(folder / "fullchain.pem")  # the throwaway certificate, trusted by the test clients

    def access_log(self) -> str:
        path = self.folder / "logs" / "wpdash.access.log"
        return path.read_text() if path.exists() else ""


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    binary = nginx()
    folder = tmp_path_factory.mktemp("nginx")
    data_dir = tmp_path_factory.mktemp("daphne")
    environment = {
        **os.environ,
        "WPDASH_DATA_DIR": str(data_dir),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "WPDASH_HTTPS": "on",
        "PYTHONUNBUFFERED": "1",
    }
    environment["DATABASE_URL"] = live_database_url(data_dir)
    daphne = UnitDaphne(data_dir=data_dir, env=environment)
    daphne.manage("migrate", "--noinput")
    daphne.start()
    process = None
    try:
        http, https = free_port(), free_port()
        config = main_config(folder, site_for_test(folder, http, https, daphne.port))
        (folder / "static" / "probe.txt").write_text("served by nginx from STATIC_ROOT\n")
        (folder / "webroot" / ".well-known" / "acme-challenge").mkdir(parents=True)
        (folder / "webroot" / ".well-known" / "acme-challenge" / "token").write_text("challenge answer\n")
        process = subprocess.Popen(
            [binary, "-c", str(config), "-e", str(folder / "logs" / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(https) or process.poll() is not None, timeout=10, message="nginx to listen")
        assert process.poll() is None, (folder / "logs" / "error.log").read_text()
        yield Stack(folder, daphne, process, http, https)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        daphne.stop()


def test_plain_http_is_redirected_to_https(stack):
    response = requests.get(f"{stack.http}/accounts/login/?next=/", allow_redirects=False, timeout=10)

    assert response.status_code == 301
    assert response.headers["Location"] == "https://127.0.0.1/accounts/login/?next=/"


def test_the_lets_encrypt_challenge_is_answered_over_plain_http(stack):
    response = requests.get(f"{stack.http}/.well-known/acme-challenge/token", allow_redirects=False, timeout=10)

    assert response.status_code == 200
    assert response.text == "challenge answer\n"


def test_django_sees_https_through_the_proxy(stack):
    # WPDASH_HTTPS=on redirects any request that did not arrive over HTTPS; a 200
    # means nginx told daphne, and daphne told Django, that it did.
    response = requests.get(f"{stack.https}/accounts/login/", verify=stack.ca, allow_redirects=False, timeout=10)

    assert response.status_code == 200
    assert "Strict-Transport-Security" in response.headers
    assert response.raw.headers.getlist("X-Frame-Options") == ["DENY"]  # once: set by Django only


def test_static_files_come_from_disk_and_fall_back_to_daphne(stack):
    from_disk = requests.get(f"{stack.https}/static/probe.txt", verify=stack.ca, timeout=10)
    not_collected = requests.get(f"{stack.https}/static/server_monitor/wpdash.css", verify=stack.ca, timeout=10)

    assert from_disk.status_code == 200
    assert from_disk.text == "served by nginx from STATIC_ROOT\n"
    assert from_disk.headers["X-Content-Type-Options"] == "nosniff"
    assert not_collected.status_code == 200  # whitenoise, through the @wpdash fallback


def test_the_client_address_daphne_records_is_the_real_one(stack):
    requests.get(f"{stack.https}/healthz", headers={"X-Forwarded-For": "203.0.113.9"}, verify=stack.ca, timeout=10)

    log = (stack.daphne.data_dir / "daphne-access.log").read_text()
    assert "203.0.113.9" not in log
    assert "127.0.0.1" in log


def test_a_large_body_is_refused_by_nginx(stack):
    two_megabytes = b"x" * (2 * 1024 * 1024)

    response = requests.post(f"{stack.https}/accounts/login/", data=two_megabytes, verify=stack.ca, timeout=10)

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "close_code"), [(WS_PATH, 4001), ("/api/v1/server/logs/nested/name/ws", 4001)], ids=["log", "nested"]
)
def test_the_live_tail_websocket_reaches_daphne_and_its_query_is_not_logged(stack, path, close_code):
    context = ssl.create_default_context(cafile=stack.ca)
    secret = f"not-a-real-token-{close_code}-{len(path)}"

    async def scenario() -> int:
        async with websockets.connect(f"{stack.wss}{path}?token={secret}", ssl=context) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 10)
            return closed.value.rcvd.code

    # The close code comes from the consumer: the handshake went through nginx to
    # daphne, with no Origin header (a token socket needs none).
    assert asyncio.run(scenario()) == close_code
    wait_until(lambda: path in stack.access_log(), timeout=5, message="nginx to log the socket")
    assert secret not in stack.access_log()

"""The nginx site, run by the real nginx in front of a real daphne started as the unit starts it.

The site file is used as shipped except for what must differ on a test machine,
each replaced on purpose (and the test fails if one is no longer found): ports,
the certificate (a throwaway self-signed one), log, static and webroot folders,
and the upstream's port. nginx runs in the foreground from a temporary prefix.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import shlex
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websockets

from tests.support.deployment import values
from tests.support.servers import (
    REPO,
    LiveServer,
    free_port,
    live_database_url,
    missing_server,
    port_open,
    wait_until,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SITE = (DEPLOY / "nginx-wpdash.conf").read_text()
WS_PATH = "/api/v1/server/logs/nginx-access/ws"


def nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if path is None:
        missing_server("nginx is not installed (apt-get install nginx)")
    return path


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dash.example.com")])
    names = [x509.DNSName("dash.example.com"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, private = folder / "fullchain.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, private


def site_for_test(folder: Path, http_port: int, https_port: int, upstream_port: int) -> str:
    cert, key = self_signed(folder)
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:80;": "",  # IPv6 may be missing here
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/dash.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/dash.example.com/key.pem": str(key),
        "/var/log/nginx/": f"{folder}/logs/",
        "/var/lib/wpdash/static/": f"{folder}/static/",
        "/var/www/html": f"{folder}/webroot",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
    }
    site = SITE
    for production, here in replacements.items():
        assert production in site, f"the site no longer contains {production!r}"
        site = site.replace(production, here)
    return site


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


def main_config(folder: Path, site: str, http_extra: str = "") -> Path:
    (folder / "site.conf").write_text(site)
    for name in ("logs", "static", "webroot", "temp"):
        (folder / name).mkdir(exist_ok=True)
    config = folder / "nginx.conf"
    temp = folder / "temp"
    # As root, workers run as root too: they read the static files from a private
    # temporary folder. (A production nginx runs them as www-data.)
    config.write_text(
        f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{http_extra}
    include {folder}/site.conf;
}}
"""
    )
    return config


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


class UnitDaphne(LiveServer):
    """daphne started with the arguments of wpdash.service's ExecStart.

    Only the program (this interpreter's daphne), the port, and the access log (a
    file instead of /dev/null, to see which client address daphne recorded) differ
    from production.
    """

    def start(self) -> None:
        [exec_start] = values("wpdash.service", "ExecStart")
        argv = shlex.split(exec_start)
        assert argv[0] == "/opt/wpdash/.venv/bin/daphne"
        self.port = free_port()
        argv = [sys.executable, "-m", "daphne", *argv[1:]]
        argv[argv.index("--port") + 1] = str(self.port)
        argv[argv.index("--access-log") + 1] = str(self.data_dir / "daphne-access.log")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, cwd=REPO, env=self.env, stdout=log, stderr=log)

        def answers() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"daphne exited:\n{self.log()}")
            try:
                return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout=30, interval=0.1, message="daphne to answer /healthz")


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

"""A real nginx (Debian's package) with the repository's site, for tests: the site adapted
to free ports and temporary folders, and daphne started as deploy/wpdash.service starts it.

The site file is used as shipped except for what must differ on a test machine,
each replaced on purpose (and the test fails if one is no longer found): ports,
the certificate (a throwaway self-signed one), log, static and webroot folders,
and the upstream's port.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.deployment import DEPLOY, values
from tests.support.servers import (
    REPO,
    LiveServer,
    drop_live_database,
    free_port,
    live_database_url,
    missing_server,
    port_open,
    wait_until,
)
from tests.support.systemd import FakeSystemd

SITE = (DEPLOY / "nginx-wpdash.conf").read_text()


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


def site_for_test(folder: Path, http_port: int, https_port: int, upstream_port: int, browser: bool = False) -> str:
    """The shipped site with this machine's ports, certificate and folders. browser=True also
    passes the port on in Host ($http_host for $host): a browser's Origin then names the
    test's port, and Django's CSRF check compares the two (in production both are :443)."""
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
    if browser:
        replacements["proxy_set_header Host $host;"] = "proxy_set_header Host $http_host;"
    site = SITE
    for production, here in replacements.items():
        assert production in site, f"the site no longer contains {production!r}"
        site = site.replace(production, here)
    return site


def main_config(folder: Path, site: str, http_extra: str = "", daemon: bool = False) -> Path:
    """nginx.conf for `site` in `folder`: in the foreground (a test's child), or with
    daemon=True as a packaged nginx runs (it forks, and its master writes folder/nginx.pid)."""
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
{"" if daemon else "daemon off;"}
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


@dataclass
class ProxiedDashboard:
    """wpdash as deploy/ serves it: daphne (as the unit starts it) behind the real nginx,
    which the stand-in systemctl runs as the unit nginx.service, the way Debian's unit does."""

    daphne: LiveServer
    systemd: FakeSystemd
    folder: Path
    https: str  # https://127.0.0.1:PORT, nginx's TLS server
    ca: str  # the throwaway certificate, for clients to trust

    @property
    def pidfile(self) -> Path:
        return self.folder / "nginx.pid"

    def master_pid(self) -> int:
        return int(self.pidfile.read_text().strip())

    def bearer(self, username: str, password: str) -> dict[str, str]:
        """An access token, asked for through nginx."""
        answer = requests.post(
            f"{self.https}/api/v1/auth/token/",
            json={"username": username, "password": password},
            verify=self.ca,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access']}"}


@contextlib.contextmanager
def dashboard_behind_nginx(folder: Path, browser: bool = False, **env: str) -> Iterator[ProxiedDashboard]:
    """The production stack on free ports: WPDASH_HTTPS=on, daphne --proxy-headers, the
    repository's site, nginx a daemon of the stand-in's nginx.service (`env` adds settings)."""
    binary = nginx()
    systemd = FakeSystemd(folder / "systemd")
    data_dir = folder / "daphne"
    data_dir.mkdir()
    environment = {
        **os.environ,
        "WPDASH_DATA_DIR": str(data_dir),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "WPDASH_HTTPS": "on",
        "WPDASH_SYSTEMCTL": str(systemd.path),
        "WPDASH_SUDO": "off",
        "WPDASH_METRICS_SOURCE": "local",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    environment["DATABASE_URL"] = live_database_url(data_dir)
    daphne = UnitDaphne(data_dir=data_dir, env=environment)
    site_folder = folder / "nginx"
    site_folder.mkdir()
    try:
        daphne.manage("migrate", "--noinput")
        daphne.start()
        https = free_port()
        site = site_for_test(site_folder, free_port(), https, daphne.port, browser=browser)
        config = str(main_config(site_folder, site, daemon=True))
        errors = str(site_folder / "logs" / "error.log")
        # Debian's nginx.service: ExecStartPre `nginx -t -q`, ExecStart `nginx` (it forks),
        # PIDFile=, ExecStop `start-stop-daemon --stop --retry QUIT/5`.
        systemd.run_daemon(
            "nginx.service",
            check=[binary, "-t", "-q", "-c", config, "-e", errors],
            start=[binary, "-c", config, "-e", errors],
            pidfile=site_folder / "nginx.pid",
        )
        started = systemd.systemctl("start", "nginx.service")
        assert started.returncode == 0, started.stderr + (site_folder / "logs" / "error.log").read_text()
        wait_until(lambda: port_open(https), timeout=10, message="nginx to listen")
        yield ProxiedDashboard(
            daphne, systemd, site_folder, f"https://127.0.0.1:{https}", str(site_folder / "fullchain.pem")
        )
    finally:
        systemd.systemctl("stop", "nginx.service")
        daphne.stop()
        drop_live_database(environment["DATABASE_URL"])

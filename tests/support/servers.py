"""Real servers for tests: a daphne subprocess, and the rule for missing ones.

On a newcomer's machine a test whose server is absent skips with the reason; under
CI (CI=true) the same absence is a failure, never a silent skip.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
# As bin/run and deploy/wpdash.service run it: daphne's access log off, since a live
# tail URL may carry ?token= and no log may hold a token.
DAPHNE_OPTIONS = ("--access-log", "/dev/null")
ASGI_APP = "wpdash.asgi:application"


def missing_server(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs this server: {reason}")
    pytest.skip(reason)


def clean_environ(**variables: str) -> dict[str, str]:
    """This process's environment without any wpdash or Django setting, plus `variables`:
    what a freshly configured server would start with."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "WPDASH_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("REDIS_URL", None)
    return {**clean, **variables}


def run_manage(env: dict[str, str], *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python manage.py ARGS` in a subprocess with exactly `env`, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_until(predicate, timeout: float, interval: float = 0.05, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def _mysql_connection(parts):
    import MySQLdb

    return MySQLdb.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", passwd=parts.password or ""
    )


def drop_live_database(url: str) -> None:
    """Drop a database live_database_url made (SQLite files go with the tmp dir)."""
    if url.startswith(("mysql://", "mariadb://")):
        parts = urlsplit(url)
        connection = _mysql_connection(parts)
        connection.cursor().execute(f"DROP DATABASE IF EXISTS `{parts.path.lstrip('/')}`")
        connection.close()


def live_database_url(data_dir: Path) -> str:
    """A database for a daphne subprocess: SQLite in its data dir, or a fresh
    MariaDB database when the suite runs on MariaDB (DATABASE_URL=mysql://…)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("mysql://", "mariadb://")):
        return f"sqlite:///{data_dir / 'live.sqlite3'}"
    import MySQLdb

    parts = urlsplit(base)
    name = f"test_live_{os.getpid()}_{data_dir.name[-8:].replace('-', '_')}"
    connection = MySQLdb.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", passwd=parts.password or ""
    )
    connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    connection.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    connection.close()
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


@dataclass
class LiveServer:
    """One daphne process serving wpdash with its own data dir and database."""

    data_dir: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)
    name: str = "daphne"  # names its log file, so processes sharing a data dir keep their own
    daphne_args: tuple[str, ...] = ()  # more options, e.g. --proxy-headers as deploy/wpdash.service runs it

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def manage(self, *args: str, input_text: str | None = None) -> str:
        result = run_manage(self.env, *args, input_text=input_text)
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def create_user(self, username: str, password: str, permissions: tuple[str, ...] = (), **flags: bool) -> None:
        code = (
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.models import Permission\n"
            f"user = get_user_model().objects.create_user({username!r}, password={password!r}, **{flags!r})\n"
            f"for codename in {list(permissions)!r}:\n"
            "    user.user_permissions.add(Permission.objects.get(codename=codename))\n"
        )
        self.manage("shell", "-c", code)

    def start(self) -> None:
        self.port = free_port()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                *DAPHNE_OPTIONS,
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                *self.daphne_args,  # after -b: a --bind of its own wins
                "wpdash.asgi:application",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def answers() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"daphne exited:\n{self.log_path.read_text()}")
            try:
                return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(answers, timeout=30, interval=0.1, message="daphne to answer /healthz")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def session(self, username: str, password: str) -> requests.Session:
        """A requests session signed in through the real login form."""
        session = requests.Session()
        session.get(f"{self.url}/accounts/login/", timeout=10)
        response = session.post(
            f"{self.url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{self.url}/accounts/login/"},
            timeout=10,
            allow_redirects=False,
        )
        assert response.status_code == 302, response.text
        return session


@contextlib.contextmanager
def live_server(tmp_path: Path, *, daphne_args: tuple[str, ...] = (), **env: str) -> Iterator[LiveServer]:
    data_dir = tmp_path / "live"
    data_dir.mkdir(exist_ok=True)
    no_sites = data_dir / "no-sites"  # not this machine's nginx sites: a test names its own
    no_sites.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        "WPDASH_DATA_DIR": str(data_dir),
        "WPDASH_SITES_DIR": str(no_sites),
        "WPDASH_NGINX_CONF": str(no_sites / "nginx.conf"),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    made_database = "DATABASE_URL" not in env
    environment["DATABASE_URL"] = env.get("DATABASE_URL") or live_database_url(data_dir)
    server = LiveServer(data_dir=data_dir, env=environment, daphne_args=daphne_args)
    try:
        server.manage("migrate", "--noinput")
        server.start()
        yield server
    finally:
        server.stop()
        if made_database:
            drop_live_database(environment["DATABASE_URL"])


@contextlib.contextmanager
def another_live_server(first: LiveServer, name: str = "daphne-2") -> Iterator[LiveServer]:
    """One more daphne beside `first`: the same environment, data dir (so secret key)
    and database, as a second production worker. No migrate: like
    wpdash-worker@.service, it starts on a database its first process has set up."""
    server = LiveServer(data_dir=first.data_dir, env=first.env, name=name, daphne_args=first.daphne_args)
    try:
        server.start()
        yield server
    finally:
        server.stop()

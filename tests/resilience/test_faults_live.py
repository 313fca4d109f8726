"""Faults replayed against a real daphne: each answers within its timeout, never a 500,
the worker stays free, and the status page still renders with a banner.

Netdata down, hanging or talking nonsense; systemctl hanging, failing (no systemd)
or printing garbage; logs deleted, replaced by a folder or full of binary bytes; the
SQLite database locked past its busy timeout. (An unreadable log is covered in
tests/logs/test_log_api.py as user nobody; an unreachable database in
tests/resilience/test_database_gone.py.)
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import requests

from tests.support.fake_netdata import http_server, silent_server
from tests.support.servers import free_port, live_server
from tests.support.systemd import FakeSystemd

PASSWORD = "correct horse battery staple"
# Generous bounds for a loaded 2-core machine, each well below a hung worker.
NETDATA_BOUND = 15  # the client gives up after 1 s connect + 2 s read
SYSTEMCTL_BOUND = 20  # systemd.STATUS_TIMEOUT is 5 s
DATABASE_BOUND = 15  # WPDASH_SQLITE_TIMEOUT=1 below


def timed_get(session: requests.Session, url: str, bound: float, **kwargs) -> requests.Response:
    started = time.monotonic()
    response = session.get(url, timeout=bound + 30, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < bound, f"{url} took {elapsed:.1f} s (bound {bound} s)"
    return response


def signed_in(server, username: str = "viewer") -> requests.Session:
    server.create_user(username, PASSWORD)
    return server.session(username, PASSWORD)


def garbage(path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
    return 200, "application/json", b"\x00\xff{not json at all"


@pytest.mark.parametrize("fault", ["down", "hanging", "garbage"])
def test_a_failing_netdata_gives_a_503_and_a_page_banner(tmp_path, fault):
    def serve(url: str) -> None:
        with live_server(
            tmp_path, NETDATA_URL=url, WPDASH_METRICS_SOURCE="netdata", WPDASH_SYSTEMCTL="/bin/false"
        ) as server:
            session = signed_in(server)
            api = timed_get(session, f"{server.url}/api/v1/server/metrics", NETDATA_BOUND)
            assert api.status_code == 503
            assert api.json()["detail"]
            page = timed_get(session, f"{server.url}/", NETDATA_BOUND)
            assert page.status_code == 200
            assert 'role="alert"' in page.text or "role=alert" in page.text
            assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200

    if fault == "down":
        serve(f"http://127.0.0.1:{free_port()}")
    elif fault == "hanging":
        with silent_server() as url:
            serve(url)
    else:
        with http_server(garbage) as url:
            serve(url)


def test_a_hanging_failing_or_babbling_systemctl_gives_503s_and_a_page_banner(tmp_path):
    fake = FakeSystemd(tmp_path / "systemd")
    with live_server(
        tmp_path, WPDASH_SYSTEMCTL=str(fake.path), WPDASH_SUDO="off", WPDASH_METRICS_SOURCE="local"
    ) as server:
        operator = signed_in(server)
        for break_it, bound in [
            (lambda: fake.misbehave_on_show("garbage"), 10),
            (fake.go_offline, 10),
            (lambda: fake.misbehave_on_show("hang", sleep=60), SYSTEMCTL_BOUND),
        ]:
            break_it()
            for path in ("/api/v1/server/services", "/api/v1/server/services/nginx"):
                response = timed_get(operator, f"{server.url}{path}", bound)
                assert response.status_code == 503, (path, response.text)
                assert response.json()["detail"]
            page = timed_get(operator, f"{server.url}/", bound)
            assert page.status_code == 200
            assert "services_error" not in page.text and 'role="alert"' in page.text
            # The worker is free again: a cheap request answers at once.
            assert timed_get(operator, f"{server.url}/api/v1/server/logs", 5).status_code == 200
        assert fake.restarts() == []


def test_a_deleted_folder_shaped_or_binary_log_gives_a_200_that_says_why(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "deleted.log").write_text("soon gone\n")
    (folder / "is-a-dir.log").mkdir()
    (folder / "binary.log").write_bytes(bytes(range(256)) * 64 + b"\n\xff\xfe last line \x00\n")
    sources = ",".join(f"{name}={folder / f'{name}.log'}" for name in ("deleted", "is-a-dir", "binary"))
    with live_server(
        tmp_path, WPDASH_LOGS=sources, WPDASH_SYSTEMCTL="/bin/false", WPDASH_METRICS_SOURCE="local"
    ) as server:
        session = signed_in(server)
        (folder / "deleted.log").unlink()
        for name, available in (("deleted", False), ("is-a-dir", False), ("binary", True)):
            response = timed_get(session, f"{server.url}/api/v1/server/logs/{name}?lines=500", 10)
            assert response.status_code == 200, (name, response.text)
            body = response.json()
            assert body["available"] is available, (name, body)
            if available:
                assert "last line" in body["lines"][-1]
            else:
                assert body["lines"] == [] and body["reason"], (name, body)
            page = timed_get(session, f"{server.url}/?log={name}", 15)
            assert page.status_code == 200, name
        listing = timed_get(session, f"{server.url}/api/v1/server/logs", 10)
        assert listing.status_code == 200
        assert {source["name"]: source["readable"] for source in listing.json()} == {
            "deleted": False,
            "is-a-dir": False,
            "binary": True,
        }


def test_a_locked_database_gives_a_503_within_its_busy_timeout_and_recovers(tmp_path):
    with live_server(tmp_path, WPDASH_SQLITE_TIMEOUT="1", WPDASH_SYSTEMCTL="/bin/false") as server:
        session = signed_in(server)
        access = requests.post(
            f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
        ).json()["access"]
        bearer = {"Authorization": f"Bearer {access}"}
        database = Path(server.env["DATABASE_URL"].removeprefix("sqlite:///"))
        if not database.exists():
            pytest.skip("the live server runs on MariaDB here; locking is SQLite's")
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            api = timed_get(session, f"{server.url}/api/v1/server/restarts", DATABASE_BOUND, headers=bearer)
            assert api.status_code == 503
            assert "database is unavailable" in api.json()["detail"]
            page = timed_get(session, f"{server.url}/", DATABASE_BOUND)
            assert page.status_code == 503
            assert "database is unavailable" in page.text
            health = timed_get(requests.Session(), f"{server.url}/healthz", DATABASE_BOUND)
            assert health.status_code == 503
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert timed_get(session, f"{server.url}/api/v1/server/restarts", 10, headers=bearer).status_code == 200
        assert timed_get(session, f"{server.url}/", 15).status_code == 200
        assert "Traceback" not in server.log()

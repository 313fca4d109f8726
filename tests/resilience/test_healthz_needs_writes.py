"""/healthz says "ok" only when signing in would work: the database must take a write.

A database that answers reads but refuses writes (another process holding SQLite's
write lock past WPDASH_SQLITE_TIMEOUT, or a full disk) serves every read while each
sign-in is a 503, since sign-in writes the session row and last_login. /healthz
must say 503 then, against a real daphne, and "ok" again once writes work.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.servers import LiveServer, live_server, missing_server
from tests.support.users import PASSWORD

BOUND = 15.0  # seconds to wait for a verdict to turn (it is kept 1 s; a locked write waits 1 s)


def health(server: LiveServer) -> int:
    return requests.get(f"{server.url}/healthz", timeout=30).status_code


def turns(server: LiveServer, status: int) -> bool:
    """Whether /healthz answers `status` within BOUND (a kept verdict may answer first)."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        if health(server) == status:
            return True
        time.sleep(0.2)
    return False


def sign_in(server: LiveServer) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": "viewer", "password": PASSWORD}, timeout=30
    )


def reads(server: LiveServer, access: str) -> int:
    """A signed-in read of the audit table (the token's user is read too)."""
    response = requests.get(
        f"{server.url}/api/v1/server/restarts", headers={"Authorization": f"Bearer {access}"}, timeout=30
    )
    return response.status_code


def sqlite_file(server: LiveServer) -> Path:
    url = server.env["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("the live server runs on MariaDB here; this fault is SQLite's")
    return Path(url.removeprefix("sqlite:///"))


def assert_writes_refused_reads_served(server: LiveServer, access: str) -> None:
    assert turns(server, 503), "/healthz kept saying ok while the database refused writes"
    assert reads(server, access) == 200, "reads should still work: only writes are refused"
    assert sign_in(server).status_code == 503  # what /healthz now tells a monitor


def test_healthz_is_503_while_another_process_holds_the_write_lock(tmp_path):
    with live_server(tmp_path, WPDASH_SQLITE_TIMEOUT="1") as server:
        server.create_user("viewer", PASSWORD)
        access = sign_in(server).json()["access"]
        assert health(server) == 200
        holder = sqlite3.connect(sqlite_file(server), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock: others may still read
        try:
            assert_writes_refused_reads_served(server, access)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert turns(server, 200)
        assert sign_in(server).status_code == 200


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        missing_server("mounting a small tmpfs (a disk that fills up) needs root")
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True, timeout=30)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True, timeout=30)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    with contextlib.suppress(OSError), filler.open("ab") as out:  # the last blocks a big write left over
        while True:
            out.write(b"\0" * 512)
            out.flush()
    return filler


def test_healthz_is_503_while_the_disk_is_full(tmp_path):
    with small_tmpfs(tmp_path / "disk", "8m") as disk:
        database = f"sqlite:///{disk / 'wpdash.sqlite3'}"
        with live_server(tmp_path, DATABASE_URL=database) as server:
            server.create_user("viewer", PASSWORD)
            access = sign_in(server).json()["access"]
            assert health(server) == 200
            filler = fill(disk)
            try:
                assert_writes_refused_reads_served(server, access)
            finally:
                filler.unlink()
            assert turns(server, 200)
            assert sign_in(server).status_code == 200


def test_one_check_runs_at_a_time_and_the_others_answer_the_verdict_before_it(db, monkeypatch):
    """A check waiting on a lock (up to WPDASH_SQLITE_TIMEOUT) must not hold one request
    thread per health request: the others answer the last verdict at once."""
    from server_monitor.models import Heartbeat
    from server_monitor.web import health as healthz

    assert healthz.database_answers()  # a real write: the verdict before
    healthz.verdicts.forget()  # it expired: every request would check
    started, release = threading.Event(), threading.Event()
    checks: list[int] = []

    def stuck_on_a_lock() -> None:
        checks.append(1)
        started.set()
        release.wait(60)

    monkeypatch.setattr(Heartbeat, "beat", stuck_on_a_lock)
    with ThreadPoolExecutor(max_workers=9) as pool:
        try:
            first = pool.submit(healthz.database_answers)
            assert started.wait(30)
            others = [pool.submit(healthz.database_answers) for _ in range(8)]
            answers = [other.result(timeout=10) for other in others]  # none waits for the stuck one
        finally:
            release.set()
        assert first.result(timeout=30) is True

    assert answers == [True] * 8
    assert checks == [1]

"""A restart whose outcome cannot be written when it ends, through a real daphne on a
SQLite file: the database locked by another connection (BEGIN EXCLUSIVE), or its disk
full (a small tmpfs, filled to the last byte).

The stand-in's restart waits on a gate; the fault is set up while it waits, then the
gate opens, so the final write meets it every time. The answer says the restart ran
and was not recorded; the row keeps the unit's lock until the database answers, then
holds the outcome, and the unit can be restarted again.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.restarts.test_restarts_live import bearer, environment
from tests.support.servers import LiveServer, live_server, missing_server, wait_until
from tests.support.systemd import FakeSystemd
from tests.support.users import PASSWORD

NOT_RECORDED = "Service nginx restarted. Its outcome could not be recorded yet (the database is unavailable)"


def sqlite_file(server: LiveServer) -> Path:
    url = server.env["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("the live server runs on MariaDB here; this fault is SQLite's")
    return Path(url.removeprefix("sqlite:///"))


def row(database: Path) -> tuple[str, str | None, int | None]:
    """(status, lock, child_pid) of the only audit row, read as a reader: works on a full disk."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as reader:
        found = reader.execute("SELECT status, lock, child_pid FROM server_monitor_restartaction").fetchone()
    return found or (None, None, None)


@contextlib.contextmanager
def restart_held_at_its_gate(server: LiveServer, fake: FakeSystemd, database: Path) -> Iterator[callable]:
    """POST a restart of nginx that waits at the stand-in's gate, its command's PID recorded.
    Yields open_gate(), which lets it finish and returns the answer."""
    release = fake.gate_restart("nginx.service")
    headers = bearer(server, "operator")
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(
            requests.post, f"{server.url}/api/v1/server/services/nginx/restart", headers=headers, timeout=120
        )
        try:
            wait_until(lambda: row(database)[2] is not None, timeout=30, message="the restart command to run")

            def open_gate() -> requests.Response:
                release()
                return answer.result(timeout=90)

            yield open_gate
        finally:
            release()


def assert_ran_and_not_recorded(response: requests.Response) -> None:
    body = response.json()
    assert response.status_code == 200, body
    assert (body["success"], body["recorded"], body["status"], body["main_pid_after"]) == (
        True,
        False,
        "succeeded",
        1001,
    )
    assert body["message"].startswith(NOT_RECORDED)


def restart_again(server: LiveServer) -> requests.Response:
    headers = bearer(server, "operator")
    return requests.post(f"{server.url}/api/v1/server/services/nginx/restart", headers=headers, timeout=60)


def test_a_database_locked_as_the_restart_ends_gets_it_recorded_once_the_lock_goes(tmp_path):
    fake = FakeSystemd(tmp_path / "systemd")
    with live_server(tmp_path, **environment(fake), WPDASH_SQLITE_TIMEOUT="1") as server:
        database = sqlite_file(server)
        server.create_user("operator", PASSWORD, permissions=("restart_service",))
        with restart_held_at_its_gate(server, fake, database) as open_gate:
            holder = sqlite3.connect(database, isolation_level=None, timeout=10)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                response = open_gate()
            finally:
                holder.execute("ROLLBACK")
                holder.close()

        assert_ran_and_not_recorded(response)
        wait_until(lambda: row(database)[:2] == ("succeeded", None), timeout=60, message="the outcome to land")
        assert restart_again(server).status_code == 200
        assert fake.restarts() == [["restart", "--", "nginx"]] * 2
        log = server.log()
        assert log.count("cannot be written yet (OperationalError: database is locked)") == 1
        assert "restart #1 of nginx: outcome (succeeded) written after" in log
        assert "Traceback" not in log


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "16m") -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        missing_server(f"a small tmpfs to fill cannot be mounted here: {mounted.stderr.strip() or 'needs root'}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write until the file system says ENOSPC; the file, to delete to free the space."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (1 << 20, 4096, 1):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    return filler


def test_a_full_disk_as_the_restart_ends_gets_it_recorded_once_there_is_room(tmp_path):
    fake = FakeSystemd(tmp_path / "systemd")
    with small_tmpfs(tmp_path / "disk") as disk:
        database = disk / "wpdash.sqlite3"
        with live_server(tmp_path, **environment(fake), DATABASE_URL=f"sqlite:///{database}") as server:
            server.create_user("operator", PASSWORD, permissions=("restart_service",))
            with restart_held_at_its_gate(server, fake, database) as open_gate:
                filler = fill(disk)
                response = open_gate()

            assert_ran_and_not_recorded(response)
            assert row(database)[:2] == ("running", "nginx.service")  # the unit stays locked while it cannot be written
            filler.unlink()
            wait_until(lambda: row(database)[:2] == ("succeeded", None), timeout=60, message="the outcome to land")
            assert restart_again(server).status_code == 200
            assert server.log().count("cannot be written yet (OperationalError: database or disk is full)") == 1

"""Database faults around a restart, on the real SQLite engine, in this process.

- The database fails before systemctl runs (moving the row to running, reading an
  approved row back, writing the state before): nothing runs, and the row is closed
  as failed "not run" (now, or by the recorder once the database answers), never left
  running with the unit's lock. A database back within the request's few seconds
  gets the outcome written before the answer.
- The restart command's PID and start time go into the row; failing to write them
  does not stop the restart.

Faults are real SQLite errors: another connection holding the lock (BEGIN EXCLUSIVE
on the test database's shared cache, where a blocked statement fails at once), or a
trigger that refuses one statement. Both are SQLite's: on MariaDB these skip, and the
end-to-end cases run on a SQLite file in test_restart_faults_live.py.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django.test import Client

from server_monitor.adapters import systemd
from server_monitor.models import RestartAction
from server_monitor.workflows import audit, runners, verify
from tests.support.servers import wait_until


@pytest.fixture
def sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the faults are injected through SQLite (a shared-cache lock, a trigger)")


@pytest.fixture
def quick_retries(monkeypatch) -> None:
    """The same backoff, on a shorter clock."""
    monkeypatch.setattr(audit, "IN_REQUEST_SECONDS", 0.3)
    monkeypatch.setattr(audit, "FIRST_DELAY", 0.02)
    monkeypatch.setattr(audit, "MAX_DELAY", 0.2)


class Lock:
    """Another connection to the test database, holding its write lock while `held`."""

    def __init__(self) -> None:
        self.holder = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None)
        self.held = False

    def take(self) -> None:
        self.holder.execute("BEGIN EXCLUSIVE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.holder.execute("ROLLBACK")
            self.held = False


@pytest.fixture
def lock(sqlite_only) -> Iterator[Lock]:
    held = Lock()
    yield held
    held.release()
    wait_until(lambda: not audit.recorder.waiting(), timeout=30, message="the recorder to finish")
    held.holder.close()


@pytest.fixture
def refuse(sqlite_only) -> Iterator[Callable[[str], None]]:
    """refuse(when): SQLite refuses every UPDATE of an audit row matching `when`, as a
    full disk would. The tests using it are transactional: a failed statement inside
    the test's own transaction would poison it, which a server's never is."""
    made: list[str] = []

    def make(when: str) -> None:
        name = f"refuse_{len(made)}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE ON server_monitor_restartaction WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        made.append(name)

    yield make
    with connection.cursor() as cursor:
        for name in made:
            cursor.execute(f"DROP TRIGGER {name}")


@pytest.fixture(autouse=True)
def _nothing_left_to_write() -> Iterator[None]:
    yield
    assert audit.recorder.waiting() == [], "an outcome still waits: it would land in the next test's rows"


def running_row(user) -> RestartAction:
    """An immediate-mode row as request_restart hands it to verify.run: running, locked, ours."""
    me = runners.current_runner()
    return RestartAction.objects.create(
        service="nginx",
        unit="nginx.service",
        command="-",
        requested_by=user,
        status="running",
        lock="nginx.service",
        runner_host=me.host,
        runner_pid=me.pid,
        runner_started=me.started,
    )


@pytest.mark.django_db(transaction=True)
def test_a_database_that_fails_before_systemctl_runs_closes_the_row_as_not_run_once_it_answers(
    operator, fake_systemd, lock, quick_retries, caplog
):
    row = running_row(operator)
    before = systemd.get_status("nginx")
    lock.take()

    judged = verify.run(row, before)

    assert fake_systemd.restarts() == []  # nothing ran
    assert (judged.recorded, judged.status, judged.note) == (False, "failed", "not run: the database is unavailable")
    assert audit.recorder.waiting() == [row.pk]  # the row keeps its lock meanwhile
    lock.release()
    wait_until(lambda: not audit.recorder.waiting(), timeout=30, message="the outcome to be written")
    row.refresh_from_db()
    assert (row.status, row.lock, row.note) == ("failed", None, "not run: the database is unavailable")
    assert (row.state_before, row.main_pid_before) == ("active (running)", 337)
    tries = int(re.search(r"outcome \(failed\) written after \d+ s and (\d+) tries", caplog.text).group(1))
    assert tries > 2
    assert caplog.text.count("cannot be written yet") == 1  # once per kind of failure, however many tries


@pytest.fixture
def locked_as_verify_starts(lock, monkeypatch) -> Lock:
    """The lock is taken between the row moved to running and verify.run's first write."""
    run = verify.run

    def locked_run(action: RestartAction, before: systemd.ServiceStatus) -> RestartAction:
        lock.take()
        return run(action, before)

    monkeypatch.setattr(verify, "run", locked_run)
    return lock


@pytest.mark.django_db(transaction=True)
def test_the_answer_to_a_restart_not_run_for_the_database_says_nothing_ran(
    operator, fake_systemd, signed_in, locked_as_verify_starts, quick_retries
):
    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    body = response.json()
    assert response.status_code == 503
    assert (body["success"], body["recorded"], body["status"]) == (False, False, "failed")
    assert body["message"] == "Restart of nginx not run: the database is unavailable; nothing was restarted"
    assert fake_systemd.restarts() == []


class ReleaseOnFirstFailure(logging.Handler):
    """Lets the database answer again as soon as the first write has failed."""

    def __init__(self, lock: Lock) -> None:
        super().__init__()
        self.database = lock

    def emit(self, record: logging.LogRecord) -> None:
        if "cannot be written yet" in record.getMessage():
            self.database.release()


@pytest.mark.django_db(transaction=True)
def test_a_database_back_within_seconds_gets_the_outcome_written_in_the_request(
    operator, fake_systemd, signed_in, locked_as_verify_starts, quick_retries
):
    release = ReleaseOnFirstFailure(locked_as_verify_starts)
    logging.getLogger("server_monitor.restarts").addHandler(release)
    try:
        response = signed_in(operator).post("/api/v1/server/services/nginx/restart")
    finally:
        logging.getLogger("server_monitor.restarts").removeHandler(release)

    assert (response.status_code, response.json()["recorded"]) == (503, True)
    assert response.json()["message"] == "Restart of nginx failed: not run: the database is unavailable"
    assert audit.recorder.waiting() == []
    assert RestartAction.objects.get().lock is None


@pytest.mark.django_db(transaction=True)
def test_the_page_says_nothing_ran(operator, fake_systemd, locked_as_verify_starts, quick_retries):
    client = Client()
    client.force_login(operator)
    # The session slides now (web/sessions.py), so its next save falls inside the lock; the
    # test database is SQLite in memory, whose connection Django never closes, and a failed
    # rollback there would wedge it for the tests after this one. A fresh slide needs none.
    client.get("/")

    client.post("/services/nginx/restart")
    locked_as_verify_starts.release()  # the page itself reads the audit
    wait_until(lambda: not audit.recorder.waiting(), timeout=30, message="the outcome to be written")

    html = client.get("/").content.decode()
    assert "Restart of nginx not run: the database is unavailable; nothing was restarted (audit #" in html
    assert fake_systemd.restarts() == []


@pytest.mark.django_db(transaction=True)
def test_an_approved_restart_whose_row_cannot_be_read_back_is_closed_as_not_run(
    operator, approver, fake_systemd, signed_in, settings, lock, quick_retries, monkeypatch
):
    settings.WPDASH_RESTART_APPROVAL = True
    pending = signed_in(operator).post("/api/v1/server/services/nginx/restart").json()
    ask_systemd = systemd.get_status

    def then_lock(name: str) -> systemd.ServiceStatus:
        status = ask_systemd(name)
        lock.take()  # between the approval moving the row to running and reading it back
        return status

    monkeypatch.setattr(systemd, "get_status", then_lock)

    response = signed_in(approver).post(f"/api/v1/server/restarts/{pending['id']}/approve")

    assert response.status_code == 503
    assert (response.json()["recorded"], response.json()["status"]) == (False, "failed")
    assert fake_systemd.restarts() == []
    lock.release()
    wait_until(lambda: not audit.recorder.waiting(), timeout=30, message="the outcome to be written")
    row = RestartAction.objects.get()
    assert (row.status, row.lock, row.note) == ("failed", None, "not run: the database is unavailable")


@pytest.mark.django_db(transaction=True)
def test_a_row_that_cannot_be_moved_to_running_is_closed_as_not_run(operator, fake_systemd, signed_in, refuse):
    refuse("OLD.status = 'pending' AND NEW.status = 'running'")

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 503
    assert response.json()["message"] == "Restart of nginx failed: not run: the database is unavailable"
    assert response.json()["recorded"] is True
    row = RestartAction.objects.get()
    assert (row.status, row.lock) == ("failed", None)
    assert fake_systemd.restarts() == []


@pytest.mark.django_db
def test_the_restart_commands_pid_and_start_time_are_recorded(operator, fake_systemd, signed_in, settings, tmp_path):
    pids = tmp_path / "pids"
    wrapper = tmp_path / "systemctl"  # says its PID, then becomes the stand-in (exec keeps the PID)
    wrapper.write_text(f'#!/bin/sh\necho "$$ $1" >> {pids}\nexec {fake_systemd.path} "$@"\n')
    wrapper.chmod(0o755)
    settings.WPDASH_SYSTEMCTL = str(wrapper)

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 200
    (restart_pid,) = [int(line.split()[0]) for line in pids.read_text().splitlines() if line.endswith(" restart")]
    row = RestartAction.objects.get()
    assert row.child_pid == restart_pid
    assert row.started_at.timestamp() - 1 <= row.child_started <= row.finished_at.timestamp() + 1


@pytest.mark.django_db(transaction=True)
def test_a_restart_command_pid_that_cannot_be_written_does_not_stop_the_restart(
    operator, fake_systemd, signed_in, refuse, caplog
):
    refuse("NEW.child_pid IS NOT NULL")

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert (response.status_code, response.json()["status"]) == (200, "succeeded")
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]
    assert RestartAction.objects.get().child_pid is None
    assert "the restart command's pid" in caplog.text and "could not be recorded" in caplog.text

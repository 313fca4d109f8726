"""A restart whose server process died is marked interrupted, and its lock freed.

Only rows whose runner is provably gone (same host, PID dead or reused) are touched,
so several server processes sharing one database never mark each other's work.
"""

from __future__ import annotations

import subprocess
import sys

import psutil
from django.core.management import call_command

from server_monitor.models import RestartAction
from server_monitor.workflows import runners


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def open_row(user, status: str = "running", **runner) -> RestartAction:
    return RestartAction.objects.create(
        service="nginx",
        unit="nginx.service",
        command="systemctl restart -- nginx",
        requested_by=user,
        status=status,
        lock="nginx.service",
        **runner,
    )


def here(**overrides) -> dict:
    me = runners.current_runner()
    return {"runner_host": me.host, "runner_pid": me.pid, "runner_started": me.started} | overrides


def test_a_running_row_whose_process_died_is_marked_interrupted(operator):
    row = open_row(operator, **here(runner_pid=dead_pid()))

    assert runners.recover_interrupted() == 1

    row.refresh_from_db()
    assert (row.status, row.lock) == ("interrupted", None)
    assert row.finished_at is not None
    assert row.note.startswith(f"interrupted: the server process that ran this restart (pid {row.runner_pid} on ")


def test_a_pid_reused_by_another_process_counts_as_gone(operator):
    row = open_row(operator, **here(runner_started=psutil.Process().create_time() - 3600))

    assert runners.recover_interrupted() == 1
    assert RestartAction.objects.get(pk=row.pk).status == "interrupted"


def test_an_immediate_row_that_never_started_running_is_interrupted_too(operator):
    row = open_row(operator, status="pending", **here(runner_pid=dead_pid()))

    runners.recover_interrupted()

    assert RestartAction.objects.get(pk=row.pk).status == "interrupted"


def test_a_live_runners_row_is_left_alone(operator):
    row = open_row(operator, **here())

    assert runners.recover_interrupted() == 0
    assert RestartAction.objects.get(pk=row.pk).status == "running"


def test_a_row_run_on_another_host_is_left_alone(operator):
    row = open_row(operator, **here(runner_host="other-host.example", runner_pid=dead_pid()))

    assert runners.recover_interrupted() == 0
    assert RestartAction.objects.get(pk=row.pk).status == "running"


def test_a_request_waiting_for_approval_has_no_runner_and_is_left_alone(operator):
    row = open_row(operator, status="pending")

    assert runners.recover_interrupted() == 0
    assert RestartAction.objects.get(pk=row.pk).status == "pending"


def test_finished_rows_are_never_touched(operator):
    row = open_row(operator, status="succeeded", **here(runner_pid=dead_pid()))
    RestartAction.objects.filter(pk=row.pk).update(lock=None)

    assert runners.recover_interrupted() == 0


def test_the_start_up_command_recovers_and_says_how_many(operator, capsys):
    open_row(operator, **here(runner_pid=dead_pid()))

    call_command("recover_restarts")

    assert "Marked 1 interrupted restart(s)" in capsys.readouterr().out
    call_command("recover_restarts")
    assert "No interrupted restarts." in capsys.readouterr().out


def test_a_stale_lock_from_a_dead_process_does_not_block_a_new_restart(signed_in, operator, fake_systemd):
    stale = open_row(operator, **here(runner_pid=dead_pid()))

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 200
    assert RestartAction.objects.get(pk=stale.pk).status == "interrupted"

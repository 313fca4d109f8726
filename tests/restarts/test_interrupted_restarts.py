"""A restart whose server process died: over only when its restart command is gone too,
then recorded from what the unit did, or marked interrupted when that cannot be told.

Only rows whose runner is provably gone (same host, PID dead or reused) are touched,
so several server processes sharing one database never mark each other's work. The
"restart command" here is the real stand-in systemctl, started the way process.run
starts it (a session of its own), so it outlives nothing but is a real process.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import psutil
import pytest
from django.core.management import call_command
from django.utils import timezone

from server_monitor.models import RestartAction
from server_monitor.workflows import runners, verify
from tests.support.servers import wait_until
from tests.support.systemd import FakeSystemd

NGINX_BEFORE = {"state_before": "active (running)", "main_pid_before": 337, "active_enter_before": 21977062}


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def open_row(user, status: str = "running", **fields) -> RestartAction:
    return RestartAction.objects.create(
        service="nginx",
        unit="nginx.service",
        command="systemctl restart -- nginx",
        requested_by=user,
        status=status,
        lock="nginx.service",
        started_at=timezone.now() if status == "running" else None,
        **fields,
    )


def here(**overrides) -> dict:
    me = runners.current_runner()
    return {"runner_host": me.host, "runner_pid": me.pid, "runner_started": me.started} | overrides


def gone_runner() -> dict:
    return here(runner_pid=dead_pid())


def child(process: subprocess.Popen) -> dict:
    return {"child_pid": process.pid, "child_started": psutil.Process(process.pid).create_time()}


def restart_command(fake: FakeSystemd) -> subprocess.Popen:
    """`systemctl restart -- nginx` of the stand-in, as process.run starts it."""
    return subprocess.Popen(
        [str(fake.path), "restart", "--", "nginx"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def ended_without_restarting() -> dict:
    """A command that ran and ended and did nothing to the unit (killed before its job, say)."""
    command = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = child(command)
    command.wait()
    return identity


def ran_to_its_end(fake: FakeSystemd) -> dict:
    command = restart_command(fake)
    identity = child(command)
    command.wait(timeout=30)
    return identity


# --- which rows are over ---------------------------------------------------------------


def test_a_running_row_whose_process_died_without_a_recorded_command_is_interrupted(operator, fake_systemd):
    row = open_row(operator, **gone_runner(), **NGINX_BEFORE)

    recovery = runners.recover_interrupted()

    assert (recovery.interrupted, recovery.recorded) == (1, 0)
    row.refresh_from_db()
    assert (row.status, row.lock) == ("interrupted", None)
    assert row.finished_at is not None
    assert row.note.startswith(f"interrupted: the server process that ran this restart (pid {row.runner_pid} on ")
    assert row.note.endswith("whether the restart command ran is not recorded; check the unit's state by hand")
    assert fake_systemd.invocations() == []  # nothing to read: systemd is not asked


def test_a_pid_reused_by_another_process_counts_as_gone(operator):
    row = open_row(operator, **here(runner_started=psutil.Process().create_time() - 3600))

    assert runners.recover_interrupted().interrupted == 1
    assert RestartAction.objects.get(pk=row.pk).status == "interrupted"


def test_an_immediate_row_that_never_started_running_is_interrupted(operator):
    row = open_row(operator, status="pending", **gone_runner())

    runners.recover_interrupted()

    row.refresh_from_db()
    assert row.status == "interrupted"
    assert row.note.endswith("before it finished; the restart never started")


def test_a_live_runners_row_is_left_alone(operator):
    row = open_row(operator, **here())

    assert runners.recover_interrupted() == runners.Recovery()
    assert RestartAction.objects.get(pk=row.pk).status == "running"


def test_a_row_run_on_another_host_is_left_alone(operator):
    row = open_row(operator, **here(runner_host="other-host.example", runner_pid=dead_pid()))

    assert runners.recover_interrupted() == runners.Recovery()
    assert RestartAction.objects.get(pk=row.pk).status == "running"


def test_a_request_waiting_for_approval_has_no_runner_and_is_left_alone(operator):
    row = open_row(operator, status="pending")

    assert runners.recover_interrupted() == runners.Recovery()
    assert RestartAction.objects.get(pk=row.pk).status == "pending"


def test_finished_rows_are_never_touched(operator):
    row = open_row(operator, status="succeeded", **gone_runner())
    RestartAction.objects.filter(pk=row.pk).update(lock=None)

    assert runners.recover_interrupted() == runners.Recovery()


# --- the restart command outlives its runner ----------------------------------------------


def test_a_row_whose_restart_command_still_runs_is_left_locked_then_recorded_from_the_unit(
    operator, fake_systemd, signed_in
):
    release = fake_systemd.gate_restart("nginx.service")
    command = restart_command(fake_systemd)
    try:
        row = open_row(operator, **gone_runner(), **NGINX_BEFORE, **child(command))

        assert runners.recover_interrupted() == runners.Recovery(still_running=1)
        assert RestartAction.objects.get(pk=row.pk).lock == "nginx.service"
        blocked = signed_in(operator).post("/api/v1/server/services/nginx/restart")
        assert (blocked.status_code, blocked.json()["existing_action_id"]) == (409, row.pk)
    finally:
        release()
    command.wait(timeout=30)

    assert runners.recover_interrupted() == runners.Recovery(recorded=1)
    row.refresh_from_db()
    assert (row.status, row.lock, row.exit_code) == ("succeeded", None, None)
    assert (row.state_after, row.main_pid_after) == ("active (running)", 1001)
    assert row.note == (
        f"the server process that ran this restart (pid {row.runner_pid} on {row.runner_host}) ended mid-restart; "
        "the outcome was read from the unit afterwards: active again, MainPID 337 → 1001"
    )
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]  # recovery restarted nothing itself


def test_a_restart_command_that_exited_unreaped_counts_as_gone(operator, fake_systemd):
    command = restart_command(fake_systemd)
    identity = child(command)
    wait_until(lambda: psutil.Process(command.pid).status() == psutil.STATUS_ZOMBIE, timeout=30, message="exit")
    row = open_row(operator, **gone_runner(), **NGINX_BEFORE, **identity)

    assert runners.recover_interrupted() == runners.Recovery(recorded=1)
    assert RestartAction.objects.get(pk=row.pk).status == "succeeded"
    command.wait()


def test_a_restart_commands_pid_now_held_by_another_process_counts_as_gone(operator, fake_systemd):
    command = restart_command(fake_systemd)  # a live process, but not the one the row started
    try:
        identity = child(command) | {"child_started": psutil.Process(command.pid).create_time() - 3600}
        open_row(operator, **gone_runner(), **NGINX_BEFORE, **identity)

        assert runners.recover_interrupted().still_running == 0
    finally:
        command.kill()
        command.wait()


# --- what the unit did ----------------------------------------------------------------------


def test_a_unit_still_changing_state_is_left_locked_until_it_settles(operator, fake_systemd, signed_in):
    # Under systemd the dashboard's cgroup, its systemctl included, is killed with it;
    # the restart job goes on in systemd and the unit shows where it has got to.
    fake_systemd.set("nginx.service", ActiveState="deactivating", SubState="stop-sigterm")
    row = open_row(operator, **gone_runner(), **NGINX_BEFORE, **ended_without_restarting())

    assert runners.recover_interrupted() == runners.Recovery(still_running=1)
    assert RestartAction.objects.get(pk=row.pk).lock == "nginx.service"
    earlier = len(fake_systemd.invocations())
    blocked = signed_in(operator).post("/api/v1/server/services/nginx/restart")
    assert (blocked.status_code, blocked.json()["existing_action_id"]) == (409, row.pk)
    asked = [argv[0] for argv in fake_systemd.invocations()[earlier:]]
    assert asked == ["show", "show"]  # the request's own look, and one recovery: not one per retry

    fake_systemd.set("nginx.service", ActiveState="active", SubState="running", MainPID="1001")
    assert runners.recover_interrupted() == runners.Recovery(recorded=1)
    assert RestartAction.objects.get(pk=row.pk).status == "succeeded"


def test_a_unit_that_failed_is_recorded_as_failed_with_its_journal(operator, fake_systemd, settings):
    settings.WPDASH_JOURNALCTL = "/nonexistent/journalctl"  # the journal is asked for, and says why it is not there
    fake_systemd.on_restart("nginx.service", "fail")
    row = open_row(operator, **gone_runner(), **NGINX_BEFORE, **ran_to_its_end(fake_systemd))

    assert runners.recover_interrupted().recorded == 1
    row.refresh_from_db()
    assert (row.status, row.state_after, row.main_pid_after) == ("failed", "failed (failed)", None)
    assert row.note.endswith("the outcome was read from the unit afterwards: the unit is failed (failed) afterwards")
    assert row.journal.startswith(verify.JOURNAL_UNREADABLE)


def test_a_unit_with_the_same_main_pid_shows_no_restart_and_is_recorded_as_failed(operator, fake_systemd):
    row = open_row(operator, **gone_runner(), **NGINX_BEFORE, **ended_without_restarting())

    runners.recover_interrupted()

    row.refresh_from_db()
    assert (row.status, row.main_pid_after) == ("failed", 337)
    assert row.note.endswith("the unit shows no new activation (same MainPID)")


def test_a_unit_without_a_main_process_is_judged_by_its_activation_time(operator, fake_systemd):
    fake_systemd.set("nginx.service", MainPID="0")  # as a oneshot unit (ufw) shows
    before = NGINX_BEFORE | {"main_pid_before": None}
    fake_systemd.set("nginx.service", ActiveEnterTimestampMonotonic=str(NGINX_BEFORE["active_enter_before"] + 5))
    row = open_row(operator, **gone_runner(), **before, **ended_without_restarting())

    runners.recover_interrupted()

    assert RestartAction.objects.get(pk=row.pk).status == "succeeded"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("systemd_down", "the unit's state afterwards cannot be read (systemd is not running on this host.)"),
        ("before_boot", "the host has restarted since, so the unit's state says nothing of it; check it by hand"),
        ("no_state_before", "its state before the restart is not recorded"),
    ],
)
def test_when_the_unit_cannot_tell_the_row_is_interrupted(operator, fake_systemd, change, why):
    fields = NGINX_BEFORE | ran_to_its_end(fake_systemd)
    if change == "no_state_before":
        fields["active_enter_before"] = None
    row = open_row(operator, **gone_runner(), **fields)
    if change == "systemd_down":
        fake_systemd.go_offline()
    if change == "before_boot":
        a_minute_before_boot = datetime.fromtimestamp(psutil.boot_time() - 60, tz=UTC)
        RestartAction.objects.filter(pk=row.pk).update(started_at=a_minute_before_boot)

    assert runners.recover_interrupted().interrupted == 1
    row.refresh_from_db()
    assert (row.status, row.lock) == ("interrupted", None)
    assert row.note.endswith(f"before it finished; {why}")


# --- where recovery runs ------------------------------------------------------------------------


def test_the_start_up_command_says_what_it_did(operator, fake_systemd, capsys):
    open_row(operator, **gone_runner())

    call_command("recover_restarts")

    assert "Marked 1 interrupted restart(s)" in capsys.readouterr().out
    call_command("recover_restarts")
    assert "No interrupted restarts." in capsys.readouterr().out


def test_the_start_up_command_names_a_restart_left_locked_while_its_command_runs(operator, fake_systemd, capsys):
    release = fake_systemd.gate_restart("nginx.service")
    command = restart_command(fake_systemd)
    try:
        open_row(operator, **gone_runner(), **NGINX_BEFORE, **child(command))

        call_command("recover_restarts")

        assert "Left 1 restart(s) locked: still under way" in capsys.readouterr().out
    finally:
        release()
        command.wait(timeout=30)
    call_command("recover_restarts")
    assert "Recorded 1 restart(s) from the unit's state" in capsys.readouterr().out


def test_a_stale_lock_from_a_dead_process_does_not_block_a_new_restart(signed_in, operator, fake_systemd):
    stale = open_row(operator, **gone_runner(), **NGINX_BEFORE, **ran_to_its_end(fake_systemd))

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 200
    assert RestartAction.objects.get(pk=stale.pk).status == "succeeded"

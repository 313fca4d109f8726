"""POST /services/{name}/restart in immediate mode: audited, verified, one at a time."""

from __future__ import annotations

import json
import os
import shlex
import shutil

import psutil
import pytest

from server_monitor.adapters import process, systemd
from server_monitor.models import RestartAction
from server_monitor.workflows import runners
from tests.support.captures import capture
from tests.support.systemd import install_fake_sudo


def restart(client, name: str = "nginx"):
    return client.post(f"/api/v1/server/services/{name}/restart")


def test_it_restarts_and_records_the_unit_before_and_after(signed_in, operator, fake_systemd):
    response = restart(signed_in(operator))

    assert response.status_code == 200
    action = RestartAction.objects.get()
    assert response.json()["id"] == action.pk
    assert response.json()["status"] == "succeeded"
    assert (action.state_before, action.main_pid_before) == ("active (running)", 337)
    assert (action.state_after, action.main_pid_after) == ("active (running)", 1001)
    assert (action.exit_code, action.output, action.lock) == (0, "", None)
    assert (action.requested_by, action.client_address) == (operator, "127.0.0.1")
    assert action.requested_at <= action.started_at <= action.finished_at
    assert action.command == shlex.join([fake_systemd.path.as_posix(), "restart", "--", "nginx"])
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]


def test_the_answer_is_the_audit_row(signed_in, operator, fake_systemd):
    body = restart(signed_in(operator)).json()

    assert body["requested_by"] == "operator"
    assert body["service"] == "nginx" and body["unit"] == "nginx.service"
    assert "lock" not in body and "runner_pid" not in body


def test_an_alias_restarts_by_the_name_asked_for_and_records_its_unit(signed_in, operator, fake_systemd):
    response = restart(signed_in(operator), "mysql")

    assert response.status_code == 200
    assert (response.json()["service"], response.json()["unit"]) == ("mysql", "mariadb.service")
    assert fake_systemd.restarts() == [["restart", "--", "mysql"]]


def test_a_unit_that_fails_to_start_gives_503_and_a_failed_row(signed_in, operator, fake_systemd):
    fake_systemd.on_restart("nginx.service", "fail")

    response = restart(signed_in(operator))

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["exit_code"], body["state_after"]) == ("failed", 1, "failed (failed)")
    assert body["output"].startswith("Job for nginx.service failed because the control process exited")
    assert RestartAction.objects.get().lock is None


def test_exit_0_with_the_unit_dead_afterwards_is_a_failure(signed_in, operator, fake_systemd):
    fake_systemd.on_restart("nginx.service", "crash")

    response = restart(signed_in(operator))

    assert response.status_code == 503
    assert response.json()["status"] == "failed"
    assert response.json()["note"] == "exit 0, but the unit is failed (failed) afterwards"


def test_a_restart_that_hangs_is_killed_and_recorded_as_timed_out(signed_in, operator, fake_systemd, monkeypatch):
    monkeypatch.setattr(systemd, "RESTART_TIMEOUT", 0.5)
    fake_systemd.on_restart("nginx.service", sleep=60)

    response = restart(signed_in(operator))

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["exit_code"]) == ("timed_out", None)
    assert body["note"] == "no answer within 0.5 s; killed"
    assert fake_systemd.unit("nginx.service")["MainPID"] == "337"  # nothing restarted
    assert (
        not [  # and the hanging systemctl is gone, not left behind
            process
            for process in psutil.process_iter(["cmdline"])
            if str(fake_systemd.path) in (process.info["cmdline"] or ())
        ]
    )


def test_a_new_restart_can_follow_a_finished_one(signed_in, operator, fake_systemd):
    client = signed_in(operator)

    assert restart(client).status_code == 200
    assert restart(client).status_code == 200
    assert [action.main_pid_after for action in RestartAction.objects.order_by("pk")] == [1001, 1002]


def test_it_returns_409_while_a_restart_runs(signed_in, operator, viewer, fake_systemd):
    runner = runners.current_runner()  # this process: alive, so its row really is running
    running = RestartAction.objects.create(
        service="nginx",
        unit="nginx.service",
        command="systemctl restart -- nginx",
        requested_by=viewer,
        status="running",
        lock="nginx.service",
        runner_host=runner.host,
        runner_pid=runner.pid,
        runner_started=runner.started,
    )

    response = restart(signed_in(operator))

    assert response.status_code == 409
    assert response.json() == {"detail": "A restart of nginx is already running.", "existing_action_id": running.pk}
    assert fake_systemd.restarts() == []
    assert RestartAction.objects.count() == 1


def test_mysql_and_mariadb_are_one_unit_and_so_one_lock(signed_in, operator, viewer, fake_systemd):
    pending = RestartAction.objects.create(
        service="mariadb", unit="mariadb.service", command="-", requested_by=viewer, lock="mariadb.service"
    )

    response = restart(signed_in(operator), "mysql")

    assert (response.status_code, response.json()["existing_action_id"]) == (409, pending.pk)


def test_another_unit_is_not_held_up_by_a_running_restart(signed_in, operator, viewer, fake_systemd):
    RestartAction.objects.create(
        service="nginx", unit="nginx.service", command="-", requested_by=viewer, lock="nginx.service"
    )

    assert restart(signed_in(operator), "redis-server").status_code == 200


def test_without_the_restart_permission_it_answers_403_and_runs_nothing(signed_in, viewer, approver, fake_systemd):
    for user in (viewer, approver):
        response = restart(signed_in(user))
        assert response.status_code == 403
    assert fake_systemd.invocations() == []
    assert not RestartAction.objects.exists()


def test_anonymous_and_deactivated_users_cannot_restart(anonymous_client, signed_in, outsider, fake_systemd):
    assert restart(anonymous_client).status_code == 401
    assert restart(signed_in(outsider)).status_code == 401
    assert fake_systemd.invocations() == []


def test_a_superuser_may_restart(signed_in, superuser, fake_systemd):
    assert restart(signed_in(superuser)).status_code == 200


def test_a_unit_that_is_not_installed_gives_404_and_no_row(signed_in, operator, fake_systemd):
    response = restart(signed_in(operator), "postfix")

    assert response.status_code == 404
    assert fake_systemd.restarts() == []
    assert not RestartAction.objects.exists()


def test_without_systemd_it_answers_503_and_writes_no_row(signed_in, operator, fake_systemd):
    fake_systemd.go_offline()

    response = restart(signed_in(operator))

    assert (response.status_code, response.json()) == (
        503,
        {
            "success": False,
            "message": "Restart of nginx failed: systemd is not running on this host.",
            "detail": "systemd is not running on this host.",
        },
    )
    assert not RestartAction.objects.exists()


def test_with_sudo_on_it_runs_sudo_n_systemctl_restart_with_list_arguments(
    signed_in, operator, fake_systemd, settings, monkeypatch, tmp_path
):
    sudo, sudo_log = install_fake_sudo(tmp_path / "sudo")
    monkeypatch.setattr(systemd, "SUDO", str(sudo))
    settings.WPDASH_SUDO = True

    response = restart(signed_in(operator))

    assert response.status_code == 200
    argv = [json.loads(line) for line in sudo_log.read_text().splitlines()]
    assert argv == [["-n", str(fake_systemd.path), "restart", "--", "nginx"]]
    assert response.json()["command"] == shlex.join([str(sudo), "-n", str(fake_systemd.path), "restart", "--", "nginx"])


def test_a_restart_command_that_cannot_be_run_is_a_failed_row(signed_in, operator, fake_systemd, settings, monkeypatch):
    monkeypatch.setattr(systemd, "SUDO", "/nonexistent/sudo")
    settings.WPDASH_SUDO = True

    response = restart(signed_in(operator))

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["exit_code"], body["note"]) == ("failed", None, "the restart command could not be run")
    assert body["output"] == "/nonexistent/sudo cannot be run: No such file or directory"
    assert RestartAction.objects.get().lock is None


def test_systemctl_sees_none_of_the_servers_secrets(monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "s3cret-" * 6)
    monkeypatch.setenv("DATABASE_URL", "mysql://wpdash:hunter2@127.0.0.1/wpdash")

    seen = process.run(["/usr/bin/env"], timeout=5).stdout

    assert "s3cret" not in seen and "hunter2" not in seen
    assert "LC_ALL=C.UTF-8" in seen


def test_the_default_sudo_is_the_system_one():
    assert systemd.SUDO == "/usr/bin/sudo"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to act as nobody")
def test_a_missing_sudoers_rule_fails_at_once_instead_of_waiting_for_a_password(
    signed_in, operator, fake_systemd, settings, monkeypatch, tmp_path
):
    # The real sudo, run as a user with no sudoers rule ("nobody"), as on a server
    # whose deploy step was skipped. -n makes it fail instead of prompting.
    as_nobody = tmp_path / "sudo-as-nobody"
    as_nobody.write_text('#!/bin/sh\nexec runuser -u nobody -- /usr/bin/sudo "$@"\n')
    as_nobody.chmod(0o755)
    monkeypatch.setattr(systemd, "SUDO", str(as_nobody))
    settings.WPDASH_SUDO = True

    response = restart(signed_in(operator))

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["exit_code"]) == ("failed", 1)
    refusal = capture("sudo-no-rule.txt").text.splitlines()[-1]  # as captured on Debian 12
    assert refusal == "sudo: a password is required"
    assert body["output"].strip() == refusal
    assert fake_systemd.restarts() == []

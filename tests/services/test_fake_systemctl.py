"""The stand-in systemctl speaks exactly what the captured systemd printed.

If the stand-in drifted from the real format, every other services test would be
testing a fiction; these tests hold it to tests/fixtures/systemd/.
"""

from __future__ import annotations

import subprocess
import sys

from tests.support.captures import capture
from tests.support.systemctl import running
from tests.support.systemd import FakeSystemd
from wpdash.settings import DEFAULT_SERVICES

FIXTURE_PROPERTIES = (
    "MainPID,ExecMainStartTimestamp,MemoryCurrent,Id,Names,LoadState,"
    "ActiveState,SubState,ActiveEnterTimestamp,ActiveEnterTimestampMonotonic"
)


def run(fake: FakeSystemd, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(fake.path), *args], capture_output=True, text=True, timeout=10, check=False)


def test_its_show_of_the_allowlist_is_the_captured_output_byte_for_byte(tmp_path):
    fake = FakeSystemd(tmp_path)
    captured = capture("show-allowlist-running.txt")

    shown = run(fake, "show", "-p", FIXTURE_PROPERTIES, "--", *DEFAULT_SERVICES)

    assert (shown.stdout, shown.returncode) == (captured.text, captured.exits[0])


def test_it_prints_only_the_properties_asked_for_in_systemds_order(tmp_path):
    fake = FakeSystemd(tmp_path)

    shown = run(fake, "show", "-p", "Id,MainPID", "--", "nginx")

    assert shown.stdout == "MainPID=337\nId=nginx.service\n"


def test_a_failing_restart_prints_systemds_message_and_leaves_the_unit_failed(tmp_path):
    fake = FakeSystemd(tmp_path)
    fake.on_restart("nginx.service", "fail")
    captured = capture("restart-failing-unit.txt")

    restarted = run(fake, "restart", "--", "nginx")

    assert (restarted.stderr, restarted.returncode) == (captured.text, captured.exits[0])
    shown = run(fake, "show", "-p", FIXTURE_PROPERTIES, "--", "nginx").stdout
    failed = capture("show-failed-unit.txt").text
    assert shown == failed  # as captured: failed, no PID, no memory, stale stamps


def test_an_unknown_unit_fails_to_restart_with_exit_5(tmp_path):
    fake = FakeSystemd(tmp_path)
    captured = capture("restart-unknown-unit.txt")

    restarted = run(fake, "restart", "--", "nosuchunit")

    assert (restarted.stderr, restarted.returncode) == (captured.text, captured.exits[0])


def test_a_restart_gives_a_new_mainpid_and_a_newer_monotonic_stamp(tmp_path):
    fake = FakeSystemd(tmp_path)
    before = fake.unit("nginx.service")

    assert run(fake, "restart", "--", "nginx").returncode == 0

    after = fake.unit("nginx.service")
    assert after["MainPID"] != before["MainPID"]
    assert int(after["ActiveEnterTimestampMonotonic"]) > int(before["ActiveEnterTimestampMonotonic"])


def test_it_answers_is_system_running_like_a_booted_host(tmp_path):
    captured = capture("is-system-running.txt")

    answered = run(FakeSystemd(tmp_path), "is-system-running")

    assert (answered.stdout, answered.returncode) == (captured.text, captured.exits[0])


def test_offline_it_fails_like_systemctl_on_a_host_without_systemd(tmp_path):
    fake = FakeSystemd(tmp_path)
    fake.go_offline()
    real = subprocess.run(["/usr/bin/systemctl", "show", "nginx"], capture_output=True, text=True, check=False)
    if real.returncode == 0:
        real.stderr = (  # a booted host: compare with what containers print
            "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
            "Failed to connect to bus: Host is down\n"
        )

    shown = run(fake, "show", "--", "nginx")

    assert (shown.stderr, shown.returncode) == (real.stderr, 1)


def test_it_logs_every_invocation_with_its_arguments(tmp_path):
    fake = FakeSystemd(tmp_path)

    run(fake, "show", "-p", "Id", "--", "nginx")
    run(fake, "restart", "--", "nginx")

    assert fake.invocations() == [["show", "-p", "Id", "--", "nginx"], ["restart", "--", "nginx"]]
    assert fake.restarts() == [["restart", "--", "nginx"]]


# A daemon that forks like nginx and, like an nginx holding a request in flight, outlives
# the graceful-stop signal: the stand-in must escalate as Debian's unit does.
STUBBORN_DAEMON = """
import os, signal, sys, time
if os.fork():
    sys.exit(0)
os.setsid()
signal.signal(signal.SIGQUIT, signal.SIG_IGN)
with open(sys.argv[1], "w") as pidfile:
    pidfile.write(str(os.getpid()))
while True:
    time.sleep(1)
"""


def test_a_forking_daemon_is_restarted_with_quit_then_term_and_its_new_pid_is_the_main_pid(tmp_path):
    fake = FakeSystemd(tmp_path)
    pidfile = tmp_path / "daemon.pid"
    start = [sys.executable, "-c", STUBBORN_DAEMON, str(pidfile)]
    fake.run_daemon("nginx.service", check=["/bin/true"], start=start, pidfile=pidfile, stop_seconds=0.2)
    assert run(fake, "start", "nginx.service").returncode == 0
    first = int(pidfile.read_text())
    try:
        restarted = run(fake, "restart", "--", "nginx")

        second = int(pidfile.read_text())
        assert (restarted.returncode, restarted.stderr) == (0, "")
        assert second != first and not running(first)  # SIGQUIT was ignored: SIGTERM ended it
        shown = run(fake, "show", "-p", "MainPID,ActiveState,SubState", "--", "nginx").stdout
        assert shown == f"MainPID={second}\nActiveState=active\nSubState=running\n"
    finally:
        run(fake, "stop", "nginx.service")
    assert not running(second)


def test_a_forking_daemon_whose_check_fails_is_stopped_and_left_failed(tmp_path):
    fake = FakeSystemd(tmp_path)
    pidfile = tmp_path / "daemon.pid"
    start = [sys.executable, "-c", STUBBORN_DAEMON, str(pidfile)]
    fake.run_daemon("nginx.service", check=["/bin/true"], start=start, pidfile=pidfile, stop_seconds=0.2)
    assert run(fake, "start", "nginx.service").returncode == 0
    first = int(pidfile.read_text())
    fake.run_daemon("nginx.service", check=["/bin/false"], start=start, pidfile=pidfile, stop_seconds=0.2)
    fake.set("nginx.service", MainPID=str(first), ActiveState="active", SubState="running")

    restarted = run(fake, "restart", "--", "nginx")

    assert (restarted.stderr, restarted.returncode) == (capture("restart-failing-unit.txt").text, 1)
    assert not running(first)  # stopped before the failing start, as systemd does
    shown = run(fake, "show", "-p", "MainPID,ActiveState,SubState", "--", "nginx").stdout
    assert shown == "MainPID=0\nActiveState=failed\nSubState=failed\n"

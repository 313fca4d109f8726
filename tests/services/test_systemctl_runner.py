"""process.run: list arguments, a deadline that kills the whole process group, bounded output."""

from __future__ import annotations

import sys

import psutil

from server_monitor.adapters import process
from server_monitor.workflows import verify
from tests.support.servers import wait_until


def test_it_keeps_only_the_first_bytes_of_a_flood_and_still_lets_the_child_finish():
    flood = [sys.executable, "-c", "import sys; sys.stdout.write('x' * 20_000_000); sys.stderr.write('e' * 500)"]

    result = process.run(flood, timeout=30, limit=1000)

    assert (result.exit_code, result.timed_out) == (0, False)
    assert result.stdout == "x" * 1000
    assert result.stderr == "e" * 500


def test_at_the_deadline_the_child_and_its_children_are_killed(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    spawner = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; child = subprocess.Popen(['sleep', '60']); "
        "open(sys.argv[1], 'w').write(str(child.pid)); time.sleep(60)",
        str(pid_file),
    ]

    result = process.run(spawner, timeout=2)

    assert (result.timed_out, result.exit_code) == (True, None)
    grandchild = int(pid_file.read_text())
    # SIGKILL to a group is delivered as each member is next scheduled: allow for that.
    wait_until(lambda: ended(grandchild), timeout=30, message=f"pid {grandchild} to end")


def ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_arguments_are_passed_as_they_are_never_through_a_shell(tmp_path):
    result = process.run([sys.executable, "-c", "import sys; print(sys.argv[1:])", "$(id)", "a;b", "`x`"], timeout=10)

    assert result.stdout == "['$(id)', 'a;b', '`x`']\n"


def test_a_restarts_output_is_cut_to_the_audits_bound():
    kept = verify.bounded("y" * 9000)

    assert kept.startswith("y" * 8000)
    assert kept.endswith("(1000 more characters cut)")


def test_on_start_learns_the_childs_pid_while_it_runs():
    seen: list[list[str]] = []

    def on_start(pid: int) -> None:
        seen.append(psutil.Process(pid).cmdline())  # alive (or at worst not yet reaped) at this point

    result = process.run([sys.executable, "-c", "print('done')", "marker-arg"], timeout=10, on_start=on_start)

    assert seen == [[sys.executable, "-c", "print('done')", "marker-arg"]]
    assert (result.exit_code, result.stdout) == (0, "done\n")


def test_a_failing_on_start_is_logged_and_the_child_still_runs_to_its_end(caplog):
    def on_start(pid: int) -> None:
        raise RuntimeError("the audit row could not be written")

    result = process.run(
        [sys.executable, "-c", "import time; time.sleep(0.2); print('finished')"], 10, on_start=on_start
    )

    assert (result.exit_code, result.stdout, result.timed_out) == (0, "finished\n", False)
    assert "on_start for" in caplog.text and "the child runs on" in caplog.text

#!/usr/bin/env python3
"""A stand-in for systemctl, for tests only: speaks what systemd 252 prints.

Its state (units, behaviours) is `state.json` next to this file, so a daphne
subprocess started with WPDASH_SYSTEMCTL pointing here shares it with the test.
Every invocation is appended to `invocations.log` (one JSON argv per line) before
anything else happens, so a test can count what was run.

Formats replayed from tests/fixtures/systemd/: `show` prints properties in systemd's
own order with a blank line between units, answers an alias with its unit's block,
prints a not-found block for unknown units and exits 0; `restart` prints systemd's
messages for a failing or unknown unit; without systemd every verb fails the way it
does in a container.

Behaviours per unit Id in state["restart"]: {"mode": "ok" | "fail" | "crash",
"sleep": seconds, "gate": path}. "crash" exits 0 but leaves the unit failed (it
died right after starting). With a gate, the restart waits until that file exists
(at most "sleep" seconds, default 60) — tests release it when they are ready.

{"mode": "forking", "check": argv, "start": argv, "pidfile": path, "stop_signal":
"QUIT", "stop_seconds": 5} runs a real daemon the way Debian's nginx.service does
(Type=forking, PIDFile=): a restart sends the main process stop_signal (ExecStop's
`start-stop-daemon --stop --retry QUIT/5`), waits up to stop_seconds for it to exit,
then SIGTERM (systemd's KillMode=mixed) and at last SIGKILL; then runs `check` (the
ExecStartPre config test: failing, the unit is failed and systemctl says so as systemd
does), then `start`, whose parent exits once the daemon has forked; MainPID is then
the PID the daemon wrote to pidfile. The verbs `start` and `stop` do each half alone,
for a test's set-up and clean-up.
state["systemd"] = "offline" acts as a host without systemd; state["show"] =
{"mode": "garbage" | "hang", "sleep": seconds} misbehaves on `show`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = HERE / "state.json"
LOCK = HERE / "state.lock"
LOG = HERE / "invocations.log"

# systemd's order for the properties the fixtures show (show-allowlist-running.txt).
ORDER = (
    "MainPID",
    "ExecMainStartTimestamp",
    "MemoryCurrent",
    "Id",
    "Names",
    "LoadState",
    "ActiveState",
    "SubState",
    "ActiveEnterTimestamp",
    "ActiveEnterTimestampMonotonic",
)
SUFFIXES = (".service", ".socket", ".target", ".timer", ".path", ".mount", ".slice", ".scope", ".swap", ".device")
NO_SYSTEMD = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)
FAILED_JOB = (
    "Job for {unit} failed because the control process exited with error code.\n"
    'See "systemctl status {unit}" and "journalctl -xeu {unit}" for details.\n'
)
NOT_FOUND = "Failed to restart {unit}: Unit {unit} not found.\n"


@contextlib.contextmanager
def locked_state() -> Iterator[dict]:
    """Read-modify-write of the state under an exclusive lock; written atomically."""
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(STATE.read_text())
        yield state
        temporary = STATE.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1))
        os.replace(temporary, STATE)


def read_state() -> dict:
    return json.loads(STATE.read_text())  # replaced atomically: never half-written


def unit_name(name: str) -> str:
    return name if name.endswith(SUFFIXES) else f"{name}.service"


def find(state: dict, name: str) -> dict | None:
    wanted = unit_name(name)
    for unit in state["units"].values():
        if unit["Id"] == wanted or wanted in unit["Names"].split():
            return unit
    return None


def not_found_block(name: str) -> dict:
    unit = unit_name(name)
    return {
        "MainPID": "0",
        "ExecMainStartTimestamp": "",
        "MemoryCurrent": "[not set]",
        "Id": unit,
        "Names": unit,
        "LoadState": "not-found",
        "ActiveState": "inactive",
        "SubState": "dead",
        "ActiveEnterTimestamp": "",
        "ActiveEnterTimestampMonotonic": "0",
    }


def show(state: dict, args: list[str]) -> int:
    behaviour = state.get("show", {})
    if behaviour.get("mode") == "hang":
        time.sleep(float(behaviour.get("sleep", 60)))
    if behaviour.get("mode") == "garbage":
        sys.stdout.write("\x00\x01 this is not systemctl\n<html>\n")
        return 0
    wanted: list[str] | None = None
    names: list[str] = []
    iterator = iter(args)
    for arg in iterator:
        if arg in {"-p", "--property"}:
            wanted = (wanted or []) + next(iterator).split(",")
        elif arg.startswith("--property="):
            wanted = (wanted or []) + arg.split("=", 1)[1].split(",")
        elif arg in {"--no-pager", "--"}:
            continue
        elif arg.startswith("-"):
            sys.stderr.write(f"systemctl: unrecognized option '{arg}'\n")
            return 1
        else:
            names.append(arg)
    blocks = []
    for name in names:
        block = find(state, name) or not_found_block(name)
        keys = [key for key in ORDER if wanted is None or key in wanted]
        blocks.append("".join(f"{key}={block[key]}\n" for key in keys))
    sys.stdout.write("\n".join(blocks))
    return 0


def wait_for(behaviour: dict) -> None:
    limit = float(behaviour.get("sleep", 60 if behaviour.get("gate") else 0))
    gate = behaviour.get("gate")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if gate and Path(gate).exists():
            return
        time.sleep(0.02)


def restart(args: list[str]) -> int:
    names = [arg for arg in args if arg != "--"]
    for name in names:
        unit = find(read_state(), name)
        if unit is None:
            sys.stderr.write(NOT_FOUND.format(unit=unit_name(name)))
            return 5
        behaviour = read_state().get("restart", {}).get(unit["Id"], {})
        if behaviour.get("mode") == "forking":
            stop_daemon(unit, behaviour)
            if start_daemon(unit["Id"], behaviour) != 0:
                return 1
            continue
        wait_for(behaviour)
        with locked_state() as state:
            unit = state["units"][unit["Id"]]
            mode = state.get("restart", {}).get(unit["Id"], {}).get("mode", "ok")
            if mode in {"fail", "crash"}:
                # What show-failed-unit.txt shows: no PID, no memory, stale ActiveEnter stamps.
                unit.update(
                    MainPID="0",
                    ExecMainStartTimestamp="",
                    MemoryCurrent="[not set]",
                    ActiveState="failed",
                    SubState="failed",
                )
            else:
                now = time.gmtime()
                stamp = time.strftime("%a %Y-%m-%d %H:%M:%S UTC", now)
                state["next_pid"] = state.get("next_pid", 1000) + 1
                unit.update(
                    MainPID=str(state["next_pid"]),
                    ExecMainStartTimestamp=stamp,
                    ActiveEnterTimestamp=stamp,
                    ActiveEnterTimestampMonotonic=str(int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1_000_000)),
                    ActiveState="active",
                    SubState="running",
                )
        if mode == "fail":
            sys.stderr.write(FAILED_JOB.format(unit=unit["Id"]))
            return 1
    return 0


# --- a real daemon (mode "forking") ---------------------------------------------------


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie has: nobody may reap it here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in {"Z", "X"}


def exited_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def stop_daemon(unit: dict, behaviour: dict) -> None:
    pid = int(unit["MainPID"])
    if pid <= 0 or not running(pid):
        return
    seconds = float(behaviour.get("stop_seconds", 5))
    for signal_name in (behaviour.get("stop_signal", "TERM"), "TERM", "KILL"):
        os.kill(pid, getattr(signal, f"SIG{signal_name}"))
        if exited_within(pid, seconds):
            return


def daemon_pid(pidfile: Path, old: int) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid != old and running(pid) else None


def start_daemon(unit_id: str, behaviour: dict) -> int:
    """ExecStartPre (the check), ExecStart (forks, its parent exits), MainPID from PIDFile."""
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    old = int(read_state()["units"][unit_id]["MainPID"])
    started = subprocess.run(behaviour["check"], timeout=30, check=False, **quiet).returncode == 0
    if started:
        # Its own session, and none of our descriptors: the daemon outlives this process,
        # and whoever reads our output (wpdash's process adapter) sees it end with us.
        parent = subprocess.run(behaviour["start"], timeout=30, check=False, start_new_session=True, **quiet)
        started = parent.returncode == 0
    pid = None
    deadline = time.monotonic() + 5
    while started and pid is None and time.monotonic() < deadline:
        pid = daemon_pid(Path(behaviour["pidfile"]), old)
        time.sleep(0 if pid else 0.02)
    with locked_state() as state:
        unit = state["units"][unit_id]
        if pid is None:
            unit.update(MainPID="0", ExecMainStartTimestamp="", MemoryCurrent="[not set]")
            unit.update(ActiveState="failed", SubState="failed")
        else:
            stamp = time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime())
            unit.update(MainPID=str(pid), ExecMainStartTimestamp=stamp, ActiveEnterTimestamp=stamp)
            unit.update(ActiveEnterTimestampMonotonic=str(int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)))
            unit.update(ActiveState="active", SubState="running")
    if pid is None:
        sys.stderr.write(FAILED_JOB.format(unit=unit_id))
        return 1
    return 0


def start_or_stop(verb: str, args: list[str]) -> int:
    for name in [arg for arg in args if arg != "--"]:
        unit = find(read_state(), name)
        if unit is None:
            sys.stderr.write(NOT_FOUND.format(unit=unit_name(name)).replace("restart", verb))
            return 5
        behaviour = read_state().get("restart", {}).get(unit["Id"], {})
        if behaviour.get("mode") != "forking":
            sys.stderr.write(f"the stand-in starts and stops only units with a daemon (mode forking): {name}\n")
            return 1
        if verb == "stop":
            stop_daemon(unit, behaviour)
            with locked_state() as state:
                state["units"][unit["Id"]].update(MainPID="0", ActiveState="inactive", SubState="dead")
        elif start_daemon(unit["Id"], behaviour) != 0:
            return 1
    return 0


def main(argv: list[str]) -> int:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, (json.dumps(argv) + "\n").encode())  # one write: concurrent callers never interleave
    os.close(fd)
    state = read_state()
    if state.get("systemd") == "offline":
        if argv[:1] == ["is-system-running"]:
            sys.stdout.write("offline\n")
        else:
            sys.stderr.write(NO_SYSTEMD)
        return 1
    verb, *rest = argv or [""]
    if verb == "show":
        return show(state, rest)
    if verb == "restart":
        return restart(rest)
    if verb in {"start", "stop"}:
        return start_or_stop(verb, rest)
    if verb == "is-system-running":
        sys.stdout.write("running\n")
        return 0
    sys.stderr.write(f'Unknown command verb "{verb}".\n')
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

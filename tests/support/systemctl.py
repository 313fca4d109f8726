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
state["systemd"] = "offline" acts as a host without systemd; state["show"] =
{"mode": "garbage" | "hang", "sleep": seconds} misbehaves on `show`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
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
        wait_for(read_state().get("restart", {}).get(unit["Id"], {}))
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
    if verb == "is-system-running":
        sys.stdout.write("running\n")
        return 0
    sys.stderr.write(f'Unknown command verb "{verb}".\n')
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

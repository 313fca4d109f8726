"""Test doubles for what cannot run here. `FakeSystemd` drives tests/support/systemctl.py."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support import systemctl as script

SCRIPT = Path(script.__file__)

# The units of tests/fixtures/systemd/show-allowlist-running.txt, as captured, so the
# stand-in's first `show` of the allowlist prints that file byte for byte.
FIXTURE_UNITS = {
    "nginx.service": ("337", "03:05:14", "3887104", "nginx.service", "03:05:14", "21977062"),
    "php8.2-fpm.service": ("285", "03:05:12", "24580096", "php8.2-fpm.service", "03:05:15", "23175042"),
    "mariadb.service": (
        "284",
        "03:05:12",
        "147210240",
        "mariadb.service mysql.service mysqld.service",
        "03:05:17",
        "25488719",
    ),
    "redis-server.service": (
        "290",
        "03:05:12",
        "11616256",
        "redis-server.service redis.service",
        "03:05:15",
        "22798765",
    ),
    "netdata.service": ("400", "03:05:17", "49930240", "netdata.service", "03:05:17", "25556487"),
}
DAY = "Sun 2026-11-22 {} UTC"


def fixture_state() -> dict:
    units = {}
    for unit_id, (pid, started, memory, names, entered, monotonic) in FIXTURE_UNITS.items():
        units[unit_id] = {
            "MainPID": pid,
            "ExecMainStartTimestamp": DAY.format(started),
            "MemoryCurrent": memory,
            "Id": unit_id,
            "Names": names,
            "LoadState": "loaded",
            "ActiveState": "active",
            "SubState": "running",
            "ActiveEnterTimestamp": DAY.format(entered),
            "ActiveEnterTimestampMonotonic": monotonic,
        }
    return {"units": units, "restart": {}, "systemd": "running", "show": {}, "next_pid": 1000}


class FakeSystemd:
    """A copy of the stand-in in its own directory, with its state and invocation log.

    The copy's shebang is this interpreter, so it runs the same everywhere.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / "systemctl"
        self.path.write_text(SCRIPT.read_text().replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
        self.path.chmod(0o755)
        self.state_path = directory / "state.json"
        self.log_path = directory / "invocations.log"
        self.reset()

    def reset(self) -> None:
        self.state_path.write_text(json.dumps(fixture_state(), indent=1))
        self.log_path.write_text("")

    def _update(self, change: Callable[[dict], None]) -> None:
        # The same lock the stand-in takes, so a restart running meanwhile is not lost.
        with (self.directory / "state.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(self.state_path.read_text())
            change(state)
            temporary = self.state_path.with_suffix(".tmp")
            temporary.write_text(json.dumps(state, indent=1))
            temporary.replace(self.state_path)

    def state(self) -> dict:
        return json.loads(self.state_path.read_text())

    def unit(self, unit_id: str) -> dict:
        return self.state()["units"][unit_id]

    # --- behaviours ----------------------------------------------------------
    def on_restart(self, unit_id: str, mode: str = "ok", sleep: float | None = None, gate: Path | None = None) -> None:
        behaviour: dict = {"mode": mode}
        if sleep is not None:
            behaviour["sleep"] = sleep
        if gate is not None:
            behaviour["gate"] = str(gate)
        self._update(lambda state: state["restart"].__setitem__(unit_id, behaviour))

    def gate_restart(self, unit_id: str) -> Callable[[], None]:
        """Restarts of unit_id wait until the returned function is called (or 60 s pass)."""
        gate = self.directory / f"release-{unit_id}"
        gate.unlink(missing_ok=True)
        self.on_restart(unit_id, gate=gate)
        return gate.touch

    def run_daemon(
        self,
        unit_id: str,
        *,
        check: list[str],
        start: list[str],
        pidfile: Path,
        stop_signal: str = "QUIT",
        stop_seconds: float = 5,
    ) -> None:
        """unit_id is a real forking daemon from now on, started, stopped and restarted
        as Debian's nginx.service does it (see the stand-in's docstring). Not started yet:
        `systemctl("start", unit_id)`."""
        behaviour = {
            "mode": "forking",
            "check": check,
            "start": start,
            "pidfile": str(pidfile),
            "stop_signal": stop_signal,
            "stop_seconds": stop_seconds,
        }

        def change(state: dict) -> None:
            state["restart"][unit_id] = behaviour
            # Stopped until started: no fixture PID that a stop could signal.
            state["units"][unit_id].update(MainPID="0", ActiveState="inactive", SubState="dead")

        self._update(change)

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the stand-in as a test's own set-up or clean-up would run systemctl."""
        return subprocess.run([str(self.path), *args], capture_output=True, text=True, timeout=60, check=False)

    def remove(self, unit_id: str) -> None:
        """The unit is not installed (a not-found block from now on)."""
        self._update(lambda state: state["units"].pop(unit_id))

    def set(self, unit_id: str, **properties: str) -> None:
        self._update(lambda state: state["units"][unit_id].update(properties))

    def go_offline(self) -> None:
        """Act as a host where systemd is not PID 1 (containers, this machine)."""
        self._update(lambda state: state.__setitem__("systemd", "offline"))

    def misbehave_on_show(self, mode: str, sleep: float = 60) -> None:
        self._update(lambda state: state.__setitem__("show", {"mode": mode, "sleep": sleep}))

    # --- what was run --------------------------------------------------------
    def invocations(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def restarts(self) -> list[list[str]]:
        return [argv for argv in self.invocations() if argv[:1] == ["restart"]]


def install_fake_sudo(directory: Path) -> tuple[Path, Path]:
    """A `sudo` that records its argv and runs the command after `-n`, as root would."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "sudo.log"
    sudo = directory / "sudo"
    sudo.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "assert sys.argv[1] == '-n', 'sudo must be non-interactive'\n"
        "os.execv(sys.argv[2], sys.argv[2:])\n"
    )
    sudo.chmod(0o755)
    return sudo, log

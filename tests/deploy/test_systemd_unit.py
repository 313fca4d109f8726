"""The systemd units: daphne as wpdash on loopback, sandboxed without ever blocking sudo."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.deployment import DEPLOY, settings_of, values
from tests.support.servers import missing_server

UNITS = ["wpdash.service", "wpdash-worker@.service"]
WATCHER = "wpdash-watch.service"
SANDBOXED = [*UNITS, WATCHER]

# systemd.exec(5), NoNewPrivileges=: with User= set, each of these turns the
# no_new_privs flag on, and sudo (setuid root) then can never become root.
IMPLY_NO_NEW_PRIVILEGES = {
    "DynamicUser",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "PrivateDevices",
    "ProtectClock",
    "ProtectHostname",
    "ProtectKernelLogs",
    "ProtectKernelModules",
    "ProtectKernelTunables",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallLog",
}
# Options that would stop sudo's root from acting as root on the host.
BREAK_SUDO = {"PrivateUsers", "CapabilityBoundingSet", "AmbientCapabilities", "DevicePolicy"}


def service_settings_without_commands(unit: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for section, key, value in settings_of(unit)
        if section == "Service" and key not in {"ExecStart", "ExecStartPre", "ExecStartPost", "SyslogIdentifier"}
    ]


@pytest.mark.parametrize("unit", SANDBOXED)
def test_no_option_that_turns_no_new_privileges_on_is_set(unit):
    keys = {key for _, key, _ in settings_of(unit)}

    assert keys & IMPLY_NO_NEW_PRIVILEGES == set()
    assert keys & BREAK_SUDO == set()
    assert values(unit, "NoNewPrivileges") == ["no"]


@pytest.mark.parametrize("unit", UNITS)
def test_daphne_runs_as_the_wpdash_user_on_loopback_behind_the_proxy(unit):
    [exec_start] = values(unit, "ExecStart")

    assert values(unit, "User") == ["wpdash"]
    assert exec_start.startswith("/opt/wpdash/.venv/bin/daphne ")
    assert "--bind 127.0.0.1 " in exec_start
    assert "--proxy-headers" in exec_start
    assert "--access-log /dev/null" in exec_start  # nginx keeps the access log
    assert exec_start.endswith(" wpdash.asgi:application")


@pytest.mark.parametrize("unit", SANDBOXED)
def test_the_file_system_is_read_only_but_for_the_data_dir(unit):
    assert values(unit, "ProtectSystem") == ["strict"]
    assert values(unit, "ReadWritePaths") == ["/var/lib/wpdash"]
    assert values(unit, "NoExecPaths") == ["/"]
    assert values(unit, "ProtectHome") == ["yes"]
    assert values(unit, "EnvironmentFile") == ["/etc/wpdash/env"]


def mebibytes(size: str) -> float:
    """A systemd byte size such as 384M or 1G (base 1024), in MiB."""
    number, unit = float(size[:-1]), size[-1].upper()
    return number * {"K": 1 / 1024, "M": 1, "G": 1024}[unit]


@pytest.mark.parametrize("unit", SANDBOXED)
def test_memory_has_a_ceiling_well_above_the_footprint_as_a_backstop(unit):
    [high], [ceiling] = values(unit, "MemoryHigh"), values(unit, "MemoryMax")

    # daphne runs at about 100 MiB (bench/RESULTS.md, footprint): room for load, not for a leak.
    assert 256 <= mebibytes(high) < mebibytes(ceiling) <= 1024


def test_migrations_and_restart_recovery_run_before_the_main_worker_starts():
    assert values("wpdash.service", "ExecStartPre") == [
        "/opt/wpdash/.venv/bin/python /opt/wpdash/manage.py migrate --noinput",
        "/opt/wpdash/.venv/bin/python /opt/wpdash/manage.py recover_restarts",
    ]
    assert "--port 8000 " in values("wpdash.service", "ExecStart")[0]


def test_extra_workers_start_after_the_main_unit_and_never_migrate():
    assert values("wpdash-worker@.service", "ExecStartPre") == []
    assert values("wpdash-worker@.service", "After") == ["wpdash.service"]
    assert values("wpdash-worker@.service", "PartOf") == ["wpdash.service"]
    assert "--port %i " in values("wpdash-worker@.service", "ExecStart")[0]


@pytest.mark.parametrize("unit", UNITS)
def test_the_unit_is_started_only_once_daphne_listens_on_its_port(unit):
    # `systemctl enable --now wpdash` then `curl …/healthz` (README, step 9) must not meet
    # "Connection refused": the unit stays activating until its own port accepts.
    [exec_start] = values(unit, "ExecStart")
    port = exec_start.split("--port ", 1)[1].split()[0]

    assert values(unit, "ExecStartPost") == [
        f"/opt/wpdash/.venv/bin/python /opt/wpdash/manage.py wait_for_listener --port {port}"
    ]
    assert values(unit, "Type") == ["exec"]  # ExecStartPost starts once daphne is exec'd, not before


def test_the_worker_template_is_sandboxed_exactly_like_the_main_unit():
    assert service_settings_without_commands("wpdash-worker@.service") == service_settings_without_commands(
        "wpdash.service"
    )


def test_the_watcher_is_sandboxed_like_the_main_unit_but_for_the_network_and_apt():
    """Mail and push leave the host (no IPAddressDeny=); apt-get and dpkg may run (the
    security-update count). Anything else that differs is drift."""
    watcher = service_settings_without_commands(WATCHER)
    main = service_settings_without_commands("wpdash.service")
    allowed_only_here = [("ExecPaths", "/usr/bin/apt-get /usr/bin/dpkg")]
    differs_on_purpose = {"IPAddressDeny", "IPAddressAllow", "Restart", "RestartSec", "TimeoutStopSec"}

    assert [item for item in watcher if item not in allowed_only_here and item[0] not in differs_on_purpose] == [
        item for item in main if item[0] not in differs_on_purpose
    ]
    assert values(WATCHER, "IPAddressDeny") == []


def test_the_watcher_runs_manage_py_watch_as_wpdash_and_outlives_the_dashboard():
    assert values(WATCHER, "ExecStart") == ["/opt/wpdash/.venv/bin/python /opt/wpdash/manage.py watch"]
    assert values(WATCHER, "User") == ["wpdash"]
    assert values(WATCHER, "Restart") == ["always"]
    assert values(WATCHER, "ExecStartPre") == []  # wpdash.service migrates; the watcher waits for it
    assert values(WATCHER, "Wants") == ["wpdash.service"]
    assert values(WATCHER, "Requires") == []  # a stopped dashboard must not silence the alerts


def test_systemd_accepts_both_units_without_a_warning(tmp_path):
    if shutil.which("systemd-analyze") is None:
        missing_server("systemd-analyze is not installed (it comes with systemd)")
    # verify insists that the commands exist: point /opt/wpdash at stand-ins, the
    # only change made to the files.
    home = tmp_path / "opt-wpdash"
    (home / ".venv" / "bin").mkdir(parents=True)
    for name in ("python", "daphne"):
        (home / ".venv" / "bin" / name).write_text("#!/bin/sh\n")
        (home / ".venv" / "bin" / name).chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in SANDBOXED:
        (units / unit).write_text((DEPLOY / unit).read_text().replace("/opt/wpdash", str(home)))
    (units / "wpdash-worker@8001.service").symlink_to(units / "wpdash-worker@.service")

    result = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            str(units / "wpdash.service"),
            str(units / "wpdash-worker@8001.service"),
            str(units / WATCHER),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # unknown keys and bad values are only warnings

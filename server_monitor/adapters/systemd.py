"""systemd: the only code that runs systemctl.

Status of every allowlisted unit comes from ONE `systemctl show` process; a restart
is `[sudo -n] systemctl restart -- NAME`. Processes run through adapters.process
(list arguments, deadline, bounded output, minimal environment). Settings are read
at call time so tests can point WPDASH_SYSTEMCTL at a stand-in.

A requested name is checked against the allowlist before any process starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings

from server_monitor import caching
from server_monitor.adapters.process import RunResult, run
from server_monitor.errors import NotAllowed, NotFound, Unavailable
from server_monitor.names import UNIT_NAME_RE, unit_file_name

STATUS_TIMEOUT = 5.0  # seconds for `systemctl show`
RESTART_TIMEOUT = 30.0  # seconds for `systemctl restart`
SETTLE_TIMEOUT = 5.0  # how long a unit may stay "activating" after its restart returned
SUDO = "/usr/bin/sudo"

# The properties the dashboard reads. systemd prints them in its own order.
PROPERTIES = (
    "Id",
    "Names",
    "LoadState",
    "ActiveState",
    "SubState",
    "MainPID",
    "MemoryCurrent",
    "ActiveEnterTimestampMonotonic",
)
NO_SYSTEMD_MARKERS = ("System has not been booted with systemd", "Failed to connect to bus")
NOT_RUNNING = "systemd is not running on this host"


class ServiceNotAllowed(NotAllowed):
    """Not in WPDASH_SERVICES."""


class ServiceNotInstalled(NotFound):
    """Allowlisted, but systemd has no such unit (LoadState=not-found)."""

    refusal = "not installed"


class ServiceManagerUnavailable(Unavailable):
    """systemctl cannot be run, hangs, fails or prints something that is not systemctl."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str  # the allowlisted name it was asked for
    unit: str  # systemd's Id: mysql answers as mariadb.service
    load_state: str
    active_state: str  # systemd's ActiveState: active, inactive, failed, activating, …
    sub_state: str
    main_pid: int | None
    memory_bytes: int | None
    uptime_seconds: int | None
    active_enter_usec: int  # ActiveEnterTimestampMonotonic, to tell a new activation

    @property
    def installed(self) -> bool:
        return self.load_state != "not-found"

    @property
    def active(self) -> bool:
        """The services plan's `active: bool`: true exactly when ActiveState is "active"."""
        return self.active_state == "active"

    @property
    def state(self) -> str:
        """As `systemctl status` words it: "active (running)"."""
        return f"{self.active_state} ({self.sub_state})"


# --- names --------------------------------------------------------------------------


def allowlist() -> list[str]:
    return list(settings.WPDASH_SERVICES)


def check_name(name: object) -> str:
    """The name itself when it is allowlisted, else ServiceNotAllowed. Runs nothing.

    The unit-name pattern is checked too, so an allowlist overridden somewhere
    without start-up validation still cannot smuggle an option or a path in.
    """
    if not isinstance(name, str) or name not in allowlist() or not UNIT_NAME_RE.fullmatch(name):
        raise ServiceNotAllowed("This service is not in the allowlist (WPDASH_SERVICES).")
    return name


# --- parsing ------------------------------------------------------------------------


def parse_show(text: str) -> list[dict[str, str]]:
    """`systemctl show` output as one dict per unit block (blank-line separated).

    Property order inside a block is systemd's, not ours, so nothing depends on it.
    Anything that is not KEY=VALUE means we are not talking to systemctl.
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, separator, value = line.partition("=")
        if not separator or not key.isascii() or not key.isalnum():
            raise ServiceManagerUnavailable("systemctl show printed something that is not KEY=VALUE.")
        current[key] = value
    if current:
        blocks.append(current)
    return blocks


def _optional_int(value: str) -> int | None:
    """systemd's "[not set]" (and UINT64_MAX, its older spelling) mean unknown."""
    try:
        number = int(value)
    except ValueError:
        return None
    return None if number < 0 or number >= 2**64 - 1 else number


def monotonic_now() -> float:
    """Seconds on CLOCK_MONOTONIC, the clock of systemd's *TimestampMonotonic values."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def status_from_block(name: str, block: dict[str, str], now: float) -> ServiceStatus:
    try:
        unit = block["Id"]
        load_state = block["LoadState"]
        active_state = block["ActiveState"]
        sub_state = block["SubState"]
        main_pid = _optional_int(block["MainPID"])
        memory = _optional_int(block["MemoryCurrent"])
        entered = _optional_int(block["ActiveEnterTimestampMonotonic"]) or 0
    except KeyError as missing:
        raise ServiceManagerUnavailable(f"systemctl show left out the property {missing.args[0]}.") from None
    # A stopped or failed unit keeps the stamp of its last activation: stale.
    uptime = max(0, int(now - entered / 1_000_000)) if active_state == "active" and entered else None
    return ServiceStatus(
        name=name,
        unit=unit,
        load_state=load_state,
        active_state=active_state,
        sub_state=sub_state,
        main_pid=main_pid or None,  # 0 means no main process
        memory_bytes=memory,
        uptime_seconds=uptime,
        active_enter_usec=entered,
    )


def match_blocks(names: Sequence[str], blocks: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Which block answers which name: by Id or Names (aliases), not by position.

    systemctl prints one block per argument in order, so position is the fallback
    for an alias systemd does not list in Names; without it the output is unusable.
    """
    matched: dict[str, dict[str, str]] = {}
    for index, name in enumerate(names):
        wanted = unit_file_name(name)
        for block in blocks:
            if block.get("Id") == wanted or wanted in block.get("Names", "").split():
                matched[name] = block
                break
        else:
            if len(blocks) != len(names):
                raise ServiceManagerUnavailable(f"systemctl show printed no block for {name}.")
            matched[name] = blocks[index]
    return matched


def statuses_from_show(names: Sequence[str], text: str, now: float) -> list[ServiceStatus]:
    """Installed units among `names`, in allowlist order, each unit once (aliases share an Id)."""
    matched = match_blocks(names, parse_show(text))
    result: list[ServiceStatus] = []
    seen: set[str] = set()
    for name in names:
        service = status_from_block(name, matched[name], now)
        if service.installed and service.unit not in seen:
            seen.add(service.unit)
            result.append(service)
    return result


# --- running systemctl --------------------------------------------------------------


def _systemctl() -> str:
    return str(settings.WPDASH_SYSTEMCTL)


def _unavailable(result: RunResult, what: str) -> ServiceManagerUnavailable:
    if any(marker in result.stderr for marker in NO_SYSTEMD_MARKERS):
        return ServiceManagerUnavailable(f"{NOT_RUNNING}.")
    first_line = (result.stderr.strip().splitlines() or ["no message"])[0][:200]
    return ServiceManagerUnavailable(f"{what} failed with exit code {result.exit_code}: {first_line}")


def show_command(names: Sequence[str]) -> list[str]:
    return [_systemctl(), "show", "--no-pager", "-p", ",".join(PROPERTIES), "--", *names]


def _show(names: Sequence[str]) -> str:
    try:
        result = run(show_command(names), STATUS_TIMEOUT)
    except OSError as error:  # missing or not executable
        raise ServiceManagerUnavailable(f"systemctl cannot be run ({_systemctl()}: {error.strerror}).") from None
    if result.timed_out:
        raise ServiceManagerUnavailable(f"systemctl show did not answer within {STATUS_TIMEOUT:g} s.")
    if result.exit_code != 0:
        raise _unavailable(result, "systemctl show")
    return result.stdout


# --- the public API -----------------------------------------------------------------


# Open dashboards refresh every 10 s, each at its own moment: for STATUS_CACHE_SECONDS
# the last answer serves them all, so ten tabs cost about the systemctl of two, and a
# restart from this process forgets it at once. A unit that changes by itself shows
# at most this much later. Keyed by systemctl and the allowlist, as tests change both.
STATUS_CACHE_SECONDS = 5.0
statuses_cache: caching.TTLCache[tuple[str, tuple[str, ...]], list[ServiceStatus]] = caching.TTLCache(
    "systemd statuses", STATUS_CACHE_SECONDS, maxsize=8
)


def list_statuses() -> list[ServiceStatus]:
    """Every installed allowlisted unit, from one `systemctl show` process (or its
    answer of less than STATUS_CACHE_SECONDS ago; a failure is not kept)."""
    names = allowlist()

    def ask() -> list[ServiceStatus]:
        return statuses_from_show(names, _show(names), monotonic_now())

    return list(statuses_cache.get_or_compute((_systemctl(), tuple(names)), ask))


def forget_statuses() -> None:
    """The next list_statuses() asks systemd (a unit is being restarted)."""
    statuses_cache.forget()


def get_status(name: str) -> ServiceStatus:
    """One allowlisted unit: ServiceNotAllowed (400), ServiceNotInstalled (404)."""
    name = check_name(name)
    block = match_blocks([name], parse_show(_show([name])))[name]
    service = status_from_block(name, block, monotonic_now())
    if not service.installed:
        raise ServiceNotInstalled(f"{name} is not installed on this host.")
    return service


def restart_command(name: str) -> list[str]:
    """The exact argv of a restart; a sudoers rule must match it word for word."""
    command = [_systemctl(), "restart", "--", check_name(name)]
    return [SUDO, "-n", *command] if settings.WPDASH_SUDO else command


def sudo_allows_restart(name: str) -> bool | None:
    """Whether sudo's rules let this process run the restart without a password.

    `sudo -n -l COMMAND` answers from the sudoers rules without running anything.
    None when restarts do not go through sudo (WPDASH_SUDO=off).
    """
    if not settings.WPDASH_SUDO:
        return None
    command = restart_command(name)
    try:
        result = run([SUDO, "-n", "-l", *command[2:]], STATUS_TIMEOUT)
    except OSError:
        return False
    return result.exit_code == 0


def restart(name: str, on_start: Callable[[int], None] | None = None) -> RunResult:
    """Run the restart; never raises for the unit's own failure, only reports it.

    on_start(pid) learns the restart command's PID as soon as it runs (process.run).
    """
    argv = restart_command(name)
    forget_statuses()
    try:
        return run(argv, RESTART_TIMEOUT, on_start=on_start)
    except OSError as error:
        return RunResult(exit_code=None, stdout="", stderr=f"{argv[0]} cannot be run: {error.strerror}")
    finally:
        forget_statuses()  # a page asked during the restart saw it mid-way


def settled_status(name: str) -> ServiceStatus:
    """The unit's status once it is no longer activating (bounded by SETTLE_TIMEOUT).

    `systemctl restart` normally returns when the start job is done, but units of
    Type=simple or with ExecStartPost can still be on their way.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT
    service = get_status(name)
    while service.active_state in {"activating", "reloading"} and time.monotonic() < deadline:
        time.sleep(0.2)
        service = get_status(name)
    return service

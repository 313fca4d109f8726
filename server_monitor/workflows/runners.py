"""Which server process runs a restart, and the rows whose run ended without a word.

A row records its runner (host, PID, the process's start time) and, once it runs,
the restart command the runner started (PID and start time: `sudo` or `systemctl`,
in a session of its own, so it runs on when the runner dies). While the row is
pending or running, it is over only when both are gone: a new request for the unit
stays 409 while a `systemctl restart` of it may still be running. Then recovery
asks systemd what the unit did and records that (once the unit has settled: a
killed client does not cancel its job), or marks the row interrupted when it
cannot tell. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import psutil
from django.utils import timezone

from server_monitor.models import RestartAction

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status

SAME_START = 1.0  # seconds: a recorded start time matches the process's own within this


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    started: float  # process start time: tells a live runner from a reused PID


def this_host() -> str:
    return socket.gethostname()[:255]


def current_runner() -> Runner:
    return Runner(this_host(), os.getpid(), psutil.Process().create_time())


def process_of(pid: int) -> Runner | None:
    """Who `pid` is on this host (a child of ours not yet waited for always answers),
    or None when it cannot be told."""
    try:
        return Runner(this_host(), pid, psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _process_is_gone(host: str, pid: int, started: float | None) -> bool:
    """True only when we can tell: same host, and that PID is dead, a zombie (it has
    exited; nobody reaped it yet) or another process (a different start time)."""
    if host != this_host():
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        found = process.create_time()
    except psutil.NoSuchProcess:  # ZombieProcess included: it has exited
        return True
    except psutil.AccessDenied:
        return False
    return started is None or abs(found - started) > SAME_START


def process_is_gone(host: str, pid: int, started: float | None) -> bool:
    """That process of this host has ended (or the PID is another's now); False when it
    cannot be told, or it ran on another host. For the watchers' lease."""
    return _process_is_gone(host, pid, started)


def runner_is_gone(action: RestartAction) -> bool:
    """The row's server process has ended. A row run on another host is never judged from here."""
    if action.runner_pid is None:
        return False
    return _process_is_gone(action.runner_host, action.runner_pid, action.runner_started)


def child_is_gone(action: RestartAction) -> bool:
    """The row's restart command has ended, or none was recorded (none ran, or its
    PID could not be written: recovery then cannot tell what the unit did)."""
    return action.child_pid is None or _process_is_gone(action.runner_host, action.child_pid, action.child_started)


def run_is_over(action: RestartAction) -> bool:
    """Nothing will ever finish this open row: its runner and its restart command are gone."""
    return runner_is_gone(action) and child_is_gone(action)


@dataclass
class Recovery:
    """What recover_interrupted did."""

    recorded: int = 0  # the outcome read from the unit
    interrupted: int = 0  # could not tell what the unit did
    still_running: int = 0  # the runner is gone but its restart is under way (command or unit): left alone

    @property
    def closed(self) -> int:
        return self.recorded + self.interrupted


def recover_interrupted() -> Recovery:
    """Close every open row whose run is over: what the unit did, or interrupted.

    Safe with several server processes on one database: a live runner's rows, and
    rows whose restart command still runs, are left alone, and the UPDATE only
    applies while the row is still in the state we saw (another process recovering
    at the same moment changes nothing twice).
    """
    # Late: verify writes through workflows.audit, which imports this module to
    # tell a stale lock; reading the unit is verify's judgement, not a second copy.
    from server_monitor.workflows import verify

    recovery = Recovery()
    for action in RestartAction.objects.filter(status__in=RestartAction.OPEN, runner_pid__isnull=False):
        if not runner_is_gone(action):
            continue
        if not child_is_gone(action):
            recovery.still_running += 1
            logger.warning(
                "restart #%s of %s: its server process (pid %s) is gone but its restart command (pid %s) still "
                "runs; the unit stays locked until it ends",
                action.pk,
                action.service,
                action.runner_pid,
                action.child_pid,
            )
            continue
        ended = f"the server process that ran this restart (pid {action.runner_pid} on {action.runner_host}) ended"
        outcome: dict[str, Any] = {}
        why_not = _cannot_tell(action)
        if not why_not:
            try:
                outcome = verify.read_from_unit(action)
            except verify.CannotTell as error:
                why_not = str(error)
            except verify.StillChanging as state:
                recovery.still_running += 1
                logger.warning(
                    "restart #%s of %s: its server process and command are gone but the unit is %s; "
                    "left locked until it settles",
                    action.pk,
                    action.service,
                    state,
                )
                continue
        if why_not:
            outcome = {"status": Status.INTERRUPTED, "note": f"interrupted: {ended} before it finished; {why_not}"}
        else:
            outcome["note"] = f"{ended} mid-restart; the outcome was read from the unit afterwards: {outcome['note']}"
        outcome["note"] = outcome["note"][:1000]
        closed = RestartAction.objects.filter(pk=action.pk, status=action.status, runner_pid=action.runner_pid).update(
            lock=None, finished_at=timezone.now(), **outcome
        )
        if not closed:
            continue
        if outcome["status"] == Status.INTERRUPTED:
            recovery.interrupted += 1
        else:
            recovery.recorded += 1
        logger.warning(
            "restart #%s of %s recovered as %s (runner pid %s gone): %s",
            action.pk,
            action.service,
            outcome["status"],
            action.runner_pid,
            outcome["note"],
        )
    return recovery


def _cannot_tell(action: RestartAction) -> str:
    """Why the unit's state now says nothing of this row's restart, or "" when it does:
    its restart command is known to have run, and to have ended since the host booted."""
    if action.status == Status.PENDING or action.started_at is None:
        return "the restart never started"
    if action.child_pid is None:
        return "whether the restart command ran is not recorded; check the unit's state by hand"
    if psutil.boot_time() > action.started_at.timestamp():
        return "the host has restarted since, so the unit's state says nothing of it; check it by hand"
    return ""

"""Which server process runs a restart, and the rows whose process died mid-run.

A row records its runner (host, PID, the process's start time). When that process
is gone while the row is still pending or running, nothing will ever finish it: it
is marked interrupted and its lock is released. See docs/architecture.md.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import psutil
from django.utils import timezone

from server_monitor.models import RestartAction

logger = logging.getLogger("server_monitor.restarts")


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    started: float  # process start time: tells a live runner from a reused PID


def current_runner() -> Runner:
    return Runner(socket.gethostname()[:255], os.getpid(), psutil.Process().create_time())


def runner_is_gone(action: RestartAction) -> bool:
    """True only when we can tell: same host, and that PID is dead or another process.

    A row run on another host is never judged from here.
    """
    if action.runner_pid is None or action.runner_host != socket.gethostname()[:255]:
        return False
    try:
        started = psutil.Process(action.runner_pid).create_time()
    except psutil.NoSuchProcess:  # ZombieProcess included: it has exited
        return True
    except psutil.AccessDenied:
        return False
    return action.runner_started is None or abs(started - action.runner_started) > 1.0


def recover_interrupted() -> int:
    """Mark open rows whose runner process died as interrupted; return how many.

    Safe with several server processes on one database: a live runner's rows are
    left alone, and the UPDATE only applies while the row is still in the state we
    saw (another process recovering at the same moment changes nothing twice).
    """
    recovered = 0
    for action in RestartAction.objects.filter(status__in=RestartAction.OPEN, runner_pid__isnull=False):
        if not runner_is_gone(action):
            continue
        note = (
            f"interrupted: the server process that ran this restart (pid {action.runner_pid} on "
            f"{action.runner_host}) ended before it finished; check the unit's state by hand"
        )
        recovered += RestartAction.objects.filter(
            pk=action.pk, status=action.status, runner_pid=action.runner_pid
        ).update(status=RestartAction.Status.INTERRUPTED, lock=None, finished_at=timezone.now(), note=note)
        logger.warning(
            "restart #%s of %s marked interrupted (runner pid %s gone)", action.pk, action.service, action.runner_pid
        )
    return recovered

"""Which watcher acts: one database row (WatcherLease) held by one process until it expires.

The holder is named by host, PID and process start time (a PID reused after a reboot
is another holder). It renews the lease every interval with a conditional UPDATE
(`WHERE holder = me`); a standby tries every interval to take it with another
(`WHERE expires_at < now`), which at most one process can win. So a watcher killed
outright is replaced once its lease expires (TTL_INTERVALS intervals), and one
stopped cleanly hands over at once (`release`). The holder also acts only while its
own last renewal is younger than the TTL less one interval, so a holder cut off from
the database stops acting before anyone else may start.

The holder writes, with each renewal, the last lines it saw of each followed log
(`log_marks`); the next holder reads on from there (workflows.alerts.live_logs).
Time is the processes' own clock: watchers on different hosts need synchronised
clocks (NTP), as any lease does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from server_monitor.models import WatcherLease
from server_monitor.workflows.runners import current_runner, process_is_gone

TTL_INTERVALS = 3


HOLDER_RE = re.compile(r"(?P<host>.+) pid (?P<pid>[0-9]+) started (?P<started>[0-9.]+)")


def me() -> str:
    runner = current_runner()
    return f"{runner.host} pid {runner.pid} started {runner.started:.2f}"


def is_gone(holder: str) -> bool:
    """The watcher process named `holder` has ended (known only on its own host)."""
    found = HOLDER_RE.fullmatch(holder)
    if found is None:
        return False
    return process_is_gone(found["host"], int(found["pid"]), float(found["started"]))


def ttl(interval: float) -> timedelta:
    return timedelta(seconds=interval * TTL_INTERVALS)


def hold(holder: str, interval: float, marks: dict[str, Any] | None = None) -> tuple[bool, dict[str, Any] | None]:
    """Renew the lease, or take it if it expired. (held, the previous holder's log marks
    when it was just taken, else None)."""
    now = timezone.now()
    expires = now + ttl(interval)
    rows = WatcherLease.objects.filter(pk=WatcherLease.ONLY)
    renew: dict[str, Any] = {"expires_at": expires, "renewed_at": now}
    if marks is not None:
        renew["log_marks"] = marks
    if rows.filter(holder=holder).update(**renew):
        return True, None
    if rows.filter(expires_at__lt=now).update(holder=holder, expires_at=expires, acquired_at=now, renewed_at=now):
        taken = rows.values_list("log_marks", flat=True).first()
        return True, dict(taken or {})
    if not rows.exists():
        try:
            with transaction.atomic():
                WatcherLease.objects.create(
                    pk=WatcherLease.ONLY, holder=holder, expires_at=expires, acquired_at=now, renewed_at=now
                )
        except IntegrityError:
            return False, None  # another watcher made it first
        return True, {}
    return False, None


def release(holder: str, marks: dict[str, Any] | None = None) -> bool:
    """Give the lease up now (a clean stop): a standby takes it at its next try."""
    changes: dict[str, Any] = {"expires_at": timezone.now() - timedelta(seconds=1)}
    if marks is not None:
        changes["log_marks"] = marks
    return bool(WatcherLease.objects.filter(pk=WatcherLease.ONLY, holder=holder).update(**changes))


def current() -> WatcherLease | None:
    return WatcherLease.objects.filter(pk=WatcherLease.ONLY).first()

"""Run a restart and judge it: did the unit come back as a new activation?

systemctl's exit code alone is not trusted: a unit can exit 0 and die a moment later,
or be restarted by nothing at all. The unit's state and MainPID before and after go
into the audit row beside the outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError

from server_monitor.adapters import systemd
from server_monitor.adapters.journal import reads
from server_monitor.adapters.process import RunResult
from server_monitor.errors import DomainError
from server_monitor.models import RestartAction
from server_monitor.workflows import audit, runners

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status

# The unit's own words on a failed restart ("unknown directive … in nginx.conf"):
# enough lines to hold a config error and its context, bounded for the audit row.
JOURNAL_LINES = 50
JOURNAL_BYTES = 16 * 1024
JOURNAL_UNREADABLE = "(the unit's journal cannot be read: "  # how the column says why it holds no lines
NOT_RUN_NO_DATABASE = "not run: the database is unavailable"


def run(action: RestartAction, before: systemd.ServiceStatus) -> RestartAction:
    """Restart the unit, verify it came back, record the outcome. Always releases the lock,
    once the database takes the outcome (audit.finish: the returned row's `recorded`
    says whether it has yet)."""
    # The state before goes in first: a row cut short still says what it found, and
    # recovery judges the unit against it. A database that cannot take it will not
    # take the outcome either: nothing runs, and the row is closed as not run.
    try:
        RestartAction.objects.filter(pk=action.pk).update(
            state_before=before.state, main_pid_before=before.main_pid, active_enter_before=before.active_enter_usec
        )
    except DatabaseError as error:
        logger.error("restart #%s of %s not run: the database failed before it (%s)", action.pk, action.service, error)
        return audit.finish(
            action, Status.FAILED, note=NOT_RUN_NO_DATABASE, state_before=before.state, main_pid_before=before.main_pid
        )
    outcome: dict[str, Any] = {
        "status": Status.FAILED,
        "state_before": before.state,
        "main_pid_before": before.main_pid,
        "note": "the restart did not complete (unexpected error; see the server log)",
    }
    began_usec = time.time_ns() // 1000
    try:
        result = systemd.restart(action.service, on_start=_child_recorder(action))
        outcome["exit_code"] = result.exit_code
        outcome["output"] = bounded(result.stdout + result.stderr)
        after: systemd.ServiceStatus | None
        try:
            after = systemd.settled_status(action.service)
            outcome.update(state_after=after.state, main_pid_after=after.main_pid)
        except DomainError as error:
            after = None
            outcome["note"] = f"state after the restart unknown: {error.detail}"
        outcome.update(judge(before, after, result))
        if outcome["status"] in (Status.FAILED, Status.TIMED_OUT):
            outcome["journal"] = journal_since(action.unit, began_usec)
    except Exception:
        # Recorded as failed with a note, and the lock is released: a bug here must
        # not leave the unit unrestartable until the server restarts.
        logger.exception("restart #%s of %s crashed", action.pk, action.service)
    finally:
        finished = audit.finish(action, **outcome)
    unrecorded = "" if finished.recorded else "; not recorded yet"
    # A restart that failed or timed out is something to look at, not a bug of ours: WARNING, with the row's id.
    level = logging.INFO if outcome["status"] == Status.SUCCEEDED else logging.WARNING
    logger.log(
        level, "restart #%s of %s: %s (%s)%s", action.pk, action.service, outcome["status"], outcome["note"], unrecorded
    )
    return finished


def _child_recorder(action: RestartAction) -> Callable[[int], None]:
    """on_start for the restart command: its PID and start time go into the row, so
    that if this process dies mid-restart nobody releases the lock while it still runs."""

    def record(pid: int) -> None:
        child = runners.process_of(pid)
        try:
            RestartAction.objects.filter(pk=action.pk).update(
                child_pid=pid, child_started=child.started if child else None
            )
        except DatabaseError as error:
            # The restart goes on; only recovery after a crash of this process loses
            # the means to tell what it did (it marks the row interrupted).
            logger.warning(
                "restart #%s of %s: the restart command's pid %s could not be recorded (%s)",
                action.pk,
                action.service,
                pid,
                error,
            )

    return record


def judge(before: systemd.ServiceStatus, after: systemd.ServiceStatus | None, result: RunResult) -> dict[str, Any]:
    """The outcome: a restart succeeded when the unit is active again as a new activation.

    New activation: a new MainPID, or for units without a main process (oneshot
    units like ufw) a newer ActiveEnterTimestampMonotonic.
    """
    if result.timed_out:
        return {"status": Status.TIMED_OUT, "note": f"no answer within {systemd.RESTART_TIMEOUT:g} s; killed"}
    if result.exit_code is None:
        return {"status": Status.FAILED, "note": "the restart command could not be run"}
    if result.exit_code != 0:
        return {"status": Status.FAILED, "note": f"systemctl restart exited with {result.exit_code}"}
    if after is None:
        return {"status": Status.FAILED}
    judged = judge_unit(before.main_pid, before.active_enter_usec, after)
    if judged["status"] == Status.FAILED:
        judged["note"] = f"exit 0, but {judged['note']}"
    return judged


def judge_unit(main_pid_before: int | None, active_enter_before: int, after: systemd.ServiceStatus) -> dict[str, Any]:
    """The unit's part of the judgement, for when systemctl's exit code is 0 or unknown."""
    if not after.active:
        return {"status": Status.FAILED, "note": f"the unit is {after.state} afterwards"}
    renewed = (after.main_pid is not None and after.main_pid != main_pid_before) or (
        after.active_enter_usec > active_enter_before
    )
    if not renewed:
        return {"status": Status.FAILED, "note": "the unit shows no new activation (same MainPID)"}
    return {"status": Status.SUCCEEDED, "note": f"active again, MainPID {main_pid_before} → {after.main_pid}"}


class CannotTell(Exception):
    """What the unit did cannot be read; the reason is the message."""


class StillChanging(Exception):
    """The unit is between states: its restart job may still be under way in systemd."""


# States a unit passes through; a restart job still running in systemd shows as one of
# them. A killed `systemctl restart` client (under systemd, the dashboard's cgroup is
# killed with it) does not cancel its job, so the unit's state is the job's progress.
CHANGING_STATES = frozenset({"activating", "deactivating", "reloading", "refreshing", "maintenance"})


def read_from_unit(action: RestartAction) -> dict[str, Any]:
    """The outcome of a restart whose runner died mid-run, judged from the unit now.

    For a row whose restart command is known to have run and ended: the unit is
    judged against its state before as `judge` does, with systemctl's exit code
    unknown. Raises CannotTell when that is not possible, StillChanging while the
    unit is between states (its job may still run: ask again later).
    """
    if action.active_enter_before is None:
        raise CannotTell("its state before the restart is not recorded")
    try:
        after = systemd.settled_status(action.service)
    except DomainError as error:
        raise CannotTell(f"the unit's state afterwards cannot be read ({error.detail})") from None
    if after.active_state in CHANGING_STATES:
        raise StillChanging(after.state)
    outcome = judge_unit(action.main_pid_before, action.active_enter_before, after)
    outcome.update(state_after=after.state, main_pid_after=after.main_pid)
    if outcome["status"] == Status.FAILED and action.started_at is not None:
        outcome["journal"] = journal_since(action.unit, int(action.started_at.timestamp() * 1_000_000))
    return outcome


def journal_since(unit: str, since_usec: int) -> str:
    """The unit's journal lines since `since_usec`, or why they cannot be read."""
    try:
        return "\n".join(reads.entries_since(unit, since_usec, JOURNAL_LINES, JOURNAL_BYTES))
    except DomainError as error:
        return f"{JOURNAL_UNREADABLE}{error.detail})"


def bounded(text: str) -> str:
    limit = RestartAction.OUTPUT_LIMIT
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters cut)"

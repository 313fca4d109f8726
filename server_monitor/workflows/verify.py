"""Run a restart and judge it: did the unit come back as a new activation?

systemctl's exit code alone is not trusted: a unit can exit 0 and die a moment later,
or be restarted by nothing at all. The unit's state and MainPID before and after go
into the audit row beside the outcome.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from server_monitor.adapters import journal, systemd
from server_monitor.adapters.process import RunResult
from server_monitor.errors import DomainError
from server_monitor.models import RestartAction
from server_monitor.workflows import audit

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status

# The unit's own words on a failed restart ("unknown directive … in nginx.conf"):
# enough lines to hold a config error and its context, bounded for the audit row.
JOURNAL_LINES = 50
JOURNAL_BYTES = 16 * 1024
JOURNAL_UNREADABLE = "(the unit's journal cannot be read: "  # how the column says why it holds no lines


def run(action: RestartAction, before: systemd.ServiceStatus) -> RestartAction:
    """Restart the unit, verify it came back, record the outcome. Always releases the lock."""
    # The state before goes in first: a row cut short still says what it found.
    RestartAction.objects.filter(pk=action.pk).update(state_before=before.state, main_pid_before=before.main_pid)
    outcome: dict[str, Any] = {
        "status": Status.FAILED,
        "state_before": before.state,
        "main_pid_before": before.main_pid,
        "note": "the restart did not complete (unexpected error; see the server log)",
    }
    began_usec = time.time_ns() // 1000
    try:
        result = systemd.restart(action.service)
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
        audit.finish(action, **outcome)
    # A restart that failed or timed out is something to look at, not a bug of ours: WARNING, with the row's id.
    level = logging.INFO if outcome["status"] == Status.SUCCEEDED else logging.WARNING
    logger.log(level, "restart #%s of %s: %s (%s)", action.pk, action.service, outcome["status"], outcome["note"])
    return audit.refresh(action)


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
    if not after.active:
        return {"status": Status.FAILED, "note": f"exit 0, but the unit is {after.state} afterwards"}
    renewed = (after.main_pid is not None and after.main_pid != before.main_pid) or (
        after.active_enter_usec > before.active_enter_usec
    )
    if not renewed:
        return {"status": Status.FAILED, "note": "exit 0, but the unit shows no new activation (same MainPID)"}
    return {"status": Status.SUCCEEDED, "note": f"active again, MainPID {before.main_pid} → {after.main_pid}"}


def journal_since(unit: str, since_usec: int) -> str:
    """The unit's journal lines since `since_usec`, or why they cannot be read."""
    try:
        return "\n".join(journal.entries_since(unit, since_usec, JOURNAL_LINES, JOURNAL_BYTES))
    except DomainError as error:
        return f"{JOURNAL_UNREADABLE}{error.detail})"


def bounded(text: str) -> str:
    limit = RestartAction.OUTPUT_LIMIT
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters cut)"

"""The restart workflow: audit row first, one restart per unit at a time, verified outcome.

    request ──► pending ──► running ──► succeeded | failed | timed_out
                   │  (approval mode waits here for a second person)
                   └──► rejected
    pending or running, and its runner process gone ──► interrupted

Every transition is a conditional UPDATE (`WHERE status = …`), so two processes or
two approvers can never both move the same row. Views call these functions only.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
from dataclasses import dataclass
from typing import Any

import psutil
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from server_monitor import services
from server_monitor.exceptions import AdapterError
from server_monitor.models import RestartAction

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status


class RestartConflict(AdapterError):
    http_status = status.HTTP_409_CONFLICT

    def __init__(self, detail: str, existing_action_id: int | None) -> None:
        super().__init__(detail)
        self.existing_action_id = existing_action_id

    def payload(self) -> dict[str, Any]:
        return {"detail": self.detail, "existing_action_id": self.existing_action_id}


class ApprovalForbidden(AdapterError):
    http_status = status.HTTP_403_FORBIDDEN


# --- who runs a row -----------------------------------------------------------------


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
        ).update(status=Status.INTERRUPTED, lock=None, finished_at=timezone.now(), note=note)
        logger.warning(
            "restart #%s of %s marked interrupted (runner pid %s gone)", action.pk, action.service, action.runner_pid
        )
    return recovered


# --- logging --------------------------------------------------------------------------


def _who(user: AbstractBaseUser | Any) -> str:
    return getattr(user, "username", None) or "anonymous"


def log_refusal(reason: str, name: object, user: Any, client_address: str | None) -> None:
    """A refused attempt (400/403/404/409) in the application log, with who and from where.

    The name is repr'd and cut short: it came from the request and may be hostile.
    """
    shown = repr(name)[:80] if isinstance(name, str) else repr(name)
    logger.warning("restart refused (%s): service=%s user=%s address=%s", reason, shown, _who(user), client_address)


# --- the workflow -----------------------------------------------------------------------


def request_restart(name: str, user: Any, client_address: str | None) -> RestartAction:
    """Audit and run (immediate mode) or queue (approval mode) a restart of `name`."""
    try:
        before = services.get_status(name)  # 400 before any process runs; 404; 503
    except (services.ServiceNotAllowed, services.ServiceNotInstalled) as error:
        log_refusal(str(error.http_status), name, user, client_address)
        raise
    approval = bool(settings.WPDASH_RESTART_APPROVAL)
    action = _open_row(before, user, client_address, runner=None if approval else current_runner())
    if approval:
        logger.info(
            "restart #%s of %s requested by %s from %s, awaiting approval", action.pk, name, _who(user), client_address
        )
        return action
    logger.info("restart #%s of %s requested by %s from %s", action.pk, name, _who(user), client_address)
    if not _transition(action, Status.PENDING, status=Status.RUNNING, started_at=timezone.now()):
        return _refresh(action)  # recovered as interrupted in between: nothing runs
    return _run(action, before)


def _open_row(
    before: services.ServiceStatus, user: Any, client_address: str | None, runner: Runner | None
) -> RestartAction:
    """Insert the pending row holding the unit's lock, or raise RestartConflict (409)."""
    fields = {
        "service": before.name,
        "unit": before.unit,
        "command": shlex.join(services.restart_command(before.name)),
        "requested_by": user,
        "client_address": client_address,
        "status": Status.PENDING,
        "lock": before.unit,
    }
    if runner is not None:
        fields.update(runner_host=runner.host, runner_pid=runner.pid, runner_started=runner.started)
    holder: RestartAction | None = None
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return RestartAction.objects.create(**fields)
        except IntegrityError:
            holder = RestartAction.objects.filter(lock=before.unit).first()
            if holder is None:
                continue  # it finished between our insert and this look: try again
            if runner_is_gone(holder):
                recover_interrupted()  # its process died: the lock was stale
                continue
            break
    log_refusal("409", before.name, user, client_address)
    raise RestartConflict(
        f"A restart of {before.name} is already {holder.status if holder else 'in progress'}.",
        holder.pk if holder else None,
    )


def approve(action: RestartAction, user: Any, client_address: str | None) -> RestartAction:
    """Approve a pending request and run it now, in this process."""
    if action.requested_by_id == getattr(user, "pk", None):
        log_refusal("403 own request", action.service, user, client_address)
        raise ApprovalForbidden("You cannot approve your own restart request; another approver must.")
    runner = current_runner()
    now = timezone.now()
    claimed = _transition(
        action,
        Status.PENDING,
        awaiting_approval=True,
        status=Status.RUNNING,
        approved_by=user,
        approved_at=now,
        started_at=now,
        runner_host=runner.host,
        runner_pid=runner.pid,
        runner_started=runner.started,
    )
    if not claimed:
        _refuse_not_pending(action, user, client_address)
    logger.info("restart #%s of %s approved by %s from %s", action.pk, action.service, _who(user), client_address)
    try:
        before = services.get_status(action.service)
    except services.ServiceError as error:
        return _finish(action, Status.FAILED, note=f"not run: {error.detail}")
    return _run(_refresh(action), before)


def reject(action: RestartAction, user: Any, client_address: str | None, reason: str = "") -> RestartAction:
    now = timezone.now()
    rejected = _transition(
        action,
        Status.PENDING,
        awaiting_approval=True,
        status=Status.REJECTED,
        rejected_by=user,
        rejected_at=now,
        rejection_reason=reason[:1000],
        finished_at=now,
        lock=None,
    )
    if not rejected:
        _refuse_not_pending(action, user, client_address)
    logger.info("restart #%s of %s rejected by %s from %s", action.pk, action.service, _who(user), client_address)
    return _refresh(action)


def _refuse_not_pending(action: RestartAction, user: Any, client_address: str | None) -> None:
    current = _refresh(action)
    log_refusal(f"409 #{action.pk} is {current.status}", action.service, user, client_address)
    raise RestartConflict(f"Restart #{action.pk} is {current.status}, not awaiting approval.", action.pk)


def _transition(action: RestartAction, from_status: str, awaiting_approval: bool = False, **changes: Any) -> bool:
    """Apply `changes` only if the row is still in `from_status`; True when it was.

    awaiting_approval: only a row nobody has claimed to run (an immediate-mode row
    is pending for an instant too, with its runner set, and is not up for approval).
    """
    rows = RestartAction.objects.filter(pk=action.pk, status=from_status)
    if awaiting_approval:
        rows = rows.filter(runner_pid__isnull=True)
    return rows.update(**changes) == 1


def _refresh(action: RestartAction) -> RestartAction:
    return RestartAction.objects.select_related("requested_by", "approved_by", "rejected_by").get(pk=action.pk)


def _run(action: RestartAction, before: services.ServiceStatus) -> RestartAction:
    """Restart the unit, verify it came back, record the outcome. Always releases the lock."""
    # The state before goes in first: a row cut short still says what it found.
    RestartAction.objects.filter(pk=action.pk).update(state_before=before.state, main_pid_before=before.main_pid)
    outcome: dict[str, Any] = {
        "status": Status.FAILED,
        "state_before": before.state,
        "main_pid_before": before.main_pid,
        "note": "the restart did not complete (unexpected error; see the server log)",
    }
    try:
        result = services.restart(action.service)
        outcome["exit_code"] = result.exit_code
        outcome["output"] = _bounded(result.stdout + result.stderr)
        try:
            after = services.settled_status(action.service)
            outcome.update(state_after=after.state, main_pid_after=after.main_pid)
        except services.ServiceError as error:
            after = None
            outcome["note"] = f"state after the restart unknown: {error.detail}"
        outcome.update(judge(before, after, result))
    except Exception:
        # Recorded as failed with a note, and the lock is released: a bug here must
        # not leave the unit unrestartable until the server restarts.
        logger.exception("restart #%s of %s crashed", action.pk, action.service)
    finally:
        _finish(action, **outcome)
    logger.info("restart #%s of %s: %s (%s)", action.pk, action.service, outcome["status"], outcome["note"])
    return _refresh(action)


def judge(
    before: services.ServiceStatus, after: services.ServiceStatus | None, result: services.RunResult
) -> dict[str, Any]:
    """The outcome: a restart succeeded when the unit is active again as a new activation.

    New activation: a new MainPID, or for units without a main process (oneshot
    units like ufw) a newer ActiveEnterTimestampMonotonic.
    """
    if result.timed_out:
        return {"status": Status.TIMED_OUT, "note": f"no answer within {services.RESTART_TIMEOUT:g} s; killed"}
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


def _finish(action: RestartAction, status: str, **fields: Any) -> RestartAction:
    """running → the outcome, releasing the unit's lock."""
    fields["note"] = fields.get("note", "")[:1000]
    _transition(action, Status.RUNNING, status=status, finished_at=timezone.now(), lock=None, **fields)
    return _refresh(action)


def describe(action: RestartAction) -> tuple[bool, str]:
    """(success, message) for the services plan's `{"success", "message"}` answer.

    success is true when the request went through: restarted and verified, queued
    for approval, or (for the approver) rejected; false when it failed, timed out or
    was cut short. The message is the outcome in words.
    """
    name = action.service
    if action.status == Status.SUCCEEDED:
        return True, f"Service {name} restarted"
    if action.status == Status.PENDING:
        return True, f"Restart of {name} is waiting for approval by a second person"
    if action.status == Status.REJECTED:
        return True, f"Restart of {name} rejected"
    if action.status == Status.RUNNING:
        return True, f"Restart of {name} is running"
    why = f": {action.note}" if action.note else ""
    return False, f"Restart of {name} {action.get_status_display()}{why}"


def _bounded(text: str) -> str:
    limit = RestartAction.OUTPUT_LIMIT
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters cut)"

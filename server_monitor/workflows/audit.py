"""The restart audit: every row is written before anything runs, and moved only forward.

    request ──► pending ──► running ──► succeeded | failed | timed_out
                   │  (approval mode waits here for a second person)
                   └──► rejected
    pending or running, its runner process and its restart command gone
        ──► what the unit did (succeeded | failed), or interrupted (workflows.runners)

A new row holds the unit's Id in its unique `lock` column until it ends, so two
requests for one unit at once give one row and one Conflict, on SQLite and MariaDB
alike. Every later change is a conditional UPDATE (`WHERE status = …`), so two
processes or two approvers never both move the same row. See docs/architecture.md.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from server_monitor.adapters import systemd
from server_monitor.errors import Conflict
from server_monitor.models import RestartAction
from server_monitor.workflows.runners import Runner, recover_interrupted, run_is_over

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = RestartAction.Status


class RestartConflict(Conflict):
    """A restart of the unit is already pending or running (or the row is not awaiting approval)."""

    refusal = "already pending or running"


def open_row(before: systemd.ServiceStatus, actor: User, address: str | None, runner: Runner | None) -> RestartAction:
    """Insert the pending row holding the unit's lock, or raise RestartConflict."""
    fields: dict[str, Any] = {
        "service": before.name,
        "unit": before.unit,
        "command": shlex.join(systemd.restart_command(before.name)),
        "requested_by": actor,
        "client_address": address,
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
            if run_is_over(holder):
                recover_interrupted()  # its process and its restart command are gone: the lock was stale
                continue
            break
    raise RestartConflict(
        f"A restart of {before.name} is already {holder.status if holder else 'in progress'}.",
        holder.pk if holder else None,
    )


def transition(action: RestartAction, from_status: str, awaiting_approval: bool = False, **changes: Any) -> bool:
    """Apply `changes` only if the row is still in `from_status`; True when it was.

    awaiting_approval: only a row nobody has claimed to run (an immediate-mode row
    is pending for an instant too, with its runner set, and is not up for approval).
    """
    rows = RestartAction.objects.filter(pk=action.pk, status=from_status)
    if awaiting_approval:
        rows = rows.filter(runner_pid__isnull=True)
    return rows.update(**changes) == 1


def finish(action: RestartAction, status: str, **fields: Any) -> RestartAction:
    """running → the outcome, releasing the unit's lock."""
    fields["note"] = fields.get("note", "")[:1000]
    transition(action, Status.RUNNING, status=status, finished_at=timezone.now(), lock=None, **fields)
    return refresh(action)


def refresh(action: RestartAction) -> RestartAction:
    return RestartAction.objects.select_related("requested_by", "approved_by", "rejected_by").get(pk=action.pk)


def find(action_id: object) -> RestartAction | None:
    """The row with this id, or None (also for an id that is not a whole number)."""
    try:
        pk = int(str(action_id))
    except ValueError:
        return None
    return RestartAction.objects.select_related("requested_by", "approved_by", "rejected_by").filter(pk=pk).first()

"""The restart audit: every row is written before anything runs, and moved only forward.

    request ──► pending ──► running ──► succeeded | failed | timed_out
                   │  (approval mode waits here for a second person)
                   ├──► rejected | withdrawn (by its requester)
                   ├──► expired (unapproved for WPDASH_RESTART_APPROVAL_MINUTES; workflows.pending)
                   └──► failed ("not run": the database failed before anything ran)
    pending or running, its runner process and its restart command gone
        ──► what the unit did (succeeded | failed), or interrupted (workflows.runners)

A new row holds the unit's Id in its unique `lock` column until it ends, so two
requests for one unit at once give one row and one Conflict, on SQLite and MariaDB
alike. Every later change is a conditional UPDATE (`WHERE status = …`), so two
processes or two approvers never both move the same row.

The last write (`finish`) releases the lock, so it must land even when the database
is locked, full or gone at that moment: it is retried for a few seconds in the
request, then handed to this process's recorder thread, which retries with backoff
until it lands. Meanwhile the row keeps its lock: the runner is the process that can
prove the run ended, and it says so as soon as the database answers. See
docs/architecture.md.
"""

from __future__ import annotations

import copy
import logging
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from server_monitor.adapters import systemd
from server_monitor.errors import Conflict
from server_monitor.models import RestartAction
from server_monitor.workflows.runners import Runner, recover_interrupted, run_is_over

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import User

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status

# How long a request waits for its outcome to be written before it answers with the
# outcome unrecorded (each try may also wait out SQLite's busy timeout), and how the
# recorder spaces its tries after that. The unit stays locked until the write lands,
# so tries stay at most MAX_DELAY apart: one failed UPDATE every few seconds costs
# nothing, while a long pause would keep the unit locked long after the database is back.
IN_REQUEST_SECONDS = 3.0
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


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
            # Its process and its restart command are gone: the lock may be stale. Try
            # again only if recovery closed a row (a unit still changing state keeps it).
            if run_is_over(holder) and recover_interrupted().closed:
                continue
            break
    raise RestartConflict(
        f"A restart of {before.name} is already {holder.status if holder else 'in progress'}.",
        holder.pk if holder else None,
    )


def transition(
    action: RestartAction,
    from_status: str,
    awaiting_approval: bool = False,
    requested_after: datetime | None = None,
    **changes: Any,
) -> bool:
    """Apply `changes` only if the row is still in `from_status`; True when it was.

    awaiting_approval: only a row nobody has claimed to run (an immediate-mode row
    is pending for an instant too, with its runner set, and is not up for approval).
    requested_after: only a row requested after this (one not expired, even if the
    expiry has not closed it yet: an approval racing the expiry never runs it).
    """
    rows = RestartAction.objects.filter(pk=action.pk, status=from_status)
    if awaiting_approval:
        rows = rows.filter(runner_pid__isnull=True)
    if requested_after is not None:
        rows = rows.filter(requested_at__gt=requested_after)
    return rows.update(**changes) == 1


def finish(action: RestartAction, status: str, **fields: Any) -> RestartAction:
    """pending or running → the outcome, releasing the unit's lock.

    Returns the row as written. When the database has not taken the write within
    IN_REQUEST_SECONDS, returns the row as it will be written, with `recorded` False,
    and the recorder keeps trying; the lock is released when the write lands.
    """
    fields["note"] = fields.get("note", "")[:1000]
    changes = {"status": status, "finished_at": timezone.now(), "lock": None, **fields}
    write = FinalWrite(action.pk, action.service, changes)
    if not write.retry_until(time.monotonic() + IN_REQUEST_SECONDS):
        recorder.take(write)
        return _as_it_will_be(action, changes)
    try:
        return refresh(action)
    except DatabaseError:  # written, but the database fails again on the read back
        return _as_it_will_be(action, changes, recorded=True)


def _as_it_will_be(action: RestartAction, changes: dict[str, Any], recorded: bool = False) -> RestartAction:
    """A copy of the row with the outcome applied in memory only; the database still
    holds the lock until the write lands."""
    outcome = copy.copy(action)
    for name, value in changes.items():
        if name != "lock":
            setattr(outcome, name, value)
    outcome.recorded = recorded
    return outcome


def refresh(action: RestartAction) -> RestartAction:
    return RestartAction.objects.select_related("requested_by", "approved_by", "rejected_by").get(pk=action.pk)


def find(action_id: object) -> RestartAction | None:
    """The row with this id, or None (also for an id that is not a whole number)."""
    try:
        pk = int(str(action_id))
    except ValueError:
        return None
    return RestartAction.objects.select_related("requested_by", "approved_by", "rejected_by").filter(pk=pk).first()


# --- the last write, until it lands ------------------------------------------------------


@dataclass
class FinalWrite:
    """The outcome of one row, tried until the database takes it."""

    pk: int
    service: str
    changes: dict[str, Any]
    attempts: int = 0
    delay: float = field(default_factory=lambda: FIRST_DELAY)  # read when made: tests shorten it
    due: float = 0.0  # time.monotonic() of the next try
    failures: set[str] = field(default_factory=set)  # the kinds already logged
    since: float = field(default_factory=time.monotonic)

    def attempt(self) -> bool:
        """One try; True when it landed (or the row was closed already: nothing to write)."""
        self.attempts += 1
        try:
            written = RestartAction.objects.filter(pk=self.pk, status__in=RestartAction.OPEN).update(**self.changes)
        except Exception as error:  # DatabaseError above all; a bug must not stop the retries either
            self._failed(error)
            return False
        if not written:
            logger.warning(
                "restart #%s of %s was closed by someone else; its outcome here (%s) is not written",
                self.pk,
                self.service,
                self.changes["status"],
            )
        return True

    def _failed(self, error: Exception) -> None:
        # A failed statement can leave the connection unusable (MariaDB gone away):
        # the next try opens a new one. Never inside a transaction (a test's).
        if not connection.in_atomic_block:
            connection.close()
        kind = f"{type(error).__name__}: {error}"[:300]
        if kind in self.failures:
            return
        self.failures.add(kind)
        logger.error(
            "restart #%s of %s: its outcome (%s: %s) cannot be written yet (%s); the unit stays locked until it is",
            self.pk,
            self.service,
            self.changes["status"],
            self.changes["note"],
            kind,
        )

    def retry_until(self, deadline: float) -> bool:
        """Try now and with backoff until `deadline`; True when it landed."""
        while not self.attempt():
            if time.monotonic() + self.delay > deadline:
                return False
            time.sleep(self.delay)
            self.delay = min(self.delay * 2, MAX_DELAY)
        return True


class Recorder:
    """This process's outcomes the database did not take in the request.

    A daemon thread retries each with backoff (at most MAX_DELAY apart) for as long
    as the process lives: giving up would gain nothing, since the unit stays locked
    until its row is written or this process is gone. At most one outcome per unit
    can wait (the row holds the unit's lock), so what is kept is bounded by the
    allowlist. If the process dies first, recovery reads the outcome from the unit
    (workflows.runners).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, FinalWrite] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, write: FinalWrite) -> None:
        write.due = time.monotonic() + write.delay
        with self._lock:
            self._waiting[write.pk] = write
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wpdash-audit-recorder", daemon=True)
                self._thread.start()
        self._wake.set()

    def waiting(self) -> list[int]:
        """The rows whose outcome is not written yet."""
        with self._lock:
            return sorted(self._waiting)

    def _run(self) -> None:
        try:
            while True:
                self._wake.clear()  # before looking: a write taken after this wakes the wait below
                with self._lock:
                    if not self._waiting:
                        self._thread = None
                        return
                    writes = list(self._waiting.values())
                now = time.monotonic()
                due = [write for write in writes if write.due <= now]
                if not due:
                    self._wake.wait(min(write.due for write in writes) - now)
                    continue
                for write in due:
                    self._try(write)
        finally:
            connection.close()  # this thread's own connection

    def _try(self, write: FinalWrite) -> None:
        if write.attempt():
            with self._lock:
                self._waiting.pop(write.pk, None)
            logger.warning(
                "restart #%s of %s: outcome (%s) written after %.0f s and %s tries; the unit is free again",
                write.pk,
                write.service,
                write.changes["status"],
                time.monotonic() - write.since,
                write.attempts,
            )
            return
        write.due = time.monotonic() + write.delay
        write.delay = min(write.delay * 2, MAX_DELAY)


recorder = Recorder()

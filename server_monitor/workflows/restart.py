"""The restart workflow: the one way in for the API, the page and the admin.

`request_restart`, `approve`, `reject` and `withdraw` check who asks (signed in, permission),
what (the allowlist, the unit installed) and whether the unit is free, log a refusal
once, write the audit row before anything runs (workflows.audit), run and verify the
restart (workflows.verify; in the background when the restart would cut the request's own
answer, workflows.detach), and return an Outcome the callers only present.
`check_restart` makes the same checks without doing anything, for the page's
confirmation step. Requests waiting for approval expire (workflows.pending). See
docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.utils import timezone

from server_monitor.adapters import systemd
from server_monitor.errors import DomainError, NotFound, NotPermitted, NotSignedIn, Unavailable
from server_monitor.models import RestartAction
from server_monitor.workflows import audit, cause, detach, pending, verify
from server_monitor.workflows.audit import RestartConflict
from server_monitor.workflows.runners import current_runner

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import User

    Actor = User | AnonymousUser  # who asks: request.user of the API, the page or the admin

__all__ = ["Outcome", "RestartConflict", "approve", "check_restart", "reject", "request_restart", "withdraw"]

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status

RESTART_PERMISSION = "server_monitor.restart_service"
APPROVE_PERMISSION = "server_monitor.approve_restart"


class NoRestartPermission(NotPermitted):
    refusal = "no restart permission"


class NoApprovePermission(NotPermitted):
    refusal = "no approve permission"


class OwnRequest(NotPermitted):
    refusal = "own request"


class NotAwaitingApproval(RestartConflict):
    refusal = "not pending"


class RequestExpired(NotAwaitingApproval):
    refusal = "expired"


class NotYourRequest(NotPermitted):
    refusal = "not the requester"


class NoSuchRestart(NotFound):
    refusal = "no such restart"


@dataclass(frozen=True)
class Outcome:
    """What became of a request, in the services plan's terms: success and a message.

    success is true when the request went through: restarted and verified, queued for
    approval, running in the background, or (for the approver) rejected; false when it
    failed, timed out or was cut short. `recorded` is false while the audit does not hold
    the outcome yet (the database failed; workflows.audit keeps trying): success and
    message are then the outcome as judged.
    """

    action: RestartAction
    success: bool
    message: str

    @property
    def finished(self) -> bool:
        """False while the row is pending (approval) or running (detached): its outcome is to come."""
        return self.action.status not in RestartAction.OPEN

    @classmethod
    def detached(cls, action: RestartAction) -> Outcome:
        name, pk = action.service, action.pk
        return cls(
            action,
            True,
            f"Restarting {name}: this request came through {name}, so the answer comes first and the "
            f"restart runs now in the background. Its outcome will be in restart #{pk} "
            f"(GET /api/v1/server/restarts/{pk}, or Recent restarts on the page)",
        )

    @property
    def recorded(self) -> bool:
        return self.action.recorded

    @classmethod
    def of(cls, action: RestartAction) -> Outcome:
        if not action.recorded:
            return cls._not_recorded(action)
        name = action.service
        if action.status == Status.SUCCEEDED:
            return cls(action, True, f"Service {name} restarted")
        if action.status == Status.PENDING:
            return cls(action, True, f"Restart of {name} is waiting for approval by a second person")
        if action.status == Status.REJECTED:
            return cls(action, True, f"Restart of {name} rejected")
        if action.status == Status.RUNNING:
            return cls(action, True, f"Restart of {name} is running")
        if action.status == Status.WITHDRAWN:
            return cls(action, True, f"Restart of {name} withdrawn by {action.requested_by.get_username()}")
        if action.status == Status.EXPIRED:
            return cls(action, False, f"Restart of {name} {_expired_words(action)}")
        why = f": {action.note}" if action.note else ""
        told = _journal_says(action.journal)
        return cls(action, False, f"Restart of {name} {action.get_status_display()}{why}{told}")

    @classmethod
    def _not_recorded(cls, action: RestartAction) -> Outcome:
        """The outcome as judged, while the database does not take it (audit.finish)."""
        name = action.service
        if action.note == verify.NOT_RUN_NO_DATABASE:
            return cls(action, False, f"Restart of {name} not run: the database is unavailable; nothing was restarted")
        later = (
            "Its outcome could not be recorded yet (the database is unavailable); it will be as soon as the "
            "database answers, and until then the audit shows the restart as running"
        )
        if action.status == Status.SUCCEEDED:
            return cls(action, True, f"Service {name} restarted. {later}")
        return cls(action, False, f"Restart of {name} ran and {action.get_status_display()}: {action.note}. {later}")


def _expired_words(action: RestartAction) -> str:
    """The words of an expired row: 'expired at 2026-12-06 11:02 UTC: not approved within 60 minutes; …'."""
    ended = action.finished_at or pending.expires_at(action)
    at = timezone.localtime(ended).strftime("%Y-%m-%d %H:%M %Z")
    return f"expired at {at}: {action.note or 'not approved in time; nothing was restarted'}"


def _journal_says(journal: str) -> str:
    """The unit's own last lines from the kept journal, for the failure message: the cause
    (workflows.cause); the page and the admin show the whole journal."""
    lines = [] if journal.startswith(verify.JOURNAL_UNREADABLE) else cause.quoted_lines(journal)
    return ". The unit's journal says: " + " | ".join(lines) if lines else ""


# --- who may -------------------------------------------------------------------------


def may_restart(user: Actor | None) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(RESTART_PERMISSION))


def may_approve(user: Actor | None) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(APPROVE_PERMISSION))


def _who(user: Actor | None) -> str:
    return getattr(user, "username", None) or "anonymous"


@contextlib.contextmanager
def _refusals_logged(name: object, actor: Actor | None, address: str | None) -> Iterator[None]:
    """A refused attempt goes to the application log once, with who and from where.

    The name is repr'd and cut short: it came from the request and may be hostile.
    An outside system that cannot answer is not a refusal (its own log says so).
    """
    try:
        yield
    except DomainError as error:
        if not isinstance(error, Unavailable):
            shown = repr(name)[:80] if isinstance(name, str) else repr(name)
            logger.warning(
                "restart refused (%s): service=%s user=%s address=%s", error.refusal, shown, _who(actor), address
            )
        raise


def _signed_in(actor: Actor | None) -> User:
    if actor is None or isinstance(actor, AnonymousUser) or not actor.is_authenticated or not actor.is_active:
        raise NotSignedIn("Sign in to restart services.")
    return actor


# --- the entries -----------------------------------------------------------------------


def check_restart(name: object, actor: Actor | None, address: str | None) -> str:
    """The allowlisted name, when `actor` may restart it; runs nothing."""
    with _refusals_logged(name, actor, address):
        return _may_restart_this(name, _signed_in(actor))


def _may_restart_this(name: object, user: User) -> str:
    if not may_restart(user):
        raise NoRestartPermission("You do not have the permission to restart services.")
    return systemd.check_name(name)


def request_restart(name: object, actor: Actor | None, address: str | None, via_proxy: bool = False) -> Outcome:
    """Audit and run (immediate mode) or queue (approval mode) a restart of `name`.

    via_proxy: the request came through a proxy (the web edge saw a forwarding header);
    with it, or WPDASH_HTTPS=on, a restart of that proxy answers first (workflows.detach).
    """
    with _refusals_logged(name, actor, address):
        user = _signed_in(actor)
        before = systemd.get_status(_may_restart_this(name, user))  # NotAllowed before any process runs
        approval = bool(settings.WPDASH_RESTART_APPROVAL)
        pending.expire_overdue()  # an expired request must not hold the unit's lock
        action = audit.open_row(before, user, address, runner=None if approval else current_runner())
    who = f"{_who(actor)} from {address}"
    if approval:
        logger.info("restart #%s of %s requested by %s, awaiting approval", action.pk, before.name, who)
        pending.announce(action)
        return Outcome.of(action)
    logger.info("restart #%s of %s requested by %s", action.pk, before.name, who)
    try:
        started = audit.transition(action, Status.PENDING, status=Status.RUNNING, started_at=timezone.now())
    except DatabaseError:  # the row must not stay pending and locked: closed as not run
        return Outcome.of(audit.finish(action, Status.FAILED, note=verify.NOT_RUN_NO_DATABASE))
    if not started:
        return Outcome.of(audit.refresh(action))  # recovered as interrupted in between: nothing runs
    return _run(action, before, via_proxy)


def _run(action: RestartAction, before: systemd.ServiceStatus, via_proxy: bool) -> Outcome:
    """Run and verify the running row's restart now, or in the background when its unit
    carries this request (the answer would otherwise be cut)."""
    if detach.detaches(before, via_proxy):
        detach.start(action, before)  # first: a database that fails now must not leave the row locked
        try:
            running = audit.refresh(action)
        except DatabaseError:  # the answer needs no read: the row is running, as the transition made it
            running = action
            running.status = Status.RUNNING
        logger.info("restart #%s of %s runs in the background: it carries this request", action.pk, before.name)
        return Outcome.detached(running)
    return Outcome.of(verify.run(action, before))


def approve(action_id: object, actor: Actor | None, address: str | None, via_proxy: bool = False) -> Outcome:
    """Approve a pending request and run it now, in this process (in the background when
    it would cut the approver's own answer, as for request_restart)."""
    with _refusals_logged(f"#{action_id}", actor, address):
        user = _signed_in(actor)
        action = _pending_for(action_id, user, NoApprovePermission)
        if action.requested_by_id == user.pk:
            raise OwnRequest("You cannot approve your own restart request; another approver must.")
        runner = current_runner()
        now = timezone.now()
        pending.expire_overdue(now)
        claimed = audit.transition(
            action,
            Status.PENDING,
            awaiting_approval=True,
            requested_after=pending.fresh_since(now),  # never one that expired meanwhile
            status=Status.RUNNING,
            approved_by=user,
            approved_at=now,
            started_at=now,
            runner_host=runner.host,
            runner_pid=runner.pid,
            runner_started=runner.started,
        )
        if not claimed:
            _not_pending(action)
    logger.info("restart #%s of %s approved by %s from %s", action.pk, action.service, _who(actor), address)
    pending.settled(action)
    try:
        before = systemd.get_status(action.service)
    except DomainError as error:
        return Outcome.of(audit.finish(action, Status.FAILED, note=f"not run: {error.detail}"))
    try:
        action = audit.refresh(action)
    except DatabaseError:  # as in request_restart: closed as not run, never left running and locked
        return Outcome.of(audit.finish(action, Status.FAILED, note=verify.NOT_RUN_NO_DATABASE))
    return _run(action, before, via_proxy)


def reject(action_id: object, actor: Actor | None, address: str | None, reason: str = "") -> Outcome:
    with _refusals_logged(f"#{action_id}", actor, address):
        user = _signed_in(actor)
        action = _pending_for(action_id, user, NoApprovePermission)
        now = timezone.now()
        pending.expire_overdue(now)
        rejected = audit.transition(
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
            _not_pending(action)
    logger.info("restart #%s of %s rejected by %s from %s", action.pk, action.service, _who(actor), address)
    pending.settled(action)
    return Outcome.of(audit.refresh(action))


def withdraw(action_id: object, actor: Actor | None, address: str | None) -> Outcome:
    """The requester takes back their own request while it waits for approval."""
    with _refusals_logged(f"#{action_id}", actor, address):
        user = _signed_in(actor)
        action = audit.find(action_id)
        if action is None:
            raise NoSuchRestart("No such restart.")
        if action.requested_by_id != user.pk:
            raise NotYourRequest("Only the person who asked for a restart can withdraw it.")
        now = timezone.now()
        pending.expire_overdue(now)
        withdrawn = audit.transition(
            action,
            Status.PENDING,
            awaiting_approval=True,
            status=Status.WITHDRAWN,
            withdrawn_at=now,
            finished_at=now,
            lock=None,
        )
        if not withdrawn:
            _not_pending(action)
    logger.info("restart #%s of %s withdrawn by %s from %s", action.pk, action.service, _who(actor), address)
    pending.settled(action)
    return Outcome.of(audit.refresh(action))


# --- the page's list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """One row of the page's "Waiting for approval", with what this user may do to it."""

    action: RestartAction
    expires_at: datetime | None  # while it waits
    may_decide: bool  # approve or reject: the permission, and not their own request
    may_withdraw: bool  # their own request

    @property
    def outcome(self) -> Outcome:
        return Outcome.of(self.action)


def waiting_for(actor: Actor | None) -> tuple[list[Waiting], list[Waiting]]:
    """(awaiting approval, left pending lately) as `actor` sees them; nothing for nobody."""
    if actor is None or not actor.is_authenticated:
        return [], []
    found = pending.waiting()
    approver = may_approve(actor)

    def row(action: RestartAction, open_: bool) -> Waiting:
        own = action.requested_by_id == actor.pk
        expiry = pending.expires_at(action) if open_ else None
        return Waiting(action, expiry, open_ and approver and not own, open_ and own)

    return [row(action, True) for action in found.pending], [row(action, False) for action in found.recent]


def _pending_for(action_id: object, user: User, refused: type[NotPermitted]) -> RestartAction:
    """The row to approve or reject, once the user may (in that order, so nobody
    without the permission learns which ids exist)."""
    if not may_approve(user):
        raise refused("You do not have the permission to approve or reject restarts.")
    action = audit.find(action_id)
    if action is None:
        raise NoSuchRestart("No such restart.")
    return action


def _not_pending(action: RestartAction) -> NoReturn:
    current = audit.refresh(action)
    if current.status == Status.PENDING and current.runner_pid is None:
        pending.expire_overdue()  # it crossed its expiry between the look and the claim
        current = audit.refresh(action)
    if current.status == Status.EXPIRED:
        raise RequestExpired(
            f"Restart #{action.pk} of {action.service} {_expired_words(current)}. "
            "Ask for a new restart if it is still needed.",
            action.pk,
        )
    raise NotAwaitingApproval(f"Restart #{action.pk} is {current.status}, not awaiting approval.", action.pk)

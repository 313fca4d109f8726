"""Requests waiting for approval (WPDASH_RESTART_APPROVAL=on): when they expire, what the
page lists, and who is told of a new one.

A pending request expires WPDASH_RESTART_APPROVAL_MINUTES after it was made: an approval
hours later must not restart a service at once. Expiry is lazy — every request, approve,
reject, withdraw and read of the list closes the overdue rows first — and the watcher
closes them too (workflows.alerts.watcher's housekeeping), so the row says `expired`
even when nobody looks. Each close is a conditional UPDATE (as workflows.audit.transition),
so an approval racing the expiry either runs (it claimed the row first) or is refused.

A new request is announced through the alert channels as an alert episode
(rule `restart_approval`, one per request; workflows.alerts.episodes queues its
messages in the outbox the watcher sends from); the episode resolves when the request
leaves pending, whatever the way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.utils import timezone

from server_monitor.models import Alert, RestartAction
from server_monitor.workflows.alerts import episodes
from server_monitor.workflows.alerts.rules.base import WARNING, Finding

logger = logging.getLogger("server_monitor.restarts")
Status = RestartAction.Status

RULE = "restart_approval"  # the alert episode of a request waiting for approval
RECENT = timedelta(minutes=15)  # how long a request that left pending stays in the page's list
SHOWN = 20


def waiting_time() -> timedelta:
    return timedelta(minutes=settings.WPDASH_RESTART_APPROVAL_MINUTES)


def expires_at(action: RestartAction) -> datetime:
    """When a request awaiting approval expires (the setting applies to every pending row)."""
    return action.requested_at + waiting_time()


def _awaiting() -> QuerySet[RestartAction]:
    # Runner set: an immediate-mode row between its insert and its start, never up for approval.
    return RestartAction.objects.filter(status=Status.PENDING, runner_pid__isnull=True)


def expire_overdue(now: datetime | None = None) -> list[RestartAction]:
    """Close every request that waited longer than allowed; the rows closed here.

    finished_at is the moment it expired, not the moment it was noticed, so the row
    says when the approval window ended whoever looked first.
    """
    now = now or timezone.now()
    limit = waiting_time()
    closed = []
    for action in _awaiting().filter(requested_at__lte=now - limit):
        ended = action.requested_at + limit
        minutes = settings.WPDASH_RESTART_APPROVAL_MINUTES
        done = (
            _awaiting()
            .filter(pk=action.pk, requested_at__lte=now - limit)
            .update(
                status=Status.EXPIRED,
                finished_at=ended,
                lock=None,
                note=f"not approved within {minutes} minute{'s' if minutes != 1 else ''}; nothing was restarted",
            )
        )
        if done:
            logger.info("restart #%s of %s expired unapproved", action.pk, action.service)
            action.status = Status.EXPIRED
            action.finished_at = ended
            settled(action)
            closed.append(action)
    return closed


def fresh_since(now: datetime | None = None) -> datetime:
    """Requests made after this may still be approved."""
    return (now or timezone.now()) - waiting_time()


@dataclass(frozen=True)
class Waiting:
    """The page's list: the requests awaiting approval, then those that left pending lately."""

    pending: list[RestartAction]
    recent: list[RestartAction]

    def __bool__(self) -> bool:
        return bool(self.pending or self.recent)


def waiting() -> Waiting:
    """What the page's "Waiting for approval" lists (overdue rows closed first)."""
    expire_overdue()
    related = ("requested_by", "approved_by", "rejected_by")
    pending = list(_awaiting().select_related(*related).order_by("requested_at", "id")[:SHOWN])
    since = timezone.now() - RECENT
    decided = RestartAction.objects.select_related(*related).filter(
        Q(approved_at__gte=since)
        | Q(rejected_at__gte=since)
        | Q(withdrawn_at__gte=since)
        | Q(status=Status.EXPIRED, finished_at__gte=since)
    )
    return Waiting(pending, list(decided.order_by("-requested_at", "-id")[:SHOWN]))


# --- telling the approvers ---------------------------------------------------------------


def _subject(action: RestartAction) -> str:
    return f"restart #{action.pk}"


def announce(action: RestartAction) -> None:
    """A new request: an alert episode, whose messages go out through the alert channels.

    The request is recorded already; a database that fails here loses only the message
    (the page still lists the request), so it is logged, never raised.
    """
    zone = timezone.get_current_timezone()
    until = timezone.localtime(expires_at(action), zone).strftime("%Y-%m-%d %H:%M %Z")
    who = action.requested_by.get_username()
    summary = f"Restart of {action.service} requested by {who} is waiting for approval (expires {until})"
    evidence = {
        "service": action.service,
        "requested by": who,
        "from": action.client_address or "unknown",
        "expires": until,
        "approve": f"{settings.WPDASH_PUBLIC_URL}/#approvals",
    }
    try:
        episodes.open_episode(RULE, Finding(_subject(action), WARNING, summary, evidence))
    except DatabaseError as error:
        logger.warning("restart #%s: its approvers could not be told (%s)", action.pk, error)


def settled(action: RestartAction) -> None:
    """The request left pending (approved, rejected, withdrawn, expired): its episode ends."""
    try:
        alert = Alert.objects.filter(rule=RULE, subject=_subject(action), state=Alert.State.FIRING).first()
        if alert is not None:
            episodes.resolve(alert)
    except DatabaseError as error:
        logger.warning("restart #%s: its approval alert could not be resolved (%s)", action.pk, error)

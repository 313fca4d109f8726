"""Silences: an admin holds back the messages of a rule, a subject, or one rule on one subject,
until a time. Audited like restarts: who, when, until, and who ended one early (rows are
never deleted). A silenced alert is still recorded and shown; only its messages wait.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from server_monitor.errors import NotFound, NotPermitted, NotSignedIn
from server_monitor.models import AlertSilence

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("server_monitor.alerts")

SILENCE_PERMISSION = "server_monitor.silence_alerts"
LONGEST = timedelta(days=90)


class NoSilencePermission(NotPermitted):
    refusal = "no silence permission"


def may_silence(user: User | AnonymousUser | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(SILENCE_PERMISSION))


def _check(user: User | AnonymousUser | None) -> User:
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotSignedIn("Sign in to silence alerts.")
    if not may_silence(user):
        raise NoSilencePermission("You do not have the permission to silence alerts.")
    return user


def silence(
    user: User | AnonymousUser | None, rule: str, subject: str, until: datetime, reason: str = ""
) -> AlertSilence:
    """Silence `rule` on `subject` (either may be empty for "any", not both) until `until`.
    Raises NotPermitted without the permission, ValueError for a silence that says nothing."""
    actor = _check(user)
    rule, subject = rule.strip(), subject.strip()
    if not rule and not subject:
        raise ValueError("Name a rule, a subject, or both: a silence of everything is not allowed.")
    now = timezone.now()
    if until <= now:
        raise ValueError("until must be in the future.")
    if until > now + LONGEST:
        raise ValueError(f"until must be within {LONGEST.days} days.")
    row = AlertSilence.objects.create(
        rule=rule[:64], subject=subject[:512], until=until, reason=reason[:1000], created_by=actor, created_at=now
    )
    logger.info("silence #%s of %s by %s until %s", row.pk, row, actor.get_username(), until.isoformat())
    return row


def end(user: User | AnonymousUser | None, silence_id: object) -> AlertSilence:
    """End a silence now (recorded: who and when); ending one that has ended changes nothing."""
    actor = _check(user)
    try:
        row = AlertSilence.objects.get(pk=int(str(silence_id)))
    except (ValueError, AlertSilence.DoesNotExist):
        raise NotFound("No such silence.") from None
    now = timezone.now()
    if AlertSilence.objects.filter(pk=row.pk, ended_at__isnull=True, until__gt=now).update(
        ended_at=now, ended_by=actor
    ):
        logger.info("silence #%s ended by %s", row.pk, actor.get_username())
    row.refresh_from_db()
    return row

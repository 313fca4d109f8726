"""An alert's life in the database: one row per episode, firing → resolved (docs/architecture.md).

A finding whose (rule, subject) has no firing row opens one: the insert holds the pair's
digest in the unique `firing_key`, so the same condition seen again (the next tick, a
second watcher during a hand-over, a log line read twice) is the same episode, never a
second one. A firing row whose subject is no longer found is marked clear, and resolved
once it has stayed clear for the rule's clear time; seen again meanwhile, it simply
goes on firing (a flapping unit is one episode). Every change is a conditional UPDATE.

Messages are queued (AlertMessage rows) in the same transaction as the change they
announce: an alert is never recorded without its messages, nor a message lost when the
watcher dies before sending it. A silenced alert is recorded all the same, and its
messages are not queued; if it still fires when the silence ends, its firing message
goes out then (`remind`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from server_monitor.models import Alert, AlertMessage, AlertSilence
from server_monitor.workflows.alerts import outbox
from server_monitor.workflows.alerts.rules.base import Finding

logger = logging.getLogger("server_monitor.alerts")
Event = AlertMessage.Event

SEEN_WRITE_SECONDS = 60  # a firing row's last_seen_at is rewritten at most this often
_wake_sender: Callable[[], None] = lambda: None  # noqa: E731 (set by the watcher: a queued message is sent at once)


def on_queued(wake: Callable[[], None]) -> None:
    global _wake_sender
    _wake_sender = wake


def firing_key(rule: str, subject: str) -> str:
    return hashlib.sha256(f"{rule}\x00{subject}".encode()).hexdigest()


def firing(rule: str) -> dict[str, Alert]:
    return {alert.subject: alert for alert in Alert.objects.filter(rule=rule, state=Alert.State.FIRING)}


def silenced(rule: str, subject: str) -> bool:
    now = timezone.now()
    active = AlertSilence.objects.filter(until__gt=now, ended_at__isnull=True)
    return any(silence.covers(rule, subject) for silence in active)


def channels() -> list[tuple[str, str]]:
    """(channel, target) of every configured recipient: all mail addresses as one message,
    each push URL as one (shown in privacy mode: rows never hold a secret)."""
    found: list[tuple[str, str]] = []
    if settings.WPDASH_ALERT_EMAIL:
        found.append((AlertMessage.Channel.EMAIL, ", ".join(settings.WPDASH_ALERT_EMAIL)))
    return found + [(AlertMessage.Channel.PUSH, target.shown) for target in outbox.push_targets()]


def _queue(alert: Alert, event: str) -> int:
    rows = [AlertMessage(alert=alert, event=event, channel=channel, target=target) for channel, target in channels()]
    AlertMessage.objects.bulk_create(rows)
    if rows:
        transaction.on_commit(_wake_sender)
    return len(rows)


def open_episode(rule: str, finding: Finding) -> Alert | None:
    """A new firing episode and its messages; None when one of (rule, subject) fires already."""
    now = timezone.now()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                subject=finding.subject[:512],
                severity=finding.severity,
                summary=finding.summary[:1000],
                evidence=finding.evidence,
                firing_key=firing_key(rule, finding.subject[:512]),
                started_at=now,
                last_seen_at=now,
            )
            quiet = silenced(rule, alert.subject)
            if not quiet:
                _queue(alert, Event.FIRED)
                Alert.objects.filter(pk=alert.pk).update(notified_at=now)
                alert.notified_at = now
    except IntegrityError:
        return None  # it fires already: the same episode
    logger.warning("alert #%s fired: %s%s", alert.pk, alert.summary, " (silenced)" if quiet else "")
    return alert


def resolve(alert: Alert) -> bool:
    """firing → resolved, with its resolved message if its firing one was sent (and it is not silenced now)."""
    now = timezone.now()
    with transaction.atomic():
        done = Alert.objects.filter(pk=alert.pk, state=Alert.State.FIRING).update(
            state=Alert.State.RESOLVED, resolved_at=now, firing_key=None, clear_since=None
        )
        if done and alert.notified_at is not None and not silenced(alert.rule, alert.subject):
            _queue(alert, Event.RESOLVED)
    if done:
        logger.info("alert #%s resolved: %s", alert.pk, alert.summary)
    return bool(done)


def reconcile(
    rule: str,
    findings: Iterable[Finding],
    clear_seconds: float,
    enrich: Callable[[Finding], Finding] = lambda finding: finding,
    current: dict[str, Alert] | None = None,
) -> None:
    """Bring the rule's episodes in line with what it found now (docstring above);
    `current`: its firing episodes, when the caller has just read them."""
    now = timezone.now()
    current = firing(rule) if current is None else current
    seen = {finding.subject[:512]: finding for finding in findings}
    for subject, finding in seen.items():
        alert = current.get(subject)
        if alert is None:
            open_episode(rule, enrich(finding))
        elif alert.clear_since is not None or now - alert.last_seen_at > timedelta(seconds=SEEN_WRITE_SECONDS):
            Alert.objects.filter(pk=alert.pk, state=Alert.State.FIRING).update(last_seen_at=now, clear_since=None)
    for subject, alert in current.items():
        if subject in seen:
            continue
        if alert.clear_since is None and clear_seconds > 0:
            Alert.objects.filter(pk=alert.pk, state=Alert.State.FIRING).update(clear_since=now)
        elif alert.clear_since is None or now - alert.clear_since >= timedelta(seconds=clear_seconds):
            resolve(alert)


def log_match(rule: str, severity: str, subject: str, pattern: str, lines: list[str]) -> Alert | None:
    """Lines of log `subject` that matched pattern rule `rule`: a new episode, or more
    evidence for the firing one (at most Alert.EVIDENCE_LINES, the newest; a line already
    there, read again after a hand-over, is not added twice)."""
    key = firing_key(rule, subject)
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(firing_key=key).first()
        if alert is not None:
            evidence: dict[str, Any] = dict(alert.evidence)
            known = list(evidence.get("lines", []))
            new = [line for line in lines if line not in known]
            evidence["lines"] = (known + new)[-Alert.EVIDENCE_LINES :]
            evidence["matches"] = int(evidence.get("matches", 0)) + len(new)
            Alert.objects.filter(pk=alert.pk).update(evidence=evidence, last_seen_at=now)
            return alert
    first = lines[-1][:300]
    count = len(lines)
    summary = f'{count} line{"s" if count != 1 else ""} of {subject} matched "{pattern}": {first}'
    evidence = {"log": subject, "pattern": pattern, "lines": lines[-Alert.EVIDENCE_LINES :], "matches": count}
    # None: another watcher opened it a moment ago: add the lines to that one.
    return open_episode(rule, Finding(subject, severity, summary, evidence)) or log_match(
        rule, severity, subject, pattern, lines
    )


def resolve_quiet(rules: Iterable[str], quiet_seconds: float) -> None:
    """Log-pattern episodes with no matching line for `quiet_seconds` are over."""
    limit = timezone.now() - timedelta(seconds=quiet_seconds)
    for alert in Alert.objects.filter(rule__in=list(rules), state=Alert.State.FIRING, last_seen_at__lt=limit):
        resolve(alert)


def remind() -> None:
    """Firing episodes nobody has been told of (a silence ended), and those told longer
    than WPDASH_ALERT_RENOTIFY_MINUTES ago: their message (again)."""
    now = timezone.now()
    minutes = settings.WPDASH_ALERT_RENOTIFY_MINUTES
    for alert in Alert.objects.filter(state=Alert.State.FIRING):
        due = alert.notified_at is None or (minutes and now - alert.notified_at >= timedelta(minutes=minutes))
        if not due or silenced(alert.rule, alert.subject):
            continue
        with transaction.atomic():
            claimed = Alert.objects.filter(pk=alert.pk, state=Alert.State.FIRING, notified_at=alert.notified_at)
            if claimed.update(notified_at=now):
                _queue(alert, Event.FIRED if alert.notified_at is None else Event.REMINDER)

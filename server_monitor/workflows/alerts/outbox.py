"""The sender: every queued message (AlertMessage) to its mail server or push service.

It runs in a thread of the watcher (mail and push block; the rules never wait for
them), woken as soon as a message is queued, else once a second. A message is claimed
with a conditional UPDATE (two watchers never send one together), sent, and marked
sent; a failure is kept on the row (`last_error`, shown on the page as "mail to …
failed: …") and tried again after a growing pause (BACKOFF, at most MAX_DELAY), for as
long as it takes: a message is never dropped. Messages about one alert to one target
go out in order (no "resolved" before its "fired"). A claim names its watcher: one left
by a watcher that has died is released at once (else when it expires), so a killed
watcher's message is sent by whoever takes over without waiting. Killed between a send
and its mark, that message is sent again: at least once, by design.
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from server_monitor.adapters import mail, push
from server_monitor.errors import DomainError
from server_monitor.models import AlertMessage
from server_monitor.workflows.alerts import lease, messages

logger = logging.getLogger("server_monitor.alerts")

FIRST_DELAY = 5.0  # seconds before the first retry; doubled each time
MAX_DELAY = 900.0
CLAIM = timedelta(minutes=2)  # a send (mail or push, with their own timeouts) ends well before
BATCH = 20
IDLE_WAIT = 1.0


@functools.lru_cache(maxsize=4)
def _targets(text: str) -> tuple[push.Target, ...]:
    return tuple(push.targets(text)) if text.strip() else ()


def push_targets() -> tuple[push.Target, ...]:
    return _targets(settings.WPDASH_ALERT_URLS)


def backoff(attempts: int) -> float:
    return float(min(MAX_DELAY, FIRST_DELAY * 2.0 ** max(0, attempts - 1)))


def deliver(message: AlertMessage) -> None:
    """Send one message now and record it sent the moment it was taken; DomainError
    (MailFailed, PushFailed) when it was not."""
    alert = message.alert
    subject, text = messages.title(alert, message.event), messages.body(alert, message.event)
    if message.channel == AlertMessage.Channel.EMAIL:
        mail.send(subject, text, list(settings.WPDASH_ALERT_EMAIL), accepted=lambda: _sent(message))
        return
    target = next((t for t in push_targets() if t.shown == message.target), None)
    if target is None:
        raise push.PushFailed("this push URL is no longer in WPDASH_ALERT_URLS")
    push.send(target, subject, text, failure=message.event != AlertMessage.Event.RESOLVED)
    _sent(message)


def _sent(message: AlertMessage) -> None:
    AlertMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), claimed_until=None)


def release_dead_claims(holder: str) -> None:
    """Claims of watchers that have died (a kill -9 mid-send) need not wait to expire."""
    now = timezone.now()
    claimed = AlertMessage.objects.filter(sent_at__isnull=True, claimed_until__gt=now).exclude(claimed_by=holder)
    for other in set(claimed.values_list("claimed_by", flat=True)):
        if lease.is_gone(other):
            claimed.filter(claimed_by=other).update(claimed_until=None)


def send_due(holder: str = "") -> int:
    """Send what is due now, in order, as watcher `holder`; the number of messages
    handled (sent or failed)."""
    release_dead_claims(holder)
    now = timezone.now()
    due = list(
        AlertMessage.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .select_related("alert")
        .order_by("id")[:BATCH]
    )
    handled = 0
    blocked: set[tuple[int, str, str]] = set()
    for message in due:
        lane = (message.alert_id, message.channel, message.target)
        if lane in blocked or _earlier_unsent(message):
            blocked.add(lane)
            continue
        claimed = AlertMessage.objects.filter(pk=message.pk, sent_at__isnull=True).exclude(claimed_until__gt=now)
        if not claimed.update(claimed_until=now + CLAIM, claimed_by=holder):
            continue  # another sender has it
        handled += 1
        try:
            deliver(message)
        except DomainError as error:
            blocked.add(lane)
            _failed(message, error.detail)
        else:
            logger.info(
                "%s of alert #%s %s to %s", message.get_event_display(), message.alert_id, "sent", message.target
            )
    return handled


def _earlier_unsent(message: AlertMessage) -> bool:
    return AlertMessage.objects.filter(
        alert_id=message.alert_id,
        channel=message.channel,
        target=message.target,
        sent_at__isnull=True,
        id__lt=message.pk,
    ).exists()


def _failed(message: AlertMessage, reason: str) -> None:
    attempts = message.attempts + 1
    delay = backoff(attempts)
    now = timezone.now()
    AlertMessage.objects.filter(pk=message.pk).update(
        attempts=attempts,
        last_error=reason[:1000],
        last_error_at=now,
        next_attempt_at=now + timedelta(seconds=delay),
        claimed_until=None,
    )
    logger.warning(
        "%s to %s failed (alert #%s, try %s): %s; trying again in %.0f s",
        message.get_channel_display(),
        message.target,
        message.alert_id,
        attempts,
        reason,
        delay,
    )


class Sender:
    """The sending thread of a watcher that holds the lease."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wpdash-alert-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the message being sent (mail and push time out on their own)."""
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.wake.clear()
                try:
                    busy = send_due(self.holder) > 0
                except DatabaseError as error:
                    logger.warning("the alert sender cannot read its queue now: %s", error)
                    busy = False
                except Exception:
                    logger.exception("the alert sender failed; going on")
                    busy = False
                if not busy:
                    self.wake.wait(IDLE_WAIT)
        finally:
            connections.close_all()

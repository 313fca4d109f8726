"""Messages reach a real SMTP server (aiosmtpd) and a real HTTP endpoint through Apprise's
json:// URL; a failure is kept, retried with backoff, never dropped, and never shows a secret."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from server_monitor.models import AlertMessage
from server_monitor.workflows.alerts import episodes, outbox
from server_monitor.workflows.alerts.rules.base import Finding
from tests.support.receivers import webhook_receiver
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db

FAILED = Finding(
    "php8.2-fpm",
    "critical",
    "php8.2-fpm has failed (failed (failed))",
    {"unit": "php8.2-fpm.service", "journal": ["2026-12-05 17:00:07 php-fpm8.2[604]: ERROR: unable to bind"]},
)


def fire():
    return episodes.open_episode("unit-failed", FAILED)


def due_now():
    AlertMessage.objects.update(next_attempt_at=timezone.now())


def test_the_firing_mail_carries_the_summary_the_evidence_and_a_link(mailbox, settings):
    settings.WPDASH_PUBLIC_URL = "https://dash.example.com"
    alert = fire()

    assert outbox.send_due() == 1

    [subject] = mailbox.wait_for(1)
    [body] = mailbox.bodies()
    assert subject == "[wpdash] FIRING critical: php8.2-fpm has failed (failed (failed))"
    assert "ERROR: unable to bind" in body
    assert f"Dashboard: https://dash.example.com/#alert-{alert.pk}" in body
    assert mailbox.messages[0]["To"] == "ops@example.org"
    assert AlertMessage.objects.get().sent_at is not None
    assert outbox.send_due() == 0  # sent once


def test_the_push_reaches_a_webhook_through_apprise(mailbox, hook):
    fire()

    outbox.send_due()

    [title] = hook.wait_for(1)
    assert title == "[wpdash] FIRING critical: php8.2-fpm has failed (failed (failed))"
    assert "ERROR: unable to bind" in hook.posts[0]["message"]
    assert hook.posts[0]["type"] == "failure"
    assert AlertMessage.objects.get(channel="push").target == f"json://127.0.0.1:{hook.port}/…"


def test_a_mail_server_that_is_down_is_retried_with_backoff_and_the_mail_arrives_later(settings):
    from tests.support.receivers import smtp_server

    port = free_port()
    settings.EMAIL_PORT = port
    fire()

    outbox.send_due()
    message = AlertMessage.objects.get()
    assert message.sent_at is None and message.attempts == 1
    assert message.last_error == f"127.0.0.1:{port}: Connection refused"
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=3)
    assert outbox.send_due() == 0  # not due yet: backoff

    due_now()
    outbox.send_due()
    assert AlertMessage.objects.get().attempts == 2
    assert AlertMessage.objects.get().next_attempt_at - AlertMessage.objects.get().last_error_at >= timedelta(seconds=9)

    with smtp_server() as box:
        settings.EMAIL_PORT = box.port
        due_now()
        outbox.send_due()
        box.wait_for(1)
    assert AlertMessage.objects.get().sent_at is not None


def test_resolved_never_overtakes_fired_to_the_same_target(settings):
    from tests.support.receivers import smtp_server

    settings.EMAIL_PORT = free_port()
    alert = fire()
    outbox.send_due()  # fails: nobody listens
    episodes.resolve(alert)

    with smtp_server() as box:
        settings.EMAIL_PORT = box.port
        outbox.send_due()  # the fired one is not due yet, so the resolved one waits too
        assert box.messages == []
        due_now()
        outbox.send_due()
        outbox.send_due()
        subjects = box.wait_for(2)
    assert [subject.split()[1] for subject in subjects] == ["FIRING", "RESOLVED"]


def test_a_push_url_secret_never_reaches_the_row_the_page_or_the_log(settings, caplog):
    settings.WPDASH_ALERT_EMAIL = []
    secret = "s3cr3t-t0ken-123"
    with webhook_receiver(answer=lambda: 503) as refusing:
        settings.WPDASH_ALERT_URLS = f"json://alerts:{secret}@127.0.0.1:{refusing.port}/hook/{secret}"
        outbox._targets.cache_clear()
        caplog.set_level(logging.DEBUG, logger="server_monitor")  # wpdash's own, at its chattiest
        fire()
        outbox.send_due()

    message = AlertMessage.objects.get()
    assert message.sent_at is None and message.attempts == 1
    assert message.last_error  # Apprise's reason, kept for the page
    for text in (message.target, message.last_error, caplog.text):
        assert secret not in text
    assert "****" in message.target


def test_an_apprise_url_it_does_not_know_stops_the_watcher_in_one_line_without_the_rest(tmp_path):
    from tests.support.servers import clean_environ, run_manage

    env = clean_environ(WPDASH_DATA_DIR=str(tmp_path), WPDASH_ALERT_URLS="nosuchservice://user:hunter2@example.org/x")

    result = run_manage(env, "watch")

    assert result.returncode == 78
    assert result.stderr == "WPDASH_ALERT_URLS: URL 1 (scheme 'nosuchservice') is not an Apprise URL.\n"


def test_a_message_claimed_by_a_watcher_that_died_is_sent_at_once_and_a_living_ones_claim_is_kept(mailbox):
    from server_monitor.workflows.alerts import lease
    from server_monitor.workflows.runners import this_host

    fire()
    claim = timezone.now() + timedelta(minutes=2)
    AlertMessage.objects.update(claimed_until=claim, claimed_by=lease.me())  # alive: this very process
    assert outbox.send_due("the standby") == 0

    AlertMessage.objects.update(claimed_by=f"{this_host()} pid 999999999 started 12.00")  # killed mid-send
    assert outbox.send_due("the standby") == 1
    mailbox.wait_for(1)

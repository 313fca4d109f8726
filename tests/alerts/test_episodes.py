"""An alert's life: one row per episode, deduplicated while firing, resolved once clear,
silences recorded but not sent, reminders, and log matches folded into one episode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from server_monitor.models import Alert, AlertMessage, AlertSilence
from server_monitor.workflows.alerts import episodes
from server_monitor.workflows.alerts.rules.base import Finding

pytestmark = pytest.mark.django_db

FAILED = Finding("nginx", "critical", "nginx has failed (failed (failed))", {"unit": "nginx.service"})


def events(alert=None):
    rows = AlertMessage.objects.order_by("id")
    if alert is not None:
        rows = rows.filter(alert=alert)
    return [(row.event, row.channel) for row in rows]


def age(alert, **changes):
    """Move an episode's moments back in time, as if the watcher had looked earlier."""
    Alert.objects.filter(pk=alert.pk).update(**changes)


def test_a_condition_seen_on_every_tick_is_one_episode_with_one_message():
    for _tick in range(5):
        episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)

    [alert] = Alert.objects.all()
    assert (alert.rule, alert.subject, alert.state, alert.severity) == ("unit-failed", "nginx", "firing", "critical")
    assert events() == [("fired", "email")]


def test_two_watchers_opening_the_same_episode_make_one_row():
    first = episodes.open_episode("unit-failed", FAILED)
    second = episodes.open_episode("unit-failed", FAILED)

    assert first is not None and second is None
    assert Alert.objects.count() == 1 and events() == [("fired", "email")]


def test_an_episode_resolves_once_clear_for_the_clear_time_and_says_so_once():
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
    episodes.reconcile("unit-failed", [], clear_seconds=30)
    episodes.reconcile("unit-failed", [], clear_seconds=30)
    [alert] = Alert.objects.all()
    assert alert.state == "firing" and alert.clear_since is not None  # clear twice, not yet long enough

    age(alert, clear_since=timezone.now() - timedelta(seconds=31))
    episodes.reconcile("unit-failed", [], clear_seconds=30)
    episodes.reconcile("unit-failed", [], clear_seconds=30)

    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_at is not None and alert.firing_key is None
    assert events() == [("fired", "email"), ("resolved", "email")]


def test_a_flapping_unit_is_one_episode_not_a_message_per_flap():
    for _flap in range(6):
        episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
        episodes.reconcile("unit-failed", [], clear_seconds=30)  # back for a moment

    assert Alert.objects.count() == 1
    assert events() == [("fired", "email")]


def test_the_next_failure_after_a_resolution_is_a_new_episode():
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=0)
    episodes.reconcile("unit-failed", [], clear_seconds=0)
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=0)

    assert list(Alert.objects.order_by("id").values_list("state", flat=True)) == ["resolved", "firing"]
    assert [event for event, _ in events()] == ["fired", "resolved", "fired"]


def test_an_episode_is_opened_with_the_rules_evidence_gathered_once():
    calls = []

    def enrich(finding):
        calls.append(finding.subject)
        return Finding(finding.subject, finding.severity, finding.summary, {**finding.evidence, "journal": ["x"]})

    for _tick in range(3):
        episodes.reconcile("unit-failed", [FAILED], clear_seconds=30, enrich=enrich)

    assert calls == ["nginx"]
    assert Alert.objects.get().evidence == {"unit": "nginx.service", "journal": ["x"]}


def test_a_silenced_alert_is_recorded_but_not_sent_and_goes_out_when_the_silence_ends(superuser):
    silence = AlertSilence.objects.create(
        rule="unit-failed", until=timezone.now() + timedelta(hours=1), created_by=superuser
    )
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
    episodes.remind()
    [alert] = Alert.objects.all()
    assert alert.state == "firing" and alert.notified_at is None and events() == []

    AlertSilence.objects.filter(pk=silence.pk).update(ended_at=timezone.now(), ended_by=superuser)
    episodes.remind()
    episodes.remind()

    assert events() == [("fired", "email")]


def test_a_silence_of_another_subject_does_not_hold_this_one_back(superuser):
    AlertSilence.objects.create(subject="php8.2-fpm", until=timezone.now() + timedelta(hours=1), created_by=superuser)
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
    assert events() == [("fired", "email")]


def test_an_alert_still_firing_is_sent_again_after_the_renotify_interval(settings):
    settings.WPDASH_ALERT_RENOTIFY_MINUTES = 60
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
    episodes.remind()
    assert events() == [("fired", "email")]

    age(Alert.objects.get(), notified_at=timezone.now() - timedelta(minutes=61))
    episodes.remind()
    episodes.remind()

    assert events() == [("fired", "email"), ("reminder", "email")]


def test_no_reminder_when_renotify_is_off(settings):
    settings.WPDASH_ALERT_RENOTIFY_MINUTES = 0
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
    age(Alert.objects.get(), notified_at=timezone.now() - timedelta(days=3))
    episodes.remind()
    assert events() == [("fired", "email")]


def test_matching_log_lines_extend_one_episode_and_a_line_read_twice_counts_once():
    episodes.log_match("php-fatal", "warning", "php-fpm", "PHP Fatal error", ["PHP Fatal error: one"])
    episodes.log_match(
        "php-fatal", "warning", "php-fpm", "PHP Fatal error", ["PHP Fatal error: one", "PHP Fatal error: two"]
    )

    [alert] = Alert.objects.all()
    assert alert.summary == '1 line of php-fpm matched "PHP Fatal error": PHP Fatal error: one'
    assert alert.evidence["lines"] == ["PHP Fatal error: one", "PHP Fatal error: two"]
    assert alert.evidence["matches"] == 2
    assert events() == [("fired", "email")]


def test_a_quiet_log_pattern_episode_resolves():
    episodes.log_match("php-fatal", "warning", "php-fpm", "PHP Fatal error", ["PHP Fatal error: one"])
    episodes.resolve_quiet(["php-fatal"], quiet_seconds=300)
    assert Alert.objects.get().state == "firing"

    age(Alert.objects.get(), last_seen_at=timezone.now() - timedelta(seconds=301))
    episodes.resolve_quiet(["php-fatal"], quiet_seconds=300)

    assert Alert.objects.get().state == "resolved"
    assert events() == [("fired", "email"), ("resolved", "email")]


def test_nobody_to_tell_still_records_the_alert(settings):
    settings.WPDASH_ALERT_EMAIL = []
    episodes.reconcile("unit-failed", [FAILED], clear_seconds=30)
    assert Alert.objects.count() == 1 and events() == []

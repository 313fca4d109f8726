"""The alerts on the status page (firing ones at the top, evidence one click away, nothing
when all is well, failed deliveries said), in the admin (read-only; silences through the
workflow), and the disk's days-left beside its card."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from server_monitor.caching import clear_all
from server_monitor.models import Alert, AlertMessage, AlertSilence
from server_monitor.workflows import metrics
from server_monitor.workflows.alerts import disk_trend, episodes
from server_monitor.workflows.alerts.rules.base import Finding
from tests.support.users import user_with

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_metrics(settings, tmp_path):
    settings.WPDASH_METRICS_SOURCE = "local"
    settings.WPDASH_LOGS = {"nginx-error": str(tmp_path / "error.log")}
    metrics.reset()
    clear_all()
    yield
    metrics.reset()


def page(user, path="/"):
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def alerts_part(html):
    match = re.search(
        r'<div data-fragment="alerts"[^>]*>(.*?)</div>\s*\n\s*'
        r'(?:<div data-fragment="approvals"|<section class="section" id="health")',
        html,
        re.S,
    )
    assert match, "no alerts fragment where the page starts"
    return match.group(1)


def test_nothing_is_shown_when_all_is_well(fake_systemd, viewer):
    assert alerts_part(page(viewer)).strip() == ""


def test_a_firing_alert_is_at_the_top_with_its_evidence_one_click_away(fake_systemd, viewer):
    episodes.open_episode(
        "unit-failed",
        Finding("nginx", "critical", "nginx has failed (failed (failed))", {"journal": ["nginx[604]: [emerg] bad"]}),
    )

    part = alerts_part(page(viewer))

    assert "nginx has failed (failed (failed))" in part
    assert re.search(
        r"<details><summary>Evidence</summary><pre[^>]*>journal:\n  nginx\[604\]: \[emerg\] bad</pre>", part
    )
    assert "critical" in part


def test_a_resolved_alert_leaves_the_top_of_the_page(fake_systemd, viewer):
    alert = episodes.open_episode("unit-failed", Finding("nginx", "critical", "nginx has failed", {}))
    episodes.resolve(alert)
    assert alerts_part(page(viewer)).strip() == ""


def test_a_message_that_could_not_be_sent_is_said_on_the_page(fake_systemd, viewer):
    alert = episodes.open_episode("unit-failed", Finding("nginx", "critical", "nginx has failed", {}))
    AlertMessage.objects.filter(alert=alert).update(
        attempts=2, last_error="127.0.0.1:25: Connection refused", last_error_at=timezone.now()
    )

    part = alerts_part(page(viewer))

    assert "mail to ops@example.org failed: 127.0.0.1:25: Connection refused" in part


def test_the_fragment_refreshes_on_its_own_url(fake_systemd, viewer):
    episodes.open_episode("certificate", Finding("/etc/ssl/a.pem", "warning", "certificate for a expires", {}))
    assert "certificate for a expires" in page(viewer, "/fragments/alerts")


def test_the_disk_card_says_when_the_disk_will_be_full(fake_systemd, viewer, monkeypatch):
    monkeypatch.setattr(disk_trend, "current", lambda: disk_trend.DiskForecast(81.0, 3.8, 5.0, 6))
    html = page(viewer)
    assert re.search(
        r'data-metric="disk".*?data-disk-days-left>Full in about 5.0 days at the last 6 h\'s rate', html, re.S
    )

    monkeypatch.setattr(disk_trend, "current", lambda: disk_trend.DiskForecast(81.0, -0.2, None, 6))
    assert "Not filling up (last 6 h)" in page(viewer, "/fragments/metrics")


def test_the_admin_shows_alerts_read_only(superuser):
    alert = episodes.open_episode("unit-failed", Finding("nginx", "critical", "nginx has failed", {"unit": "x"}))
    client = Client()
    client.force_login(superuser)

    assert client.get("/admin/server_monitor/alert/").status_code == 200
    detail = client.get(f"/admin/server_monitor/alert/{alert.pk}/change/")
    assert detail.status_code == 200 and "nginx has failed" in detail.content.decode()
    assert client.get("/admin/server_monitor/alert/add/").status_code == 403
    assert client.post(f"/admin/server_monitor/alert/{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_a_silence_made_in_the_admin_records_who_made_it(db):
    ops = user_with("ops", "silence_alerts", is_staff=True)
    ops.user_permissions.add(Permission.objects.get(codename="view_alertsilence"))
    client = Client()
    client.force_login(ops)
    until = timezone.localtime(timezone.now() + timedelta(hours=3))

    answer = client.post(
        "/admin/server_monitor/alertsilence/add/",
        {
            "rule": "security-updates",
            "subject": "",
            "until_0": until.strftime("%Y-%m-%d"),
            "until_1": until.strftime("%H:%M:%S"),
            "reason": "kernel next week",
        },
    )

    assert answer.status_code == 302, answer.content.decode()[:2000]
    [silence] = AlertSilence.objects.all()
    assert (silence.rule, silence.created_by, silence.reason) == ("security-updates", ops, "kernel next week")

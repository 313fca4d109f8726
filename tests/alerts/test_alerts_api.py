"""GET /api/v1/server/alerts and the silences: shapes, filters, who may, and the audit of silences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from server_monitor.models import Alert, AlertSilence
from server_monitor.workflows.alerts import episodes
from server_monitor.workflows.alerts.rules.base import Finding
from tests.support.users import user_with

pytestmark = pytest.mark.django_db

FIELDS = {"id", "rule", "subject", "severity", "state", "started_at", "resolved_at", "summary", "evidence"}


@pytest.fixture
def alerts():
    old = episodes.open_episode(
        "unit-failed", Finding("nginx", "critical", "nginx has failed", {"unit": "nginx.service"})
    )
    episodes.resolve(old)
    Alert.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(hours=2))
    new = episodes.open_episode(
        "php-fatal", Finding("php-fpm", "warning", "1 line of php-fpm matched", {"lines": ["PHP Fatal error: x"]})
    )
    return old, new


def test_alerts_are_listed_newest_first_with_exactly_the_agreed_fields(viewer_client, alerts):
    old, new = alerts
    answer = viewer_client.get("/api/v1/server/alerts")

    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [row["id"] for row in results] == [new.pk, old.pk]
    assert all(set(row) == FIELDS for row in results)
    assert results[0]["evidence"] == {"lines": ["PHP Fatal error: x"]}
    assert results[1]["state"] == "resolved" and results[1]["resolved_at"] is not None


def test_alerts_filter_by_state_and_refuse_an_unknown_one(viewer_client, alerts):
    old, new = alerts
    assert [row["id"] for row in viewer_client.get("/api/v1/server/alerts?state=firing").json()["results"]] == [new.pk]
    assert [row["id"] for row in viewer_client.get("/api/v1/server/alerts?state=resolved").json()["results"]] == [
        old.pk
    ]
    assert viewer_client.get("/api/v1/server/alerts?state=burning").status_code == 400


def test_alerts_are_paginated_like_restarts(viewer_client, settings):
    for index in range(55):
        episodes.open_episode("certificate", Finding(f"/etc/ssl/{index}.pem", "warning", f"cert {index}", {}))
    first = viewer_client.get("/api/v1/server/alerts").json()
    assert first["count"] == 55 and len(first["results"]) == 50 and first["next"].endswith("?page=2")
    assert len(viewer_client.get(first["next"]).json()["results"]) == 5


def test_one_alert_and_a_missing_one(viewer_client, alerts):
    _, new = alerts
    assert viewer_client.get(f"/api/v1/server/alerts/{new.pk}").json()["rule"] == "php-fatal"
    assert viewer_client.get("/api/v1/server/alerts/999999").status_code == 404


def test_alerts_need_a_sign_in_and_cannot_be_changed(anonymous_client, viewer_client, alerts):
    _, new = alerts
    assert anonymous_client.get("/api/v1/server/alerts").status_code == 401
    assert viewer_client.post("/api/v1/server/alerts", {}).status_code == 405
    assert viewer_client.delete(f"/api/v1/server/alerts/{new.pk}").status_code == 405


def until(hours=1):
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_a_silence_needs_the_permission(viewer_client):
    answer = viewer_client.post("/api/v1/server/silences", {"rule": "unit-failed", "until": until()}, format="json")
    assert answer.status_code == 403
    assert answer.json() == {"detail": "You do not have the permission to silence alerts."}
    assert AlertSilence.objects.count() == 0


def test_a_silence_is_recorded_with_who_and_when_and_can_be_ended_early(signed_in):
    ops = user_with("ops", "silence_alerts")
    client = signed_in(ops)

    made = client.post(
        "/api/v1/server/silences",
        {"subject": "php8.2-fpm", "until": until(2), "reason": "upgrading PHP"},
        format="json",
    )
    assert made.status_code == 201
    body = made.json()
    assert (body["rule"], body["subject"], body["created_by"], body["reason"]) == (
        "",
        "php8.2-fpm",
        "ops",
        "upgrading PHP",
    )
    assert episodes.silenced("unit-failed", "php8.2-fpm") and not episodes.silenced("unit-failed", "nginx")

    ended = client.post(f"/api/v1/server/silences/{body['id']}/end")
    assert ended.status_code == 200 and ended.json()["ended_by"] == "ops" and ended.json()["ended_at"]
    assert not episodes.silenced("unit-failed", "php8.2-fpm")
    assert client.get("/api/v1/server/silences").json()["results"][0]["id"] == body["id"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"until": "2099-01-01T00:00:00Z"}, "Name a rule, a subject, or both"),
        ({"rule": "unit-failed", "until": "2000-01-01T00:00:00Z"}, "until must be in the future"),
        ({"rule": "unit-failed", "until": "2099-01-01T00:00:00Z"}, "within 90 days"),
    ],
)
def test_a_silence_that_says_nothing_or_never_ends_is_refused(signed_in, body, why):
    answer = signed_in(user_with("ops", "silence_alerts")).post("/api/v1/server/silences", body, format="json")
    assert answer.status_code == 400 and why in answer.json()["detail"]
    assert AlertSilence.objects.count() == 0


def test_the_api_root_links_alerts_and_silences(viewer_client):
    links = viewer_client.get("/api/v1/").json()
    assert links["alerts"].endswith("/api/v1/server/alerts/") or links["alerts"].endswith("/api/v1/server/alerts")
    assert "silences" in links

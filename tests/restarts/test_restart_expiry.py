"""A request waiting for approval expires after WPDASH_RESTART_APPROVAL_MINUTES: an approval
hours later must not restart a service at once, and the row says it expired, and when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from server_monitor.models import RestartAction
from server_monitor.workflows import pending, restart
from server_monitor.workflows.restart import RequestExpired

Status = RestartAction.Status


@pytest.fixture(autouse=True)
def approval_mode(settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = True
    settings.WPDASH_RESTART_APPROVAL_MINUTES = 60
    settings.TIME_ZONE = "UTC"


def requested(operator, name: str = "nginx", minutes_ago: float = 0) -> RestartAction:
    action = restart.request_restart(name, operator, "192.0.2.7").action
    if minutes_ago:
        RestartAction.objects.filter(pk=action.pk).update(requested_at=timezone.now() - timedelta(minutes=minutes_ago))
    return RestartAction.objects.get(pk=action.pk)


def test_an_approval_after_expiry_restarts_nothing_and_says_the_request_expired(operator, approver, fake_systemd):
    action = requested(operator, minutes_ago=61)

    with pytest.raises(RequestExpired) as refused:
        restart.approve(action.pk, approver, "192.0.2.8")

    assert fake_systemd.restarts() == []
    ended = action.requested_at + timedelta(minutes=60)
    assert refused.value.detail == (
        f"Restart #{action.pk} of nginx expired at {ended:%Y-%m-%d %H:%M} UTC: not approved within 60 minutes; "
        "nothing was restarted. Ask for a new restart if it is still needed."
    )
    row = RestartAction.objects.get(pk=action.pk)
    assert (row.status, row.finished_at, row.lock, row.approved_by) == (Status.EXPIRED, ended, None, None)


def test_an_approval_within_the_time_runs(operator, approver, fake_systemd):
    action = requested(operator, minutes_ago=59)

    outcome = restart.approve(action.pk, approver, "192.0.2.8")

    assert outcome.action.status == Status.SUCCEEDED
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]


def test_the_time_is_the_setting(operator, approver, fake_systemd, settings):
    settings.WPDASH_RESTART_APPROVAL_MINUTES = 5
    action = requested(operator, minutes_ago=6)

    with pytest.raises(RequestExpired):
        restart.approve(action.pk, approver, "192.0.2.8")
    assert fake_systemd.restarts() == []


def test_rejecting_or_withdrawing_an_expired_request_is_refused_as_expired(operator, approver):
    action = requested(operator, minutes_ago=120)

    with pytest.raises(RequestExpired):
        restart.reject(action.pk, approver, "192.0.2.8", "too late anyway")
    with pytest.raises(RequestExpired):
        restart.withdraw(action.pk, operator, "192.0.2.7")
    assert RestartAction.objects.get(pk=action.pk).status == Status.EXPIRED


def test_an_expired_request_frees_the_unit_for_a_new_one(operator):
    old = requested(operator, minutes_ago=61)

    new = restart.request_restart("nginx", operator, "192.0.2.7").action

    assert new.pk != old.pk and new.status == Status.PENDING
    assert RestartAction.objects.get(pk=old.pk).status == Status.EXPIRED


def test_an_approval_that_loses_the_race_to_the_expiry_runs_nothing(operator, approver, fake_systemd):
    # The expiry has not closed the row yet (nobody looked), but its time is up: the claim's
    # own condition refuses it, whatever closes the row first.
    action = requested(operator, minutes_ago=61)
    claimed = restart.audit.transition(
        action, Status.PENDING, awaiting_approval=True, requested_after=pending.fresh_since(), status=Status.RUNNING
    )

    assert claimed is False
    assert RestartAction.objects.get(pk=action.pk).status == Status.PENDING
    assert fake_systemd.restarts() == []


def test_expiry_closes_only_overdue_requests_awaiting_approval(operator, superuser):
    fresh = requested(operator, "redis-server", minutes_ago=30)
    overdue = requested(operator, "nginx", minutes_ago=61)  # its request expired nothing: it was made fresh

    closed = pending.expire_overdue()

    assert [action.pk for action in closed] == [overdue.pk]
    assert RestartAction.objects.get(pk=fresh.pk).status == Status.PENDING
    assert pending.expire_overdue() == []  # once


def test_an_expired_row_reads_expired_in_the_api_with_its_time(signed_in, operator, viewer):
    action = requested(operator, minutes_ago=61)

    body = signed_in(viewer).get(f"/api/v1/server/restarts/{action.pk}").json()

    assert body["status"] == "expired"
    assert body["expires_at"] is None
    assert body["message"].startswith("Restart of nginx expired at ")
    assert "not approved within 60 minutes; nothing was restarted" in body["message"]


def test_a_pending_row_says_when_it_expires(signed_in, operator, viewer):
    action = requested(operator)

    body = signed_in(viewer).get(f"/api/v1/server/restarts/{action.pk}").json()

    assert body["expires_at"] == (action.requested_at + timedelta(minutes=60)).isoformat().replace("+00:00", "Z")


def test_the_api_approve_after_expiry_answers_409(signed_in, operator, approver, fake_systemd):
    action = requested(operator, minutes_ago=61)

    response = signed_in(approver).post(f"/api/v1/server/restarts/{action.pk}/approve")

    assert response.status_code == 409
    assert response.json()["existing_action_id"] == action.pk
    assert "expired at" in response.json()["detail"]
    assert fake_systemd.restarts() == []


def test_the_watcher_expires_requests_nobody_looks_at(operator):
    from server_monitor.workflows.alerts.watcher import Watcher

    action = requested(operator, minutes_ago=61)
    watcher = Watcher(interval=1, tasks=[])
    watcher.leading, watcher.valid_until = True, float("inf")

    watcher._housekeeping()

    assert RestartAction.objects.get(pk=action.pk).status == Status.EXPIRED

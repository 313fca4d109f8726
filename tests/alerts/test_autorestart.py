"""The watchdog (WPDASH_AUTORESTART): a failed unit restarted through the audited restart as
"watchdog", at most 3 times in 15 minutes, then "gave up"; in approval mode it waits."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model

from server_monitor.models import RestartAction
from server_monitor.workflows.alerts import autorestart
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.units import AutorestartGaveUp, Watchdog

pytestmark = pytest.mark.django_db(transaction=True)  # the restarts run in the watchdog's threads


@pytest.fixture
def watched(fake_systemd, settings):
    settings.WPDASH_AUTORESTART = ["nginx"]
    fake_systemd.set("nginx.service", ActiveState="failed", SubState="failed", MainPID="0")
    return fake_systemd


def one_round():
    """What a tick does: the watchdog's step, then wait for its restart to finish."""
    Watchdog().evaluate(Facts(), set())
    deadline = time.monotonic() + 30
    while autorestart._in_flight and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_failed_unit_is_restarted_through_the_audit_as_the_watchdog(watched):
    one_round()

    [row] = RestartAction.objects.all()
    assert (row.service, row.requested_by.username, row.status) == ("nginx", "watchdog", "succeeded")
    assert watched.unit("nginx.service")["ActiveState"] == "active"
    watchdog = get_user_model().objects.get(username="watchdog")
    assert not watchdog.has_usable_password() and not watchdog.is_staff and not watchdog.is_superuser


def test_it_gives_up_after_three_restarts_in_fifteen_minutes_and_says_so(watched):
    watched.on_restart("nginx.service", mode="fail")
    for _round in range(5):
        one_round()

    assert RestartAction.objects.filter(requested_by__username="watchdog").count() == 3
    [finding] = AutorestartGaveUp().evaluate(Facts(), set())
    assert finding.subject == "nginx"
    assert finding.summary == "gave up on nginx: 3 restarts in 15 minutes did not bring it back"


def test_units_not_listed_are_left_alone(watched):
    watched.set("php8.2-fpm.service", ActiveState="failed", SubState="failed", MainPID="0")
    watched.set("nginx.service", ActiveState="active", SubState="running", MainPID="50")
    one_round()
    assert RestartAction.objects.count() == 0


def test_in_approval_mode_its_request_waits_like_anyones(watched, settings):
    settings.WPDASH_RESTART_APPROVAL = True
    one_round()
    one_round()

    [row] = RestartAction.objects.all()
    assert (row.status, row.requested_by.username) == ("pending", "watchdog")
    assert watched.restarts() == []


def test_a_person_named_watchdog_who_can_sign_in_is_not_acted_as(watched):
    get_user_model().objects.create_user("watchdog", password="a real person's password")
    one_round()
    assert RestartAction.objects.count() == 0

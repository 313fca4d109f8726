"""The status page's "Waiting for approval", without JavaScript: the list with who, when and
when it expires; plain forms (CSRF-checked) that approve, reject and withdraw, answered
with a redirect back and a message; expired rows say so, with the time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from server_monitor.models import RestartAction
from server_monitor.workflows import restart

Status = RestartAction.Status


@pytest.fixture(autouse=True)
def approval_mode(settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = True
    settings.WPDASH_METRICS_SOURCE = "local"
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def browser_of():
    """browser_of(user) -> a Django test client that checks CSRF, as a browser's form post is checked."""

    def make(user) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    return make


def csrf_post(client: Client, path: str, **data: str):
    client.get("/")  # the page sets the CSRF cookie, as it does for a browser
    return client.post(path, {"csrfmiddlewaretoken": client.cookies["csrftoken"].value, **data})


def requested(operator, name: str = "nginx") -> RestartAction:
    return restart.request_restart(name, operator, "192.0.2.7").action


def section(client: Client) -> str:
    return client.get("/fragments/approvals").content.decode()


def test_an_approver_sees_the_request_with_its_expiry_and_approve_and_reject(browser_of, operator, approver):
    action = requested(operator)

    html = section(browser_of(approver))

    expires = action.requested_at + timedelta(minutes=60)
    assert "Waiting for approval" in html and "1 pending" in html
    assert f'data-approval="{action.pk}"' in html
    assert "Requested by <strong>operator</strong>" in html
    assert f'datetime="{expires.isoformat()}"' in html
    assert f'action="/restarts/{action.pk}/approve"' in html
    assert f'action="/restarts/{action.pk}/reject"' in html
    assert f'action="/restarts/{action.pk}/withdraw"' not in html


def test_the_requester_sees_withdraw_and_not_approve(browser_of, operator):
    action = requested(operator)

    html = section(browser_of(operator))

    assert f'action="/restarts/{action.pk}/withdraw"' in html
    assert "/approve" not in html and "/reject" not in html


def test_someone_who_may_not_decide_only_sees_that_it_waits(browser_of, operator, viewer):
    requested(operator)

    html = section(browser_of(viewer))

    assert "Waiting for someone with the approve permission." in html
    assert "<form" not in html


def test_the_page_shows_the_section_at_the_top_and_nothing_when_nothing_waits(browser_of, operator, approver):
    client = browser_of(approver)
    assert "Waiting for approval" not in client.get("/").content.decode()

    requested(operator)
    page = client.get("/").content.decode()

    assert page.index("Waiting for approval") < page.index('id="metrics-title"')


def test_approving_with_the_plain_form_restarts_and_says_so(browser_of, operator, approver, fake_systemd):
    action = requested(operator)
    client = browser_of(approver)

    response = csrf_post(client, f"/restarts/{action.pk}/approve")

    assert (response.status_code, response["Location"]) == (302, "/")
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]
    page = client.get("/").content.decode()
    assert f"Service nginx restarted (audit #{action.pk})." in page
    assert RestartAction.objects.get(pk=action.pk).approved_by == approver


def test_a_form_post_without_the_csrf_token_is_refused_and_nothing_runs(browser_of, operator, approver, fake_systemd):
    action = requested(operator)

    response = browser_of(approver).post(f"/restarts/{action.pk}/approve")

    assert response.status_code == 403
    assert fake_systemd.restarts() == []
    assert RestartAction.objects.get(pk=action.pk).status == Status.PENDING


def test_rejecting_with_the_plain_form_keeps_the_reason(browser_of, operator, approver, fake_systemd):
    action = requested(operator)
    client = browser_of(approver)

    csrf_post(client, f"/restarts/{action.pk}/reject", reason="  not during the sale  ")

    row = RestartAction.objects.get(pk=action.pk)
    assert (row.status, row.rejected_by, row.rejection_reason) == (Status.REJECTED, approver, "not during the sale")
    assert f"Restart of nginx rejected (audit #{action.pk})." in client.get("/").content.decode()
    assert "rejected by <strong>approver</strong>: “not during the sale”" in section(client)
    assert fake_systemd.restarts() == []


def test_withdrawing_with_the_plain_form(browser_of, operator):
    action = requested(operator)
    client = browser_of(operator)

    csrf_post(client, f"/restarts/{action.pk}/withdraw")

    assert RestartAction.objects.get(pk=action.pk).status == Status.WITHDRAWN
    assert f"Restart of nginx withdrawn by operator (audit #{action.pk})." in client.get("/").content.decode()


def test_someone_else_withdrawing_is_403(browser_of, operator, approver):
    action = requested(operator)

    response = csrf_post(browser_of(approver), f"/restarts/{action.pk}/withdraw")

    assert response.status_code == 403
    assert RestartAction.objects.get(pk=action.pk).status == Status.PENDING


def test_an_approval_after_expiry_says_it_expired_and_restarts_nothing(browser_of, operator, approver, fake_systemd):
    action = requested(operator)
    RestartAction.objects.filter(pk=action.pk).update(requested_at=timezone.now() - timedelta(minutes=61))
    client = browser_of(approver)

    response = csrf_post(client, f"/restarts/{action.pk}/approve")

    assert response.status_code == 302
    assert fake_systemd.restarts() == []
    page = client.get("/").content.decode()
    assert f"Restart #{action.pk} of nginx expired at " in page
    assert "Ask for a new restart if it is still needed." in page


def test_an_expired_row_says_expired_with_the_time(browser_of, operator, approver):
    action = requested(operator)
    requested_at = timezone.now() - timedelta(minutes=61)
    RestartAction.objects.filter(pk=action.pk).update(requested_at=requested_at)

    html = section(browser_of(approver))

    ended = requested_at + timedelta(minutes=60)
    assert "none pending" in html
    assert '<span class="badge muted">expired</span>' in html
    assert f"Restart of nginx expired at {ended:%Y-%m-%d %H:%M} UTC" in html
    assert "/approve" not in html


def test_a_form_post_while_signed_out_goes_to_sign_in(client, operator, fake_systemd):
    action = requested(operator)

    response = client.post(f"/restarts/{action.pk}/approve")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert fake_systemd.restarts() == []


def test_without_approval_mode_the_page_neither_shows_nor_refreshes_the_section(browser_of, approver, settings):
    settings.WPDASH_RESTART_APPROVAL = False

    html = browser_of(approver).get("/").content.decode()

    assert 'data-fragment="approvals"' not in html  # no section, and no request every 10 s for it


def test_a_request_left_from_approval_mode_is_still_shown_after_it_is_turned_off(
    browser_of, operator, approver, settings
):
    action = requested(operator)
    settings.WPDASH_RESTART_APPROVAL = False

    html = browser_of(approver).get("/").content.decode()

    assert 'data-fragment="approvals"' in html and f'data-approval="{action.pk}"' in html

"""The restart audit in the Django admin: read-only, filterable, searchable, with approval actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from server_monitor.models import RestartAction

CHANGELIST = "/admin/server_monitor/restartaction/"


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def audit_row(user, service: str = "nginx", status: str = "succeeded", **fields) -> RestartAction:
    return RestartAction.objects.create(
        service=service, unit=f"{service}.service", command=f"systemctl restart -- {service}", requested_by=user,
        status=status, **fields,
    )  # fmt: skip


def listed(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def test_the_changelist_shows_status_badges_with_words(admin_client, operator):
    audit_row(operator, status="timed_out")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert b'<span class="wpdash-badge wpdash-badge--bad">timed out</span>' in response.content
    assert b"server_monitor/admin.css" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "failed"}, {"failed_nginx"}),
        ({"service": "redis-server"}, {"ok_redis"}),
        ({"q": "redis"}, {"ok_redis"}),
        ({"q": "approver"}, {"by_approver"}),
        ({"q": "203.0.113.7"}, {"failed_nginx"}),
    ],
)
def test_it_filters_and_searches_the_audit(admin_client, operator, approver, query, expected):
    rows = {
        "failed_nginx": audit_row(operator, status="failed", client_address="203.0.113.7"),
        "ok_redis": audit_row(operator, "redis-server"),
        "by_approver": audit_row(approver, "netdata"),
    }

    response = admin_client.get(CHANGELIST, query)

    assert response.status_code == 200
    assert listed(response) == {rows[name].pk for name in expected}


def test_it_filters_by_who_requested(admin_client, operator, approver):
    audit_row(operator)
    theirs = audit_row(approver)

    assert listed(admin_client.get(CHANGELIST, {"requested_by__id__exact": approver.pk})) == {theirs.pk}


def test_it_drills_down_by_date(admin_client, operator):
    today = audit_row(operator)
    audit_row(operator, requested_at=timezone.now() - timedelta(days=400))
    now = timezone.now()

    response = admin_client.get(CHANGELIST, {"requested_at__year": now.year, "requested_at__month": now.month})

    assert listed(response) == {today.pk}


def test_a_row_can_be_read_but_not_changed(admin_client, operator):
    row = audit_row(operator)
    url = f"{CHANGELIST}{row.pk}/change/"

    page = admin_client.get(url)
    posted = admin_client.post(url, {"status": "failed", "service": "evil"})

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"systemctl restart -- nginx" in page.content
    assert posted.status_code == 403
    assert RestartAction.objects.get().status == "succeeded"


def test_nothing_can_be_added_or_deleted(admin_client, operator):
    row = audit_row(operator)

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}, follow=True
    )
    assert b"No action selected." in bulk.content  # there is no such action here
    assert RestartAction.objects.filter(pk=row.pk).exists()
    assert b"delete_selected" not in admin_client.get(CHANGELIST).content


def test_staff_with_only_the_view_permission_reads_without_approval_actions(client, operator, db):
    staff = get_user_model().objects.create_user("auditor", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_restartaction"))
    client.force_login(staff)
    audit_row(operator)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert b"approve_selected" not in response.content


def test_approve_in_the_admin_runs_the_restart_like_the_api(admin_client, signed_in, operator, fake_systemd, settings):
    settings.WPDASH_RESTART_APPROVAL = True
    pending = signed_in(operator).post("/api/v1/server/services/nginx/restart").json()

    response = admin_client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [pending["id"]]}, follow=True
    )

    row = RestartAction.objects.get(pk=pending["id"])
    assert (row.status, row.approved_by.username, row.main_pid_after) == ("succeeded", "root", 1001)
    assert f"Restart #{row.pk} (nginx): succeeded." in response.content.decode()
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]


def test_reject_in_the_admin_records_who(admin_client, signed_in, operator, fake_systemd, settings):
    settings.WPDASH_RESTART_APPROVAL = True
    pending = signed_in(operator).post("/api/v1/server/services/nginx/restart").json()

    admin_client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [pending["id"]]})

    row = RestartAction.objects.get(pk=pending["id"])
    assert (row.status, row.rejected_by.username, row.rejection_reason) == (
        "rejected",
        "root",
        "rejected in the admin by root",
    )
    assert fake_systemd.restarts() == []


def test_the_admin_refuses_to_approve_ones_own_request(admin_client, superuser, fake_systemd, settings, signed_in):
    settings.WPDASH_RESTART_APPROVAL = True
    own = signed_in(superuser).post("/api/v1/server/services/nginx/restart").json()

    response = admin_client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [own["id"]]}, follow=True
    )

    assert "You cannot approve your own restart request" in response.content.decode()
    assert RestartAction.objects.get(pk=own["id"]).status == "pending"

"""Approval mode (WPDASH_RESTART_APPROVAL=on): a restart waits for a second person."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from server_monitor.models import RestartAction


@pytest.fixture(autouse=True)
def approval_mode(settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = True


def request_restart(client, name: str = "nginx"):
    return client.post(f"/api/v1/server/services/{name}/restart")


def approve(client, action_id: int):
    return client.post(f"/api/v1/server/restarts/{action_id}/approve")


def reject(client, action_id: int, **body):
    return client.post(f"/api/v1/server/restarts/{action_id}/reject", body, format="json")


def test_a_request_is_queued_with_202_and_nothing_runs(signed_in, operator, fake_systemd):
    response = request_restart(signed_in(operator))

    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert RestartAction.objects.get().lock == "nginx.service"
    assert fake_systemd.restarts() == []


def test_a_second_request_while_one_is_pending_gets_409(signed_in, operator, fake_systemd):
    client = signed_in(operator)
    first = request_restart(client).json()

    response = request_restart(client)

    assert (response.status_code, response.json()["existing_action_id"]) == (409, first["id"])
    assert response.json()["detail"] == "A restart of nginx is already pending."


def test_an_approver_approves_and_it_runs_at_once(signed_in, operator, approver, fake_systemd):
    pending = request_restart(signed_in(operator)).json()

    response = approve(signed_in(approver), pending["id"])

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["approved_by"], body["requested_by"]) == ("succeeded", "approver", "operator")
    assert (body["main_pid_before"], body["main_pid_after"]) == (337, 1001)
    assert body["approved_at"] is not None
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]


def test_an_approved_restart_that_fails_answers_503_with_the_action(signed_in, operator, approver, fake_systemd):
    fake_systemd.on_restart("nginx.service", "fail")
    pending = request_restart(signed_in(operator)).json()

    response = approve(signed_in(approver), pending["id"])

    assert (response.status_code, response.json()["status"]) == (503, "failed")


def test_nobody_approves_their_own_request(signed_in, operator, superuser, fake_systemd):
    operator.user_permissions.add(Permission.objects.get(codename="approve_restart"))
    for user in (operator, superuser):
        client = signed_in(user)
        pending = request_restart(client, "redis-server" if user == superuser else "nginx").json()

        response = approve(client, pending["id"])

        assert response.status_code == 403
        assert response.json() == {"detail": "You cannot approve your own restart request; another approver must."}
        assert RestartAction.objects.get(pk=pending["id"]).status == "pending"
    assert fake_systemd.restarts() == []


def test_approving_needs_the_approve_permission(signed_in, operator, viewer, fake_systemd):
    pending = request_restart(signed_in(operator)).json()

    assert approve(signed_in(viewer), pending["id"]).status_code == 403
    assert reject(signed_in(viewer), pending["id"]).status_code == 403
    assert RestartAction.objects.get().status == "pending"


def test_approving_twice_gives_409_the_second_time(signed_in, operator, approver, fake_systemd):
    pending = request_restart(signed_in(operator)).json()
    client = signed_in(approver)
    approve(client, pending["id"])

    response = approve(client, pending["id"])

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Restart #{pending['id']} is succeeded, not awaiting approval.",
        "existing_action_id": pending["id"],
    }
    assert len(fake_systemd.restarts()) == 1


def test_a_rejected_request_records_who_and_why_and_frees_the_unit(signed_in, operator, approver, fake_systemd):
    operator_client = signed_in(operator)
    pending = request_restart(operator_client).json()

    response = reject(signed_in(approver), pending["id"], reason="not during business hours")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["rejected_by"], body["rejection_reason"]) == (
        "rejected",
        "approver",
        "not during business hours",
    )
    assert reject(signed_in(approver), pending["id"]).status_code == 409
    assert approve(signed_in(approver), pending["id"]).status_code == 409
    assert request_restart(operator_client).status_code == 202  # the lock went with the rejection
    assert fake_systemd.restarts() == []


def test_a_reason_longer_than_1000_characters_is_refused(signed_in, operator, approver, fake_systemd):
    pending = request_restart(signed_in(operator)).json()

    assert reject(signed_in(approver), pending["id"], reason="x" * 1001).status_code == 400
    assert RestartAction.objects.get().status == "pending"


def test_an_unknown_restart_is_404(signed_in, approver, fake_systemd):
    assert approve(signed_in(approver), 999).status_code == 404
    assert reject(signed_in(approver), 999).status_code == 404


def test_a_row_an_immediate_restart_is_about_to_run_cannot_be_approved(signed_in, operator, approver, fake_systemd):
    # Immediate mode writes its row as pending with its runner set, for an instant.
    claimed = RestartAction.objects.create(
        service="nginx", unit="nginx.service", command="-", requested_by=operator, lock="nginx.service", runner_pid=1
    )

    assert approve(signed_in(approver), claimed.pk).status_code == 409
    assert reject(signed_in(approver), claimed.pk).status_code == 409

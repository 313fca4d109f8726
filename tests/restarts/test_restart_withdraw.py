"""The requester withdraws their own pending request; nobody else can, and only while it waits."""

from __future__ import annotations

import pytest

from server_monitor.errors import NotPermitted
from server_monitor.models import RestartAction
from server_monitor.workflows import restart
from server_monitor.workflows.restart import NotAwaitingApproval

Status = RestartAction.Status


@pytest.fixture(autouse=True)
def approval_mode(settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = True


def withdraw(client, action_id: int):
    return client.post(f"/api/v1/server/restarts/{action_id}/withdraw")


def test_the_requester_withdraws_and_the_row_records_when(signed_in, operator, fake_systemd):
    client = signed_in(operator)
    pending = client.post("/api/v1/server/services/nginx/restart").json()

    response = withdraw(client, pending["id"])

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["requested_by"], body["success"]) == ("withdrawn", "operator", True)
    assert body["message"] == "Restart of nginx withdrawn by operator"
    assert body["withdrawn_at"] is not None
    row = RestartAction.objects.get(pk=pending["id"])
    assert (row.lock, row.finished_at) == (None, row.withdrawn_at)
    assert fake_systemd.restarts() == []
    # The unit is free again: a new request is taken.
    assert client.post("/api/v1/server/services/nginx/restart").status_code == 202


def test_nobody_else_withdraws_it_not_even_an_approver_or_a_superuser(signed_in, operator, approver, superuser):
    pending = signed_in(operator).post("/api/v1/server/services/nginx/restart").json()

    for other in (approver, superuser):
        response = withdraw(signed_in(other), pending["id"])
        assert response.status_code == 403
        assert response.json() == {"detail": "Only the person who asked for a restart can withdraw it."}
    assert RestartAction.objects.get(pk=pending["id"]).status == Status.PENDING


def test_a_request_no_longer_pending_cannot_be_withdrawn(signed_in, operator, approver, fake_systemd):
    client = signed_in(operator)
    pending = client.post("/api/v1/server/services/nginx/restart").json()
    signed_in(approver).post(f"/api/v1/server/restarts/{pending['id']}/approve")

    response = withdraw(client, pending["id"])

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Restart #{pending['id']} is succeeded, not awaiting approval.",
        "existing_action_id": pending["id"],
    }


def test_withdrawing_twice_is_409_the_second_time(operator):
    action = restart.request_restart("nginx", operator, "192.0.2.7").action
    restart.withdraw(action.pk, operator, "192.0.2.7")

    with pytest.raises(NotAwaitingApproval):
        restart.withdraw(action.pk, operator, "192.0.2.7")


def test_an_immediate_mode_row_is_never_up_for_withdrawal(operator, settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = False
    done = restart.request_restart("nginx", operator, "192.0.2.7").action

    with pytest.raises(NotAwaitingApproval):
        restart.withdraw(done.pk, operator, "192.0.2.7")


def test_an_unknown_id_is_404_and_a_stranger_is_refused_before_the_status_is_looked_at(signed_in, operator, viewer):
    assert withdraw(signed_in(operator), 99999).status_code == 404
    action = restart.request_restart("nginx", operator, "192.0.2.7").action
    restart.withdraw(action.pk, operator, "192.0.2.7")
    with pytest.raises(NotPermitted):
        restart.withdraw(action.pk, viewer, "192.0.2.9")


def test_signed_out_is_401(anonymous_client, operator):
    action = restart.request_restart("nginx", operator, "192.0.2.7").action

    assert withdraw(anonymous_client, action.pk).status_code == 401
    assert RestartAction.objects.get(pk=action.pk).status == Status.PENDING

"""Every refused restart attempt, through the API or the no-JavaScript form, is in the
application log once, in the same words, with the user and address."""

from __future__ import annotations

import logging

import pytest

from server_monitor.models import RestartAction

LOGGER = "server_monitor.restarts"


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def refusals(log) -> list[str]:
    return [record.getMessage() for record in log.records if record.name == LOGGER and "refused" in record.getMessage()]


def test_a_name_outside_the_allowlist_is_logged_cut_short(signed_in, operator, fake_systemd, log):
    signed_in(operator).post("/api/v1/server/services/nginx%3Bid/restart")
    signed_in(operator).post(f"/api/v1/server/services/{'n' * 10240}/restart")

    assert refusals(log)[0] == "restart refused (not allowlisted): service='nginx;id' user=operator address=127.0.0.1"
    assert len(refusals(log)[1]) < 200


def test_a_missing_permission_is_logged(signed_in, viewer, fake_systemd, log):
    signed_in(viewer).post("/api/v1/server/services/nginx/restart")

    assert refusals(log) == ["restart refused (no restart permission): service='nginx' user=viewer address=127.0.0.1"]


def test_an_anonymous_attempt_is_logged(anonymous_client, fake_systemd, log):
    anonymous_client.post("/api/v1/server/services/nginx/restart")

    assert refusals(log) == ["restart refused (not signed in): service='nginx' user=anonymous address=127.0.0.1"]


def test_a_conflict_is_logged(signed_in, operator, viewer, fake_systemd, log):
    RestartAction.objects.create(
        service="nginx", unit="nginx.service", command="-", requested_by=viewer, lock="nginx.service"
    )

    signed_in(operator).post("/api/v1/server/services/nginx/restart", REMOTE_ADDR="203.0.113.9")

    assert refusals(log) == [
        "restart refused (already pending or running): service='nginx' user=operator address=203.0.113.9"
    ]


def test_an_approval_refused_is_logged(signed_in, operator, approver, viewer, fake_systemd, settings, log):
    settings.WPDASH_RESTART_APPROVAL = True
    pending = signed_in(operator).post("/api/v1/server/services/nginx/restart").json()

    signed_in(viewer).post(f"/api/v1/server/restarts/{pending['id']}/approve")

    assert refusals(log) == [
        f"restart refused (no approve permission): service='#{pending['id']}' user=viewer address=127.0.0.1"
    ]


def test_a_successful_restart_is_logged_with_its_outcome(signed_in, operator, fake_systemd, log):
    signed_in(operator).post("/api/v1/server/services/nginx/restart")

    messages = [record.getMessage() for record in log.records if record.name == LOGGER]
    assert messages[0].endswith("of nginx requested by operator from 127.0.0.1")
    assert "succeeded" in messages[-1]


# --- the no-JavaScript restart form logs its refusals like the API ---------------------


def test_an_anonymous_form_post_is_logged_and_sent_to_sign_in(client, fake_systemd, log):
    response = client.post("/services/nginx/restart", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/services/nginx/restart")
    assert refusals(log) == ["restart refused (not signed in): service='nginx' user=anonymous address=203.0.113.7"]
    assert fake_systemd.restarts() == []


def test_an_anonymous_look_at_the_confirmation_is_not_an_attempt(client, fake_systemd, log):
    assert client.get("/services/nginx/restart").status_code == 302
    assert refusals(log) == []


def test_a_viewer_and_an_unknown_name_are_logged(signed_in, viewer, operator, fake_systemd, log):
    assert signed_in(viewer).post("/services/nginx/restart").status_code == 403
    assert signed_in(operator).post("/services/nginx;id/restart").status_code == 404

    assert refusals(log) == [
        "restart refused (no restart permission): service='nginx' user=viewer address=127.0.0.1",
        "restart refused (not allowlisted): service='nginx;id' user=operator address=127.0.0.1",
    ]
    assert fake_systemd.restarts() == []


def test_a_conflict_through_the_form_is_logged(signed_in, operator, viewer, fake_systemd, log):
    RestartAction.objects.create(
        service="nginx", unit="nginx.service", command="-", requested_by=viewer, lock="nginx.service"
    )

    assert signed_in(operator).post("/services/nginx/restart").status_code == 302

    assert refusals(log) == [
        "restart refused (already pending or running): service='nginx' user=operator address=127.0.0.1"
    ]
    assert fake_systemd.restarts() == []

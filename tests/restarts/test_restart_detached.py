"""Which restarts answer first (workflows.detach), and how their outcome reaches the row.

A restart of a unit in WPDASH_PROXY_UNITS (nginx by default), asked through a proxy (a
forwarding header) or with WPDASH_HTTPS=on, is answered 202 with the running row and runs
in a thread of this process; every other restart runs inline as before. The database is
transactional here: the background thread has its own connection and must see the rows.
(tests/restarts/test_restart_behind_nginx.py does it through a real nginx.)
"""

from __future__ import annotations

import os

import pytest
from django.test import Client

from server_monitor.models import RestartAction
from tests.support.servers import wait_until

RESTART = "/api/v1/server/services/{}/restart"
THROUGH_NGINX = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "HTTP_X_FORWARDED_PROTO": "https"}


def ended(action_id: int) -> RestartAction:
    wait_until(
        lambda: RestartAction.objects.get(pk=action_id).status != "running",
        timeout=30,
        message=f"restart #{action_id} to end",
    )
    return RestartAction.objects.get(pk=action_id)


@pytest.fixture
def client_of(transactional_db, signed_in):
    return signed_in


@pytest.mark.parametrize("header", list(THROUGH_NGINX))
def test_a_restart_of_nginx_through_a_proxy_answers_first_and_ends_in_the_row(
    client_of, operator, fake_systemd, header
):
    response = client_of(operator).post(RESTART.format("nginx"), **{header: THROUGH_NGINX[header]})

    assert response.status_code == 202
    body = response.json()
    assert (body["success"], body["status"]) == (True, "running")
    assert body["message"].startswith("Restarting nginx: this request came through nginx")
    assert f"restart #{body['id']} (GET /api/v1/server/restarts/{body['id']}" in body["message"]
    row = ended(body["id"])
    assert (row.status, row.main_pid_before, row.main_pid_after) == ("succeeded", 337, 1001)
    assert row.runner_pid == os.getpid()  # this process ran it: a crash midway is recovered as interrupted
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]
    shown = client_of(operator).get(f"/api/v1/server/restarts/{body['id']}").json()
    assert (shown["status"], shown["message"]) == ("succeeded", "Service nginx restarted")


def test_with_https_on_a_restart_of_nginx_answers_first_without_any_header(client_of, operator, fake_systemd, settings):
    settings.HTTPS = True  # TLS ends in the proxy in front: every request came through it

    response = client_of(operator).post(RESTART.format("nginx"))

    assert (response.status_code, response.json()["status"]) == (202, "running")
    assert ended(response.json()["id"]).status == "succeeded"


def test_without_a_proxy_a_restart_of_nginx_runs_inline(client_of, operator, fake_systemd):
    response = client_of(operator).post(RESTART.format("nginx"))

    assert (response.status_code, response.json()["status"]) == (200, "succeeded")


def test_other_units_run_inline_even_through_the_proxy(client_of, operator, fake_systemd):
    response = client_of(operator).post(RESTART.format("php8.2-fpm"), **THROUGH_NGINX)

    assert (response.status_code, response.json()["message"]) == (200, "Service php8.2-fpm restarted")


def test_the_proxy_units_are_a_setting(client_of, operator, fake_systemd, settings):
    settings.WPDASH_PROXY_UNITS = ["redis-server.service"]

    nginx = client_of(operator).post(RESTART.format("nginx"), **THROUGH_NGINX)
    redis = client_of(operator).post(RESTART.format("redis-server"), **THROUGH_NGINX)

    assert (nginx.status_code, redis.status_code) == (200, 202)
    assert ended(redis.json()["id"]).status == "succeeded"


def test_a_failed_restart_in_the_background_lands_in_the_row_with_its_message(client_of, operator, fake_systemd):
    fake_systemd.on_restart("nginx.service", "fail")

    response = client_of(operator).post(RESTART.format("nginx"), **THROUGH_NGINX)

    assert (response.status_code, response.json()["success"]) == (202, True)
    assert ended(response.json()["id"]).status == "failed"
    shown = client_of(operator).get(f"/api/v1/server/restarts/{response.json()['id']}").json()
    assert shown["message"].startswith("Restart of nginx failed: systemctl restart exited with 1")


def test_the_form_through_the_proxy_says_where_the_outcome_will_be(transactional_db, operator, fake_systemd):
    browser = Client()
    browser.force_login(operator)

    response = browser.post("/services/nginx/restart", follow=True, **THROUGH_NGINX)

    assert response.redirect_chain == [("/", 302)]
    [message] = list(response.context["messages"])
    assert message.level_tag == "info"
    assert message.message.startswith("Restarting nginx: this request came through nginx")
    assert ended(RestartAction.objects.get().pk).status == "succeeded"


def test_an_approval_through_the_proxy_answers_first(client_of, operator, approver, fake_systemd, settings):
    settings.WPDASH_RESTART_APPROVAL = True
    pending = client_of(operator).post(RESTART.format("nginx"), **THROUGH_NGINX).json()

    approved = client_of(approver).post(f"/api/v1/server/restarts/{pending['id']}/approve", **THROUGH_NGINX)

    assert (approved.status_code, approved.json()["status"], approved.json()["approved_by"]) == (
        202,
        "running",
        "approver",
    )
    assert ended(pending["id"]).status == "succeeded"


def test_an_approval_in_the_admin_through_the_proxy_says_where_the_outcome_will_be(
    transactional_db, signed_in, operator, superuser, fake_systemd, settings
):
    settings.WPDASH_RESTART_APPROVAL = True
    pending = signed_in(operator).post(RESTART.format("nginx")).json()
    admin = Client()
    admin.force_login(superuser)

    response = admin.post(
        "/admin/server_monitor/restartaction/",
        {"action": "approve_selected", "_selected_action": [pending["id"]]},
        follow=True,
        **THROUGH_NGINX,
    )

    assert f"Restart #{pending['id']} (nginx): Restarting nginx: this request came through nginx" in (
        response.content.decode()
    )
    assert ended(pending["id"]).status == "succeeded"

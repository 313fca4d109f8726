"""A requested service name is checked against the allowlist before anything runs."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from server_monitor.models import RestartAction
from tests.support.names import HOSTILE


def url(name: str, suffix: str = "") -> str:
    return f"/api/v1/server/services/{quote(name, safe='')}{suffix}"


@pytest.mark.parametrize("name", HOSTILE, ids=lambda name: repr(name)[:24])
def test_it_answers_400_to_a_hostile_name_and_runs_nothing(name, signed_in, operator, fake_systemd):
    client = signed_in(operator)

    shown = client.get(url(name))
    restarted = client.post(url(name, "/restart"))

    assert (shown.status_code, restarted.status_code) == (400, 400)
    assert shown.json() == {"detail": "This service is not in the allowlist (WPDASH_SERVICES)."}
    assert fake_systemd.invocations() == []
    assert not RestartAction.objects.exists()


def test_the_400_does_not_echo_the_name(signed_in, operator, fake_systemd):
    response = signed_in(operator).post(url("<script>alert(1)</script>", "/restart"))

    assert response.status_code == 400
    assert b"script" not in response.content


def test_a_name_that_ends_in_restart_is_still_just_a_name(signed_in, viewer, fake_systemd):
    # GET …/nginx/restart is the restart route (POST only), not a service called "nginx/restart".
    assert signed_in(viewer).get(url("nginx", "/restart")).status_code == 405

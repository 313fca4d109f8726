"""GET /api/v1/server/services and /services/{name}: what systemd says, or why it cannot."""

from __future__ import annotations

import subprocess

import pytest
import requests

from server_monitor.adapters import systemd
from tests.support.servers import live_server
from tests.support.systemd import FakeSystemd
from tests.support.users import PASSWORD

LIST = "/api/v1/server/services/"


def test_it_lists_the_installed_allowlisted_units_from_one_systemctl_process(viewer_client, fake_systemd):
    response = viewer_client.get(LIST)

    assert response.status_code == 200
    assert [service["name"] for service in response.json()] == [
        "nginx",
        "php8.2-fpm",
        "mariadb",
        "redis-server",
        "netdata",
    ]
    assert len(fake_systemd.invocations()) == 1


def test_each_service_says_its_state_memory_pid_and_uptime(viewer_client, fake_systemd):
    earliest = int(systemd.monotonic_now() - 21.977062)

    nginx = viewer_client.get(LIST).json()[0]

    latest = int(systemd.monotonic_now() - 21.977062)
    assert nginx | {"uptime_seconds": None} == {
        "name": "nginx",
        "unit": "nginx.service",
        "active": True,
        "active_state": "active",
        "sub_state": "running",
        "memory_bytes": 3887104,
        "uptime_seconds": None,
        "main_pid": 337,
    }
    assert earliest <= nginx["uptime_seconds"] <= latest


def test_a_stopped_unit_is_listed_with_null_uptime_and_memory(viewer_client, fake_systemd):
    fake_systemd.set("redis-server.service", ActiveState="inactive", SubState="dead", MainPID="0")
    fake_systemd.set("redis-server.service", MemoryCurrent="[not set]")

    redis = viewer_client.get(f"{LIST}redis-server").json()

    assert redis["active"] is False
    assert (redis["active_state"], redis["uptime_seconds"], redis["memory_bytes"], redis["main_pid"]) == (
        "inactive",
        None,
        None,
        None,
    )


def test_it_shows_one_service_with_or_without_a_trailing_slash(viewer_client, fake_systemd):
    assert viewer_client.get(f"{LIST}php8.2-fpm").json()["unit"] == "php8.2-fpm.service"
    assert viewer_client.get(f"{LIST}php8.2-fpm/").json()["unit"] == "php8.2-fpm.service"


def test_an_alias_shows_its_unit(viewer_client, fake_systemd):
    mysql = viewer_client.get(f"{LIST}mysql").json()

    assert (mysql["name"], mysql["unit"], mysql["main_pid"]) == ("mysql", "mariadb.service", 284)


def test_it_rejects_a_service_outside_the_allowlist_without_running_anything(viewer_client, fake_systemd):
    response = viewer_client.get(f"{LIST}sshd")

    assert response.status_code == 400
    assert response.json() == {"detail": "This service is not in the allowlist (WPDASH_SERVICES)."}
    assert fake_systemd.invocations() == []


def test_it_answers_404_for_an_allowlisted_unit_that_is_not_installed(viewer_client, fake_systemd):
    response = viewer_client.get(f"{LIST}postfix")

    assert response.status_code == 404
    assert response.json() == {"detail": "postfix is not installed on this host."}


def test_it_follows_the_allowlist_setting(viewer_client, fake_systemd, settings):
    settings.WPDASH_SERVICES = ["netdata", "mysql"]

    assert [service["name"] for service in viewer_client.get(LIST).json()] == ["netdata", "mysql"]
    assert viewer_client.get(f"{LIST}nginx").status_code == 400


def test_anonymous_clients_are_asked_to_sign_in(anonymous_client, fake_systemd):
    assert anonymous_client.get(LIST).status_code == 401
    assert anonymous_client.get(f"{LIST}nginx").status_code == 401
    assert fake_systemd.invocations() == []


def test_without_systemd_it_answers_503_with_the_reason(viewer_client, fake_systemd):
    fake_systemd.go_offline()

    for url in (LIST, f"{LIST}nginx"):
        response = viewer_client.get(url)
        assert response.status_code == 503
        assert response.json() == {"detail": "systemd is not running on this host."}


def test_the_real_systemctl_of_this_host_gives_the_same_503(viewer_client, settings):
    probe = subprocess.run(["/usr/bin/systemctl", "is-system-running"], capture_output=True, check=False)
    if probe.returncode == 0 or b"offline" not in probe.stdout:
        pytest.skip("systemd runs on this host: the no-systemd path needs a container")
    settings.WPDASH_SYSTEMCTL = "/usr/bin/systemctl"

    response = viewer_client.get(LIST)

    assert (response.status_code, response.json()) == (503, {"detail": "systemd is not running on this host."})


def test_the_rest_of_the_dashboard_keeps_working_without_systemd(viewer_client, fake_systemd):
    fake_systemd.go_offline()

    assert viewer_client.get("/healthz").status_code == 200
    assert viewer_client.get("/").status_code == 200
    assert viewer_client.get("/api/v1/server/restarts/").status_code == 200


def test_a_missing_systemctl_is_a_503_that_names_it(viewer_client, settings, tmp_path):
    settings.WPDASH_SYSTEMCTL = str(tmp_path / "no-such-systemctl")

    response = viewer_client.get(LIST)

    assert response.status_code == 503
    assert "no-such-systemctl" in response.json()["detail"]


def test_a_hanging_systemctl_is_cut_off_with_a_503(viewer_client, fake_systemd, monkeypatch):
    monkeypatch.setattr(systemd, "STATUS_TIMEOUT", 0.3)
    fake_systemd.misbehave_on_show("hang", sleep=60)

    response = viewer_client.get(LIST)

    assert (response.status_code, response.json()) == (503, {"detail": "systemctl show did not answer within 0.3 s."})


def test_garbage_from_systemctl_is_a_503_not_a_crash(viewer_client, fake_systemd):
    fake_systemd.misbehave_on_show("garbage")

    response = viewer_client.get(LIST)

    assert response.status_code == 503
    assert "not KEY=VALUE" in response.json()["detail"]


def test_a_failing_systemctl_is_asked_once_per_request_through_daphne(tmp_path):
    """One request path: a GET answered 503 ran `systemctl show` once, not once in a
    short path and again in Django (the failure is not kept, so each GET asks anew)."""
    fake = FakeSystemd(tmp_path / "systemd")
    fake.go_offline()
    with live_server(tmp_path, WPDASH_SYSTEMCTL=str(fake.path), WPDASH_SUDO="off") as server:
        server.create_user("viewer", PASSWORD)
        token = requests.post(
            f"{server.url}/api/v1/auth/token", json={"username": "viewer", "password": PASSWORD}, timeout=10
        ).json()["access"]
        asked_before = len(fake.invocations())
        for _ in range(3):
            response = requests.get(f"{server.url}{LIST}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert response.status_code == 503

    assert len(fake.invocations()) - asked_before == 3

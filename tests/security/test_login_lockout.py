"""Brute force: after the failure limit, one user from one address is locked out."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.support.users import PASSWORD


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def fail_login(client: Client, username: str = "viewer", times: int = 3) -> None:
    for _ in range(times):
        client.post("/accounts/login/", {"username": username, "password": "wrong"})


def test_the_login_page_locks_out_after_the_failure_limit(viewer):
    client = Client(REMOTE_ADDR="203.0.113.7")
    fail_login(client)

    response = client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD})

    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_the_lockout_holds_only_for_that_user_and_address(viewer, superuser):
    fail_login(Client(REMOTE_ADDR="203.0.113.7"))

    from_elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    other_user = Client(REMOTE_ADDR="203.0.113.7")

    assert from_elsewhere.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    assert other_user.post("/accounts/login/", {"username": "root", "password": PASSWORD}).status_code == 302


def test_the_token_endpoint_locks_out_with_429_and_a_reason(viewer):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    statuses = [
        client.post("/api/v1/auth/token/", {"username": "viewer", "password": "x"}).status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]  # the failure that reaches the limit already says so

    response = client.post("/api/v1/auth/token/", {"username": "viewer", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.json()["detail"]
    assert "access" not in response.json()


def test_a_success_before_the_limit_resets_the_count(viewer):
    client = Client(REMOTE_ADDR="203.0.113.7")
    fail_login(client, times=2)
    assert client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302
    client.logout()

    fail_login(client, times=2)

    assert client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}).status_code == 302

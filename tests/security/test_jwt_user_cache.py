"""The JWT user lookup is cached for a few seconds, a checked token is not checked in
full again, and both are exactly as strict.

Real tokens from the token endpoint, real SQLite/MariaDB, the real DRF stack.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend

from server_monitor.web import authentication
from server_monitor.web.authentication import AccountRefreshToken
from tests.support.users import PASSWORD

ME = "/api/v1/auth/me"


@pytest.fixture
def bearer(anonymous_client, viewer) -> APIClient:
    response = anonymous_client.post("/api/v1/auth/token", {"username": "viewer", "password": PASSWORD}, format="json")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def user_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    return sum('FROM "auth_user"' in q["sql"] or "FROM `auth_user`" in q["sql"] for q in queries.captured_queries)


def test_a_second_request_does_not_ask_the_database_for_the_user(bearer):
    assert user_queries(bearer) == 1
    assert user_queries(bearer) == 0


def test_a_user_deactivated_here_is_refused_on_the_next_request(bearer, viewer):
    assert bearer.get(ME).status_code == 200
    viewer.is_active = False
    viewer.save()

    assert bearer.get(ME).status_code == 401


def test_a_deleted_user_is_refused_on_the_next_request(bearer, viewer):
    assert bearer.get(ME).status_code == 200
    viewer.delete()

    assert bearer.get(ME).status_code == 401


def test_a_permission_given_here_counts_on_the_next_request(bearer, viewer):
    assert bearer.get(ME).json()["can_restart"] is False
    viewer.user_permissions.add(Permission.objects.get(codename="restart_service"))

    assert bearer.get(ME).json()["can_restart"] is True


def test_a_permission_given_through_a_group_counts_on_the_next_request(bearer, viewer):
    group = Group.objects.create(name="operators")
    viewer.groups.add(group)
    assert bearer.get(ME).json()["can_restart"] is False
    group.permissions.add(Permission.objects.get(codename="restart_service"))

    assert bearer.get(ME).json()["can_restart"] is True


def test_a_change_no_signal_announces_is_seen_once_the_entry_expires(bearer, viewer, monkeypatch):
    """As a change made by another process: an UPDATE fires no signal here."""
    assert bearer.get(ME).status_code == 200
    type(viewer).objects.filter(pk=viewer.pk).update(is_active=False)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + authentication.USER_CACHE_SECONDS + 0.1)  # the clock moves on

    assert bearer.get(ME).status_code == 401


# --- checked tokens ---------------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """Every token simplejwt decodes (signature and claims checked), in order."""
    seen: list[str] = []
    decode = TokenBackend.decode

    def counting(self, token, verify=True):
        seen.append(token.decode() if isinstance(token, bytes) else token)
        return decode(self, token, verify)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    return seen


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_is_checked_in_full_once(bearer, decodes):
    assert bearer.get(ME).status_code == 200
    assert bearer.get(ME).status_code == 200
    assert bearer.get(ME).status_code == 200

    assert len(decodes) == 1


def test_an_altered_token_is_checked_in_full_every_time_and_refused(bearer, decodes):
    token = bearer._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    assert bearer.get(ME).status_code == 200
    head, payload, signature = token.split(".")
    altered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    assert [with_token(altered).get(ME).status_code for _ in range(3)] == [401, 401, 401]
    assert decodes.count(altered) == 3


def test_a_checked_token_is_refused_once_it_expires(db, decodes):
    user = get_user_model().objects.create_user("brief", password=PASSWORD)
    token = AccountRefreshToken.for_user(user).access_token
    token.set_exp(lifetime=timedelta(seconds=2))  # exp is whole seconds: at least 1 s from now
    client = with_token(str(token))
    assert client.get(ME).status_code == 200  # checked in full and kept
    deadline = token["exp"] + 0.05  # simplejwt's rule: expired once exp <= now (no leeway here)
    while time.time() < deadline:
        time.sleep(max(0.0, deadline - time.time()))

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert len(decodes) == 2  # the refusal is simplejwt's own, from a full check

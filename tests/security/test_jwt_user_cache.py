"""The JWT user lookup is cached for a few seconds, and is exactly as strict.

Real tokens from the token endpoint, real SQLite/MariaDB, the real DRF stack.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from server_monitor.web import authentication
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
    now = authentication.time.monotonic()
    monkeypatch.setattr(authentication.time, "monotonic", lambda: now + authentication.USER_CACHE_SECONDS + 0.1)

    assert bearer.get(ME).status_code == 401

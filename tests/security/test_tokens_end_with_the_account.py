"""A token made before the account changed counts for nothing afterwards.

Real tokens from the real endpoints (the pair endpoint and the OAuth2 password
grant), the real DRF stack, SQLite or MariaDB. Each change an operator makes to an
account (a new password, deactivation, deletion) must refuse the refresh token (401
with a reason, never a 500) and the access token issued before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from server_monitor.web import authentication
from tests.support.users import NEW_PASSWORD, PASSWORD, deactivation, deletion, new_password

ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/token/refresh"


CHANGES: dict[str, Callable] = {"password": new_password, "deactivation": deactivation, "deletion": deletion}
# The reason each refusal gives (the "code" of the 401).
REASONS = {"password": "token_revoked", "deactivation": "user_inactive", "deletion": "user_not_found"}


def sign_in(password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post("/api/v1/auth/token", {"username": "viewer", "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def me(access: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME).status_code


@pytest.mark.parametrize("change", CHANGES)
def test_a_refresh_token_from_before_the_change_is_refused_with_the_reason(change, viewer):
    pair = sign_in()
    assert refresh(pair["refresh"]).status_code == 200

    CHANGES[change](viewer)
    response = refresh(pair["refresh"])

    assert response.status_code == 401, response.content
    assert response.json()["code"] == REASONS[change]


@pytest.mark.parametrize("change", CHANGES)
def test_an_access_token_from_before_the_change_is_refused_on_the_next_request(change, viewer):
    access = sign_in()["access"]
    assert me(access) == 200  # its user is now cached

    CHANGES[change](viewer)

    assert me(access) == 401


def test_the_password_grants_access_token_ends_with_the_password(viewer):
    response = APIClient().post("/api/v1/auth/login", {"username": "viewer", "password": PASSWORD})
    access = response.json()["access_token"]
    assert me(access) == 200

    new_password(viewer)

    assert me(access) == 401


def test_a_change_made_by_another_process_ends_access_once_the_cached_user_expires(viewer, monkeypatch):
    """An UPDATE fires no signal here, as a password set by `manage.py changepassword`."""
    pair = sign_in()
    assert me(pair["access"]) == 200
    get_user_model().objects.filter(pk=viewer.pk).update(password=make_password(NEW_PASSWORD))
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + authentication.USER_CACHE_SECONDS + 0.1)  # the clock moves on

    assert me(pair["access"]) == 401
    assert refresh(pair["refresh"]).status_code == 401  # the refresh asks the database itself


def test_tokens_made_after_the_change_work(viewer):
    new_password(viewer)
    pair = sign_in(NEW_PASSWORD)

    assert me(pair["access"]) == 200
    assert me(refresh(pair["refresh"]).json()["access"]) == 200


def test_a_token_without_the_account_claim_is_refused(viewer):
    """One signed with the key but not made by sign-in (or before this rule existed)."""
    bare = RefreshToken.for_user(viewer)

    assert refresh(str(bare)).status_code == 401
    assert me(str(bare.access_token)) == 401


def test_the_claim_reveals_nothing_of_the_password_hash(viewer):
    claim = RefreshToken(sign_in()["refresh"])[authentication.ACCOUNT_CLAIM]

    assert claim not in viewer.password
    assert viewer.password.split("$")[-1] not in claim

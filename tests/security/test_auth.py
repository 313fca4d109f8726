"""Sign-in: JWT and session on the API, 401 for anonymous requests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.support.users import PASSWORD

API_ROOT = "/api/v1/server/"


def obtain_tokens(client: APIClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def test_an_anonymous_api_request_gets_401(anonymous_client, db):
    response = anonymous_client.get(API_ROOT)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_pair_is_issued_for_good_credentials(anonymous_client, viewer):
    response = obtain_tokens(anonymous_client, "viewer")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_bad_credentials_get_401(anonymous_client, viewer):
    assert obtain_tokens(anonymous_client, "viewer", "wrong").status_code == 401


def test_an_inactive_user_gets_no_token(anonymous_client, inactive_user):
    assert obtain_tokens(anonymous_client, "gone").status_code == 401


def test_the_access_token_is_accepted(anonymous_client, viewer):
    access = obtain_tokens(anonymous_client, "viewer").json()["access"]

    response = APIClient().get(API_ROOT, HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 200


def test_a_refresh_token_is_not_an_access_token(anonymous_client, viewer):
    refresh = obtain_tokens(anonymous_client, "viewer").json()["refresh"]

    assert APIClient().get(API_ROOT, HTTP_AUTHORIZATION=f"Bearer {refresh}").status_code == 401


def test_a_tampered_token_is_refused(anonymous_client, viewer):
    access = obtain_tokens(anonymous_client, "viewer").json()["access"]
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"

    assert APIClient().get(API_ROOT, HTTP_AUTHORIZATION=f"Bearer {tampered}").status_code == 401


def test_the_refresh_endpoint_gives_a_new_access_token(anonymous_client, viewer):
    refresh = obtain_tokens(anonymous_client, "viewer").json()["refresh"]

    response = anonymous_client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 200
    assert APIClient().get(API_ROOT, HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}").status_code == 200


def test_a_signed_in_session_reaches_the_api(viewer_client):
    assert viewer_client.get(API_ROOT).status_code == 200


def test_the_browsable_api_renders_for_a_session(viewer_client):
    response = viewer_client.get(API_ROOT, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b'<header class="topbar">' in response.content  # the dashboard's own page (tests/page/test_api_pages.py)


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_the_schema_and_docs_need_sign_in(anonymous_client, db, path):
    assert anonymous_client.get(path).status_code == 401

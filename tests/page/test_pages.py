"""The HTML side: login, logout, admin, healthz."""

from __future__ import annotations

from pathlib import Path

from tests.support.users import PASSWORD

REPO = Path(__file__).resolve().parents[2]


def test_the_status_page_sends_anonymous_users_to_sign_in(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signing_in_through_the_form_leads_to_the_status_page(client, viewer):
    response = client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert b"Server status" in response.content


def test_a_wrong_password_shows_an_error(client, viewer):
    response = client.post("/accounts/login/", {"username": "viewer", "password": "nope"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_the_admin_loads_for_a_superuser(client, superuser):
    client.force_login(superuser)

    assert client.get("/admin/").status_code == 200


def test_signing_out_needs_a_post(client, viewer):
    client.force_login(viewer)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_healthz_answers_ok_without_sign_in(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_docs_page_uses_no_outside_assets(viewer_client):
    response = viewer_client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert b"cdn" not in response.content.lower()

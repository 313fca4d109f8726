"""The HTML side: login, logout, admin, healthz."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD

REPO = Path(__file__).resolve().parent.parent


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


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    # A real unreachable database: nothing listens on port 1.
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/healthz')\n"
        "print(response.status_code, response.content.decode())\n"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wpdash.settings",
        "WPDASH_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "mysql://root@127.0.0.1:1/nothing",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.stdout.strip() == '503 {"status": "unavailable"}', result.stderr


def test_the_docs_page_uses_no_outside_assets(viewer_client):
    response = viewer_client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert b"cdn" not in response.content.lower()

"""Every page carries a strict CSP and the usual security headers."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz"])
def test_it_sends_a_strict_content_security_policy(client, db, path):
    policy = client.get(path)["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_it_forbids_framing_and_sniffing(client, db):
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only(client, viewer):
    from tests.support.users import PASSWORD

    response = client.post("/accounts/login/", {"username": "viewer", "password": PASSWORD})

    assert response.cookies["sessionid"]["httponly"]
    assert response.cookies["sessionid"]["samesite"] == "Lax"


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/docs/"])
def test_pages_run_no_inline_script(viewer_client, path):
    html = viewer_client.get(path).content.decode()

    inline_scripts = [
        attrs
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        if body.strip() and "application/json" not in attrs
    ]
    assert inline_scripts == []
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_https_mode_sets_secure_cookies_and_hsts(client, viewer, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True

    response = client.get("/healthz", secure=True)

    assert response["Strict-Transport-Security"].startswith("max-age=31536000")

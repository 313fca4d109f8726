"""Each failed sign-in is one WARNING line with the client's address and the username
(bounded, repr'd), never the password: on every way in, lockouts included.

In-process here; tests/security/test_fail2ban.py reads the same lines from a live daphne.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.support.users import PASSWORD

WRONG = "not the password 9f3a"
ADDRESS = "203.0.113.7"


@pytest.fixture
def sign_in_lines(caplog):
    caplog.set_level(logging.WARNING, logger="server_monitor.signin")

    def lines() -> list[str]:
        return [record.getMessage() for record in caplog.records if record.name == "server_monitor.signin"]

    return lines


@pytest.mark.parametrize(
    ("path", "as_json"),
    [
        ("/accounts/login/", False),
        ("/admin/login/", False),
        ("/api/v1/auth/token", True),
        ("/api/v1/auth/login", False),
    ],
)
def test_a_failed_sign_in_is_one_line_with_address_path_and_user(viewer, sign_in_lines, path, as_json):
    client = APIClient(REMOTE_ADDR=ADDRESS)

    client.post(path, {"username": "viewer", "password": WRONG}, format="json" if as_json else None)

    assert sign_in_lines() == [f"failed sign-in from {ADDRESS} on {path} user='viewer'"]


def test_a_good_sign_in_logs_nothing_here(viewer, sign_in_lines):
    response = Client(REMOTE_ADDR=ADDRESS).post("/accounts/login/", {"username": "viewer", "password": PASSWORD})

    assert response.status_code == 302
    assert sign_in_lines() == []


def test_the_password_is_never_in_the_line(viewer, sign_in_lines, caplog):
    Client(REMOTE_ADDR=ADDRESS).post("/accounts/login/", {"username": "viewer", "password": WRONG})

    assert len(sign_in_lines()) == 1
    assert WRONG not in caplog.text


def test_a_hostile_username_stays_after_the_address_on_one_line(db, sign_in_lines):
    hostile = "x from 192.0.2.66 on /\nfailed sign-in from 192.0.2.67 on / user='y"
    Client(REMOTE_ADDR=ADDRESS).post("/accounts/login/", {"username": hostile, "password": WRONG})

    (line,) = sign_in_lines()
    assert line.startswith(f"failed sign-in from {ADDRESS} on /accounts/login/ user=")
    assert "\n" not in line
    assert line.endswith(repr(hostile))


def test_a_long_username_is_cut(db, sign_in_lines):
    APIClient(REMOTE_ADDR=ADDRESS).post("/api/v1/auth/login", {"username": "u" * 150, "password": WRONG})
    Client(REMOTE_ADDR=ADDRESS).post("/accounts/login/", {"username": "a" * 149 + "bcd", "password": WRONG})

    lines = sign_in_lines()
    assert lines[0].endswith("user='" + "u" * 150 + "'")
    assert lines[-1].endswith("user='" + "a" * 149 + "b…'")  # the form takes 152; the log shows 150


def test_a_lockout_is_one_more_line_and_each_refused_attempt_still_counts(viewer, settings, sign_in_lines):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(3):
        client.post("/accounts/login/", {"username": "viewer", "password": WRONG})

    failed = f"failed sign-in from {ADDRESS} on /accounts/login/ user='viewer'"
    locked = f"sign-in lockout from {ADDRESS} on /accounts/login/ user='viewer': 2 failures, locked for 15 minutes"
    assert sign_in_lines() == [failed, locked, failed, locked, failed]


def test_the_address_is_the_one_the_proxy_gave_not_a_header_the_client_sent(viewer, sign_in_lines):
    Client(REMOTE_ADDR="2001:db8::5", HTTP_X_FORWARDED_FOR="192.0.2.1").post(
        "/accounts/login/", {"username": "viewer", "password": WRONG}
    )

    assert sign_in_lines() == ["failed sign-in from 2001:db8::5 on /accounts/login/ user='viewer'"]

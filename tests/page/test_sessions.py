"""A session lasts while its person uses it, and the sign-in page says how it ended
(issue 29): sliding expiry moved by the person's requests, never by the page's
background refresh; "You have signed out." and "Your session expired; sign in again."."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from server_monitor.web.sessions import ACTIVE_AT
from tests.support.users import PASSWORD

POLL = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture(autouse=True)
def local_metrics(settings, fake_systemd, tmp_path):
    settings.WPDASH_METRICS_SOURCE = "local"
    settings.WPDASH_LOGS = {"nginx-access": str(tmp_path / "access.log")}
    settings.SESSION_COOKIE_AGE = 600


def signed_in(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def age_the_session(client: Client, seconds_left: int) -> None:
    """As if the last activity was long ago: the session ends in `seconds_left`."""
    store = client.session
    store[ACTIVE_AT] = 0
    store.save()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=seconds_left)
    )


def test_a_request_of_the_person_moves_the_expiry_a_full_lifetime_ahead(viewer):
    client = signed_in(viewer)
    age_the_session(client, seconds_left=30)

    response = client.get("/fragments/services")

    assert response.status_code == 200
    left = session_row(client).expire_date - timezone.now()
    assert timedelta(seconds=590) < left <= timedelta(seconds=600)
    assert response.cookies["sessionid"]["max-age"] == 600


def test_the_page_s_background_refresh_does_not_keep_a_session_alive(viewer):
    client = signed_in(viewer)
    age_the_session(client, seconds_left=30)

    response = client.get("/fragments/services", **POLL)

    assert response.status_code == 200
    assert session_row(client).expire_date - timezone.now() <= timedelta(seconds=30)
    assert "sessionid" not in response.cookies


def test_still_here_from_the_page_moves_the_expiry(viewer):
    client = signed_in(viewer)
    age_the_session(client, seconds_left=30)

    response = client.post("/accounts/still-here")

    assert response.status_code == 204
    assert session_row(client).expire_date - timezone.now() > timedelta(seconds=590)


def test_the_expiry_moves_at_most_once_a_minute(viewer):
    client = signed_in(viewer)
    client.get("/fragments/services")
    before = session_row(client).expire_date

    response = client.get("/fragments/services")

    assert "sessionid" not in response.cookies  # not saved again
    assert session_row(client).expire_date == before


def test_an_expired_session_is_sent_to_sign_in_with_expired_and_the_page_says_so(viewer):
    client = signed_in(viewer)
    Session.objects.all().update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/fragments/metrics", **POLL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/fragments/metrics")
    assert response["Location"].endswith("&expired=1")
    page = client.get(response["Location"]).content.decode()
    assert "Your session expired; sign in again." in page
    assert "You have signed out." not in page


def test_a_visitor_who_never_signed_in_is_not_told_a_session_expired():
    response = Client().get("/")

    assert response.status_code == 302
    assert "expired" not in response["Location"]
    assert "Your session expired" not in Client().get(response["Location"]).content.decode()


def test_signing_out_lands_on_sign_in_saying_so(viewer):
    client = signed_in(viewer)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?signed_out=1"
    page = client.get(response["Location"]).content.decode()
    assert "You have signed out." in page
    assert "Your session expired" not in page


def test_a_signed_out_session_cookie_is_no_longer_kept_alive(viewer):
    client = signed_in(viewer)
    key = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = key  # replayed

    response = client.post("/accounts/still-here")

    assert response.status_code == 302
    assert "expired=1" in response["Location"]
    assert not Session.objects.filter(session_key=key).exists()


def test_a_slide_that_cannot_be_saved_costs_the_slide_not_the_answer(viewer, monkeypatch):
    client = signed_in(viewer)
    age_the_session(client, seconds_left=300)
    before = session_row(client).expire_date

    def database_locked(self, must_create=False):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(SessionStore, "save", database_locked)
    response = client.get("/fragments/services")
    monkeypatch.undo()

    assert response.status_code == 200
    assert b'data-service="nginx"' in response.content
    assert session_row(client).expire_date == before  # not moved this time
    assert client.get("/fragments/services").status_code == 200  # and the next request slides it
    assert session_row(client).expire_date > before


def test_a_failing_save_the_view_asked_for_is_still_an_error(viewer, monkeypatch):
    # Only a slide is skipped: a session the view changed (here: signing in) must be saved.
    def database_locked(self, must_create=False):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(SessionStore, "save", database_locked)
    with pytest.raises(DatabaseError):
        Client().post("/accounts/login/", {"username": viewer.get_username(), "password": PASSWORD})

"""A browser session that lasts while it is used, and says how it ended.

Sliding expiry: a session lives `WPDASH_SESSION_SECONDS` from the last thing its person
did, not from sign-in, so a tab in use never signs out. What counts as doing something
is any request the person's browser sends except the status page's background refresh,
which marks itself `X-Requested-With: fetch`: a tab left alone keeps refreshing and
still expires. The page also says "still here" (`still_here`, at most once a minute)
when its person types, clicks or scrolls, since reading and scrolling the page send no
request of their own.

The sign-in page says why it is shown: `?signed_out=1` after signing out
(`settings.LOGOUT_REDIRECT_URL`), `?expired=1` when a request carried a session cookie
that no longer signs anyone in (expired, ended elsewhere, or its password changed).
Neither says anything about any other account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.views.decorators.http import require_POST

logger = logging.getLogger(__name__)

BACKGROUND_POLL = "fetch"  # the X-Requested-With value of status.js's refresh
ACTIVE_AT = "wpdash_active_at"  # in the session: when its expiry was last moved (Unix seconds)
SIGNED_OUT = "signed_out"
EXPIRED = "expired"
REDIRECTS = {301, 302, 303, 307, 308}


def refresh_every() -> int:
    """Seconds between two moves of a session's expiry: a write at most once a minute per
    person, and never more than a tenth of the lifetime lost (30 s of the shortest, 300 s)."""
    return max(1, min(60, settings.SESSION_COOKIE_AGE // 10))


def is_background_poll(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == BACKGROUND_POLL


class SessionActivityMiddleware:
    """After AuthenticationMiddleware: moves a signed-in session's expiry on its person's
    requests, and marks the sign-in redirect of a session that ended with `expired=1`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        had_cookie = settings.SESSION_COOKIE_NAME in request.COOKIES
        response = self.get_response(request)
        if not had_cookie:
            return response
        try:
            if not is_background_poll(request):
                self._note_activity(request)
            if response.status_code in REDIRECTS and not request.user.is_authenticated:
                self._mark_expired(response)
        except DatabaseError as error:
            # Reading the session needs the database; when it is locked or gone the answer
            # (often DatabaseUnavailableMiddleware's 503) goes out as it is, without a slide.
            logger.info("a session's activity was not noted this time: %s", error.__class__.__name__)
        return response

    @staticmethod
    def _note_activity(request: HttpRequest) -> None:
        """After the view: a session the view left alone is changed only by this, so the
        session middleware knows its save is a slide that may fail without harm."""
        session = request.session
        if session.modified or session.get(SESSION_KEY) is None:
            return  # saved anyway (sign-in, a message), or nobody signed in: nothing to keep alive
        now = int(time.time())
        last = session.get(ACTIVE_AT)
        if not isinstance(last, int) or now - last >= refresh_every():
            # A changed session is saved with a new expiry (now + SESSION_COOKIE_AGE),
            # in the database and in the cookie's Max-Age alike.
            session[ACTIVE_AT] = now
            request.session_slide_only = True  # type: ignore[attr-defined]

    @staticmethod
    def _mark_expired(response: HttpResponse) -> None:
        location = urlsplit(response["Location"])
        if location.path != resolve_url(settings.LOGIN_URL):
            return
        query = parse_qsl(location.query, keep_blank_values=True)
        if any(name in (SIGNED_OUT, EXPIRED) for name, _ in query):
            return  # a sign-out says so itself
        query.append((EXPIRED, "1"))
        response["Location"] = urlunsplit(location._replace(query=urlencode(query, safe="/")))


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a slide that cannot be saved (the database locked or full for
    a moment) costs the slide, not the answer: the view's work is done and its answer is
    sent as it is, with the session as it was; the next request slides it."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, DatabaseError) as error:
            if not getattr(request, "session_slide_only", False):
                raise
            logger.info("a session's expiry was not moved this time: %s", error.__class__.__name__)
            return response


@require_POST
@login_required
def still_here(request: HttpRequest) -> HttpResponse:
    """POST /accounts/still-here: the page's person is active (the middleware moves the
    expiry). 204; a session that has ended gets the sign-in redirect like any page."""
    return HttpResponse(status=204)

"""A short path in front of Django for the read-only GETs a dashboard polls.

Measured through daphne (bench/RESULTS.md), a signed-in GET of a small log took about
9 ms where a bare ASGI app on the same daphne takes 3.5: DRF's dispatch, content
negotiation and query serializer, and middleware made for pages, forms and sessions
(sessions, CSRF, messages, the lockout page), none of which changes a JSON answer to
a Bearer token. HotReads answers /healthz and GET services, logs/NAME and metrics with
the views of server_monitor.web.api.hot behind only the middleware that shapes every
answer (SecurityMiddleware, the security headers, CommonMiddleware, X-Frame-Options),
in one hop to the request threads, as wpdash.handler does for Django. An answer that
is usually all in memory (metrics, services: route.from_memory) is first made in the
event loop with no hop at all; the first thing it would have to wait for (a cache
that expired, a user not seen for a few seconds) sends it to the threads
(server_monitor.memory_only).

It stays exactly as strict because it answers only what it is sure of and hands
everything else to Django untouched. It never reads a request's body, so Django gets
the request whole: another method, path or script prefix, a body, an Accept other
than JSON's, an unknown or repeated query parameter, a Host not in ALLOWED_HOSTS, a
plain-http request where https is required, no Bearer token or a refused one, an
answer other than 200, and every error of the work (the work runs again in Django,
whose answer and log line are today's; the adapters' caches make that second ask
cheap). tests/api/test_hot_reads.py asks both paths the same requests and compares
status, headers and body.

A middleware added to settings.MIDDLEWARE that is not named below turns the short
path off (a warning says so) until someone decides whether hot reads need it.
"""

from __future__ import annotations

import contextlib
import enum
import io
import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import SynchronousOnlyOperation
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from server_monitor.memory_only import WouldBlock, memory_only
from server_monitor.web.api.hot import ROUTES, HotRoute
from wpdash.handler import REQUEST_THREADS

logger = logging.getLogger("wpdash.hot_reads")

# Shape every answer: kept, in settings' order.
SHAPING = {
    "django.middleware.security.SecurityMiddleware",
    "wpdash.security.SecurityHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
}
# Change nothing in a 200 JSON answer to a Bearer-token GET of these routes: left out.
NOT_NEEDED = {
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files only
    "django.contrib.sessions.middleware.SessionMiddleware",  # a session is never read here
    "django.middleware.csrf.CsrfViewMiddleware",  # GET, and DRF's views are csrf_exempt
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # the JWT signs in, not the session
    "django.contrib.messages.middleware.MessageMiddleware",  # messages are for pages
    "axes.middleware.AxesMiddleware",  # lockouts happen at sign-in
    "wpdash.middleware.DatabaseUnavailableMiddleware",  # a database error goes to Django, which gives it
}
PLAIN_JSON = {b"*/*", b"application/json"}  # what DRF answers with JSONRenderer's compact JSON

Handler = Callable[[HttpRequest], HttpResponseBase]


def shaping_chain(view: Handler) -> Handler | None:
    """The view inside the kept middleware, or None when settings name one unknown here."""
    unknown = [path for path in settings.MIDDLEWARE if path not in SHAPING | NOT_NEEDED]
    if unknown:
        logger.warning("hot reads off: %s not known to wpdash.hot_reads; every request goes to Django", unknown)
        return None
    handler = view
    for path in reversed([path for path in settings.MIDDLEWARE if path in SHAPING]):
        handler = import_string(path)(handler)
    return handler


def call_view(request: HttpRequest) -> HttpResponseBase:
    route: HotRoute = request.hot_route  # type: ignore[attr-defined]
    return route.view(request, **request.hot_kwargs)  # type: ignore[attr-defined]


class InAThread(enum.Enum):
    IN_A_THREAD = "in a thread"


IN_A_THREAD = InAThread.IN_A_THREAD  # tried from memory, the answer needs a wait


class HotReads:
    """ASGI app: the hot read GETs answered here, everything else by `django`."""

    def __init__(self, django: ASGIHandler) -> None:
        self.django = django
        self.chain = shaping_chain(call_view)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = self.match(scope) if scope["type"] == "http" else None
        if found is not None:
            route, kwargs = found
            response = self.respond(scope, route, kwargs, from_memory=True) if route.from_memory else IN_A_THREAD
            if response is IN_A_THREAD:
                respond = sync_to_async(self.respond, thread_sensitive=False, executor=REQUEST_THREADS)
                response = await respond(scope, route, kwargs)
            if isinstance(response, HttpResponseBase):
                await self.django.send_response(response, send)
                return
        await self.django(scope, receive, send)

    def match(self, scope: dict[str, Any]) -> tuple[HotRoute, dict[str, str]] | None:
        """The route for a plain GET, from the scope alone (before anything is read)."""
        if self.chain is None or scope["method"] != "GET" or scope.get("root_path"):
            return None
        accept: list[bytes] = []
        for name, value in scope["headers"]:
            if name in (b"content-length", b"transfer-encoding") and value != b"0":
                return None  # a GET with a body is unusual: Django reads it
            if name == b"accept":
                accept.append(value.strip())
        if len(accept) > 1 or (accept and accept[0] not in PLAIN_JSON):
            return None
        for route in ROUTES:
            if found := route.pattern.fullmatch(scope["path"]):
                return route, found.groupdict()
        return None

    def respond(
        self, scope: dict[str, Any], route: HotRoute, kwargs: dict[str, str], from_memory: bool = False
    ) -> HttpResponseBase | InAThread | None:
        """The answer, or None for Django to give one. Runs in a request thread, or with
        `from_memory` in the event loop, where anything that would wait makes it
        IN_A_THREAD instead (server_monitor.memory_only)."""
        assert self.chain is not None
        if not from_memory:
            close_old_connections()  # this thread's connections, as wpdash.handler looks after them
        try:
            request = ASGIRequest(scope, io.BytesIO())
            request.get_host()  # a Host not allowed: Django's 400, and its log line
            if not route.query_is_plain(request.GET):
                return None
            request.hot_route, request.hot_kwargs = route, kwargs  # type: ignore[attr-defined]
            with memory_only() if from_memory else contextlib.nullcontext():
                response = self.chain(request)
        except (WouldBlock, SynchronousOnlyOperation):
            return IN_A_THREAD if from_memory else None
        except Exception:  # Decline, or any error: Django answers it, and logs it as ever
            return None
        finally:
            if not from_memory:
                close_old_connections()
        return response if response.status_code == 200 else None

"""A database that is locked past its busy timeout, or gone, answers 503, not a 500.

Any query can meet it (the session or the JWT's user is looked up first), and DRF
passes database errors on untouched, so this is caught once for every view. The
answer says only that the database is unavailable; the error goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from wpdash.errors import API_PREFIX

logger = logging.getLogger("server_monitor.database")

UNAVAILABLE = "The database is unavailable (locked or unreachable). Try again shortly."


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # OperationalError: locked, connection refused or lost; InterfaceError: connection closed.
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        if request.path.startswith(API_PREFIX):
            response: HttpResponse = JsonResponse({"detail": UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(
                f"<!doctype html><title>Unavailable</title><h1>wpdash</h1><p role=alert>{UNAVAILABLE}</p>",
                status=503,
            )
        response["Retry-After"] = "5"
        return response

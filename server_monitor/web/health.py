"""GET /healthz: liveness for load balancers and monitors.

It says nothing else (no versions, no reasons) since it needs no sign-in. Its verdict
is the database's answer to a real query, kept for VERDICT_SECONDS: a monitor asking
every few seconds always gets a fresh one, and a flood of these unauthenticated
requests costs one query a second and no request thread (wpdash.hot_reads answers a
kept verdict in the event loop), so it cannot crowd out signed-in users.
"""

from __future__ import annotations

import time

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from server_monitor.memory_only import before_blocking

VERDICT_SECONDS = 1.0
_verdict: tuple[float, bool] | None = None  # (monotonic time it expires, the database answered)


def database_answers() -> bool:
    """Whether the database answered a query in the last VERDICT_SECONDS.

    It reads a real table: SQLite answers a bare SELECT 1 even while another process
    holds the database locked, when every real request would fail.
    """
    global _verdict
    verdict = _verdict
    if verdict is not None and time.monotonic() < verdict[0]:
        return verdict[1]
    before_blocking("the database check")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
            cursor.fetchone()
        answered = True
    except DatabaseError:
        answered = False
    _verdict = (time.monotonic() + VERDICT_SECONDS, answered)
    return answered


def forget_verdict() -> None:
    """The next /healthz asks the database (tests)."""
    global _verdict
    _verdict = None


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise."""
    if database_answers():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable"}, status=503)

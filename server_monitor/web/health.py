"""GET /healthz: liveness for load balancers and monitors.

It says nothing else (no versions, no reasons) since it needs no sign-in. "ok" means
what signing in needs works: the database accepts a committed write (sign-in writes
the session row and last_login), not only a read. A full disk, a lock held past
WPDASH_SQLITE_TIMEOUT or a read-only database answer reads as ever while every
sign-in is a 503, so a read alone said "ok" through all three. The write is one
row's timestamp (models.Heartbeat).

The verdict is kept for VERDICT_SECONDS: a monitor asking every few seconds always
gets a fresh one, and a flood of these unauthenticated requests costs one write a
second and no request thread (wpdash.hot_reads answers a kept verdict in the event
loop), so it cannot crowd out signed-in users. One check runs at a time: while one
waits for a lock, others answer the verdict before it rather than queue behind it.
"""

from __future__ import annotations

import threading
import time

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from server_monitor.memory_only import before_blocking
from server_monitor.models import Heartbeat

VERDICT_SECONDS = 1.0
_verdict: tuple[float, bool] | None = None  # (monotonic time it expires, the database took the write)
_checking = threading.Lock()  # held by the one check under way


def database_answers() -> bool:
    """Whether the database took a committed write in the last VERDICT_SECONDS."""
    global _verdict
    verdict = _verdict
    if verdict is not None and (time.monotonic() < verdict[0] or _checking.locked()):
        return verdict[1]  # fresh, or a check is under way: the last verdict until it ends
    before_blocking("the database check")
    if verdict is None:
        _checking.acquire()  # the very first check: there is no verdict to answer meanwhile
    elif not _checking.acquire(blocking=False):
        return verdict[1]  # a check began since the look above: the verdict before it
    try:
        verdict = _verdict
        if verdict is not None and time.monotonic() < verdict[0]:
            return verdict[1]  # another check ended while this one waited
        try:
            Heartbeat.beat()
            answered = True
        except DatabaseError:
            answered = False
        _verdict = (time.monotonic() + VERDICT_SECONDS, answered)
        return answered
    finally:
        _checking.release()


def forget_verdict() -> None:
    """The next /healthz asks the database (tests)."""
    global _verdict
    _verdict = None


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database takes a write, 503 otherwise."""
    if database_answers():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable"}, status=503)

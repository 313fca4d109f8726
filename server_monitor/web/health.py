"""GET /healthz: liveness for load balancers and monitors.

It says nothing else (no versions, no reasons) since it needs no sign-in. "ok" means
what signing in needs works: the database accepts a committed write (sign-in writes
the session row and last_login), not only a read. A full disk, a lock held past
WPDASH_SQLITE_TIMEOUT or a read-only database answer reads as ever while every
sign-in is a 503, so a read alone said "ok" through all three. The write is one
row's timestamp (models.Heartbeat).

The verdict is kept for VERDICT_SECONDS: a monitor asking every few seconds always
gets a fresh one, and a flood of these unauthenticated requests costs one write a
second, so it cannot crowd out signed-in users. One check runs at a time: while one
waits for a lock, others answer the verdict before it rather than queue behind it.
"""

from __future__ import annotations

import threading

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from server_monitor import caching
from server_monitor.models import Heartbeat

VERDICT_SECONDS = 1.0
VERDICT = "database takes a write"
verdicts: caching.TTLCache[str, bool] = caching.TTLCache("healthz verdict", VERDICT_SECONDS, maxsize=1)
_checking = threading.Lock()  # held by the one check under way
_last_verdict: bool | None = None  # answered while a check is under way, however old


def database_answers() -> bool:
    """Whether the database took a committed write in the last VERDICT_SECONDS."""
    global _last_verdict
    fresh = verdicts.get(VERDICT)
    if fresh is not None:
        return fresh
    last = _last_verdict
    # The very first check waits for the lock: there is no verdict to answer meanwhile.
    if not _checking.acquire(blocking=last is None):
        assert last is not None
        return last  # a check is under way: the verdict before it, not a queue behind it
    try:
        fresh = verdicts.get(VERDICT)
        if fresh is not None:
            return fresh  # another check ended while this one waited
        try:
            Heartbeat.beat()
            answered = True
        except DatabaseError:
            answered = False
        _last_verdict = answered
        return verdicts.set(VERDICT, answered)
    finally:
        _checking.release()


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database takes a write, 503 otherwise."""
    if database_answers():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable"}, status=503)

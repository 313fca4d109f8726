"""Django's ASGI handler, with a request's sync work done in one hop to a fixed thread pool.

Every middleware and view of wpdash is sync. Django's stock ASGI handler builds an
async middleware chain around them, so a request goes event loop → thread (the sync
middleware) → event loop (async_to_sync, for Django's async core) → thread (the view)
and back, and it runs each request's sync parts in a new thread made for that request
(asgiref's ThreadSensitiveContext), which also opens a new database connection for
each request, since connections belong to threads.

Here the chain is built sync, as under WSGI, and the whole of get_response() runs in
one call on REQUEST_THREADS: one hop out and one back, threads that live as long as
the process, and database connections kept by them between requests (CONN_MAX_AGE,
health-checked), opened and closed around each request exactly as a WSGI worker
thread does it. What the request sees is unchanged: the same middleware, in the same
order, the same signals, the same response.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers import asgi, base
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase

# Threads for the sync part of requests. A request blocked on a slow outside call
# (systemctl, Netdata, each with its timeout) holds one; the rest go on.
REQUEST_THREADS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="wpdash-request")


class ASGIHandler(asgi.ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # No ThreadSensitiveContext: nothing of the request runs thread-sensitive code
        # but the signals, which share asgiref's one long-lived thread for that.
        await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self._respond_in_thread, thread_sensitive=False, executor=REQUEST_THREADS)(request)

    def _respond_in_thread(self, request: HttpRequest) -> HttpResponseBase:
        # request_started and request_finished run close_old_connections in another
        # thread: this thread's connections are looked after here, before and after.
        close_old_connections()
        try:
            return self.get_response(request)
        finally:
            close_old_connections()

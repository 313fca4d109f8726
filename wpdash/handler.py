"""Django's ASGI handler, with a request's sync work done in one hop to a fixed thread pool.

Every middleware and view of wpdash is sync. Django's stock ASGI handler builds an
async middleware chain around them, so a request goes event loop → thread (the sync
middleware) → event loop (async_to_sync, for Django's async core) → thread (the view)
and back, and it runs each request's sync parts in a new thread made for that request
(asgiref's ThreadSensitiveContext), which also opens a new database connection for
each request, since connections belong to threads.

Here the chain is built sync, as under WSGI, and a request's sync work (the
request_started signal, get_response(), and for a body already in memory the response's
close() with request_finished) runs in one call on REQUEST_THREADS: one hop out and one
back, threads that live as long as the process, and database connections kept by them
between requests (CONN_MAX_AGE, health-checked), opened and closed by the signals in
the very thread that used them, exactly as a WSGI worker thread does it. What the
request sees is unchanged: the same middleware, in the same order, the same signals,
the same response.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import asgi, base
from django.core.handlers.asgi import get_script_prefix
from django.db import close_old_connections
from django.http import HttpResponseBase
from django.urls import set_script_prefix

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
        # No ThreadSensitiveContext: nothing of the request runs thread-sensitive code.
        await self.handle(scope, receive, send)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        """Django's handle(), with its three hops (request_started, the response, its
        close) made one: the signals run in the request's thread, where its database
        connections are. Not kept from Django's: the task listening for a disconnect
        while the view runs, which can cancel only async views (wpdash has none)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        response = await sync_to_async(self._respond_in_thread, thread_sensitive=False, executor=REQUEST_THREADS)(
            scope, body_file
        )
        try:
            await self.send_response(response, send)
        finally:
            if response.streaming:  # its content is read while it is sent: closed only then
                await sync_to_async(response.close, thread_sensitive=False, executor=REQUEST_THREADS)()
            body_file.close()

    def _respond_in_thread(self, scope: Any, body_file: Any) -> HttpResponseBase:
        signals.request_started.send(sender=self.__class__, scope=scope)  # close_old_connections, here
        request, refusal = self.create_request(scope, body_file)  # a refusal: a bad request's 400
        response = self.get_response(request) if request is not None else cast(HttpResponseBase, refusal)
        if not response.streaming:
            # The body is bytes already: request_finished (close_old_connections) in this
            # thread, before the answer goes out, as a WSGI worker ends a request.
            response.close()
        else:
            # Its close (and request_finished) come after the sending, in whichever
            # request thread is free: this thread's connections are looked after now.
            close_old_connections()
        return response

"""A short-lived, single-flight cache for Netdata fetches.

Many open dashboards ask for the same charts every few seconds. Within `ttl`
seconds of a fetch finishing, every caller gets that fetch's outcome; while a fetch
is running, callers for the same key wait for it instead of starting their own. So
N concurrent requests cost about one fetch per key per `ttl`, whatever N is.

Failures are cached the same way: when Netdata is down, 100 requests cost one
connection attempt per key per interval, not 100 timeouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    future: Future[T]
    started: float
    expires: float = field(default=float("inf"))


class SingleFlightCache(Generic[T]):
    def __init__(self, ttl: float, abandon_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        """`abandon_after`: a fetch still running after this long is presumed stuck
        (its caller already gave up), so the next caller starts a fresh one."""
        self.ttl = ttl
        self.abandon_after = abandon_after
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry[T]] = {}

    def get(self, key: Hashable, fetch: Callable[[], T], start: Callable[[Callable[[], None]], object]) -> Future[T]:
        """A future for `key`'s value: cached, in flight, or a new fetch.

        `fetch` must not raise: it returns its outcome (errors included) as a value, so
        each waiter can turn it into its own exception. `start` runs a callable
        (e.g. a thread pool's submit); it is called outside the lock. Anything but a
        finished, fresh outcome means waiting.
        """
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None and entry.future.done() and now < entry.expires:
                return entry.future
            if entry is not None:
                if not entry.future.done() and now - entry.started < self.abandon_after:
                    return entry.future
            entry = _Entry(future=Future(), started=now)
            self._entries[key] = entry

        def forget(exc: BaseException) -> None:
            # Never leave waiters hanging, and never cache a bug.
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            entry.future.set_exception(exc)

        def run() -> None:
            try:
                value = fetch()
            except BaseException as exc:
                forget(exc)
                raise
            with self._lock:
                # The interval counts from when the answer arrived, not when it was asked.
                entry.expires = self._clock() + self.ttl
            entry.future.set_result(value)

        try:
            start(run)
        except BaseException as exc:  # e.g. the pool is shutting down
            forget(exc)
            raise
        return entry.future

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

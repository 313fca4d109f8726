"""The one way wpdash keeps an answer for a while: a named, keyed, short-lived cache.

Open dashboards ask the same questions all day (the units' states, whether a journal
is readable, who a token belongs to, the health verdict), and the honest answer
changes slowly. Each such answer is kept in a `TTLCache`: cachetools' TTL cache
behind a lock (request threads, the logs' threads and the event loop share them), in
this process only. A value is kept for the cache's `seconds`, and a change wpdash
itself makes drops it at once (`forget`), as zulip's `cache_with_key` flushes a key on
change. Every cache is registered by name, so `clear_all()` empties them together
(tests, between two of them).

Not for Netdata's charts: many requests for one chart must wait for one fetch in
flight, which adapters/metrics/cache.py (single flight) does. Not for what several
processes share (the set-up checks): that is Django's cache (REDIS_URL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache as _Store

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_registry: dict[str, TTLCache] = {}
_others: dict[str, Callable[[], None]] = {}  # caches of another kind: name -> how to empty it


def _now() -> float:
    # Looked up on every call, not bound once: a test that moves the monotonic clock
    # forward sees every cache expire as it would.
    return time.monotonic()


_registry_lock = threading.Lock()


class TTLCache(Generic[K, V]):
    """Values by key, each kept `seconds` from when it was stored, at most `maxsize` of them
    (the least recently used go first). Thread-safe; `compute` runs outside the lock."""

    def __init__(self, name: str, seconds: float, maxsize: int = 1024) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._store: _Store[K, V] = _Store(maxsize=maxsize, ttl=seconds, timer=_now)
        with _registry_lock:
            _registry[name] = self

    @property
    def seconds(self) -> float:
        return float(self._store.ttl)

    def get(self, key: K) -> V | None:
        """The value kept for `key`, or None (a cache never keeps None)."""
        with self._lock:
            return self._store.get(key)

    def set(self, key: K, value: V) -> V:
        if value is not None:
            with self._lock:
                self._store[key] = value
        return value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The kept value, or `compute()`'s, kept from now on. Two callers missing at once
        both compute: right for the short, cheap answers kept here (a fetch many must
        share is the single-flight cache's business). An exception is not kept."""
        found = self.get(key)
        return found if found is not None else self.set(key, compute())

    def forget(self, key: K | None = None) -> None:
        """Drop `key` (everything when None): what it said has changed."""
        with self._lock:
            if key is None:
                self._store.clear()
            else:
                self._store.pop(key, None)


def register(name: str, clear: Callable[[], None]) -> None:
    """A cache of another kind (Netdata's single-flight fetches) that clear_all() empties too;
    a later one under the same name replaces it."""
    with _registry_lock:
        _others[name] = clear


def clear_all() -> None:
    """Empty every cache of this process: what one expiry later looks like."""
    with _registry_lock:
        clears = [cache.forget for cache in _registry.values()] + list(_others.values())
    for clear in clears:
        clear()

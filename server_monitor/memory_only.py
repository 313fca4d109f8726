"""Answers made from memory alone, in the event loop, with a way out for everything else.

A warm hot read (a cached user, Netdata's charts or the services list already
fetched) costs less to make than its hop to a request thread and back through daphne
(bench/RESULTS.md). So wpdash.hot_reads first makes such an answer in the event loop,
inside `memory_only()`. Every place that would wait — a database query, an outside
call, a first host sample, a fetch in flight — calls `before_blocking()` first, which
in that mode raises WouldBlock instead; the request is then answered in a request
thread exactly as before, where the same call waits as it always did. Django itself
refuses a query from the event loop (SynchronousOnlyOperation), which ends the
attempt the same way, should a query be reached without a guard.

Outside `memory_only()` (request threads, commands, tests) `before_blocking()` does
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_memory_only: ContextVar[bool] = ContextVar("wpdash_memory_only", default=False)


class WouldBlock(Exception):
    """The answer needs a wait; make it where waiting is allowed."""


@contextmanager
def memory_only() -> Iterator[None]:
    """Within this block `before_blocking()` raises WouldBlock (for this context only:
    other tasks and threads are untouched)."""
    token = _memory_only.set(True)
    try:
        yield
    finally:
        _memory_only.reset(token)


def before_blocking(what: str) -> None:
    """Call right before anything that may wait on the outside world; `what` names it."""
    if _memory_only.get():
        raise WouldBlock(what)

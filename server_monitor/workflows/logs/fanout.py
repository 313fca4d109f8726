"""Live tail of a log for many clients: one reader per (process, log), fanned out.

The first subscriber to a log starts a Follower; every later subscriber to the same
log in the same event loop shares it; the last one to leave stops it (its task ends
and its descriptors are closed). The Follower polls its Tracker (the blocking half,
adapters.logs.reader) in a small thread pool, so a slow disk never stalls the event
loop, and pushes each batch of new lines to every subscription.

It polls when the kernel says the log changed: the Tracker's wake_descriptor (inotify
for a file, journalctl's pipe for a journal) is waited on by the event loop, with
SAFETY_NET as a slow timer in case an event is missed. Without a descriptor (no
inotify, WPDASH_LOG_WATCH=poll, a deadline pending in the Tracker) it polls every
POLL_INTERVAL, as it always did.

Subscriptions are bounded queues: a client that cannot keep up, or that paused,
never slows the reader or the other clients. Past MAX_BACKLOG_LINES undelivered
lines the oldest are dropped and counted, and the client is told how many
("skipped") before the lines that follow; nothing is dropped silently.

A new subscriber's first lines come from the lines this reader published last, taken
in the same step that registers its queue, so the first message and the stream that
follows meet exactly: no line twice, none lost.

A subscription may carry a filter (adapters.logs.tail.LineFilter): it is applied as
lines enter that subscription's queue, so the queue's bound and its "skipped" count
are about the lines that client would be sent, and other subscriptions of the same
reader are untouched. Each batch is casefolded once, for all the filtered ones.

Nothing here blocks the event loop: every stat, open and read happens in the
Tracker, called in _EXECUTOR's threads, one call per follower at a time. Why threads
and why polling: docs/architecture.md, "Decisions".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings

from server_monitor.adapters.logs.journal_reader import JournalTracker
from server_monitor.adapters.logs.reader import PollResult, Tracker
from server_monitor.adapters.logs.sources import LogSource, note_availability
from server_monitor.adapters.logs.tail import LineFilter

logger = logging.getLogger("server_monitor.logs")

POLL_INTERVAL = 0.05  # seconds, where there is nothing to wait on; a line's delay stays well under 250 ms
SAFETY_NET = 1.0  # seconds between polls with nothing announced: a missed event costs at most this
# A busy log read on every write would cost each client one message per write. So
# publishes are spaced by GATHER_PER_CLIENT per subscriber (at most MAX_GATHER): one
# client gets every write at once, 200 get a message per 25 ms. A line after a quiet
# spell goes out at once, whatever the count.
GATHER_PER_CLIENT = 0.000125
MAX_GATHER = 0.025
INITIAL_LINES = 50
MAX_BATCH_LINES = 500  # lines per published batch, and so per WebSocket message
MAX_BACKLOG_LINES = 10_000  # per subscriber: ~5 s at 2,000 lines/s
ERROR_RETRY = 1.0

# Few threads suffice: each follower has at most one call in flight.
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="wpdash-logs")
_followers: dict[tuple[asyncio.AbstractEventLoop, str, str], Follower] = {}

T = TypeVar("T")


class Batch:
    """Lines published together; shared by every subscription that receives them.

    `encoded` lets the consumer serialise a batch once for all its clients.
    """

    __slots__ = ("encoded", "lines")

    def __init__(self, lines: tuple[str, ...]) -> None:
        self.lines = lines
        self.encoded: str | None = None

    def select(self, match: LineFilter, folded: tuple[str, ...] | None = None) -> Batch | None:
        """The lines `match` accepts (this very batch when it accepts them all); `folded`
        are the lines casefolded, when the caller has them already."""
        if folded is None:
            folded = tuple(line.casefold() for line in self.lines)
        needle = match.folded
        kept = tuple(line for line, low in zip(self.lines, folded, strict=True) if needle in low)
        if len(kept) == len(self.lines):
            return self  # keeps the encoding shared with the other clients
        return Batch(kept) if kept else None


@dataclass
class Delivery:
    skipped: int  # lines dropped (client too slow, or paused too long) before these
    batches: list[Batch]


class Subscription:
    """One client's view of a follower: its first lines, then a bounded queue."""

    def __init__(self, follower: Follower, initial: list[str], reason: str | None) -> None:
        self.initial = initial
        self.reason = reason  # why the log is not available right now, if it is not
        self._follower = follower
        self._batches: deque[Batch] = deque()
        self._pending = 0
        self._skipped = 0
        self._paused = False
        self._wakeup = asyncio.Event()
        self._filter: LineFilter | None = None
        self.closed = False

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def filter(self) -> LineFilter | None:
        return self._filter

    def set_filter(self, match: LineFilter | None) -> None:
        """From now on only lines `match` accepts (None: every line), the held ones too.

        Lines already left out stay out: clearing a filter changes what comes next.
        """
        self._filter = match
        if match is None:
            return
        kept = [chosen for batch in self._batches if (chosen := batch.select(match)) is not None]
        self._batches = deque(kept)
        self._pending = sum(len(batch.lines) for batch in kept)

    def push(self, batch: Batch, folded: tuple[str, ...] | None = None) -> None:
        if self._filter is not None:
            chosen = batch.select(self._filter, folded)
            if chosen is None:
                return
            batch = chosen
        self._batches.append(batch)
        self._pending += len(batch.lines)
        while self._pending > MAX_BACKLOG_LINES:
            excess = self._pending - MAX_BACKLOG_LINES
            oldest = self._batches[0]
            if len(oldest.lines) <= excess:
                self._batches.popleft()
                dropped = len(oldest.lines)
            else:
                self._batches[0] = Batch(oldest.lines[excess:])
                dropped = excess
            self._pending -= dropped
            self._skipped += dropped
        if not self._paused:
            self._wakeup.set()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        if self._pending or self._skipped:
            self._wakeup.set()

    async def get(self) -> Delivery:
        """The next lines to send, at most MAX_BATCH_LINES; waits while paused or idle."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._paused and (self._pending or self._skipped):
                break
        batches: list[Batch] = []
        room = MAX_BATCH_LINES
        while self._batches and room > 0:
            batch = self._batches[0]
            if len(batch.lines) > room:
                if batches:
                    break
                self._batches[0] = Batch(batch.lines[room:])
                batch = Batch(batch.lines[:room])
            else:
                self._batches.popleft()
            batches.append(batch)
            room -= len(batch.lines)
            self._pending -= len(batch.lines)
        if self._pending:
            self._wakeup.set()
        skipped, self._skipped = self._skipped, 0
        return Delivery(skipped, batches)

    async def close(self) -> None:
        """Leave; the last subscription to leave stops the reader and waits for it."""
        if self.closed:
            return
        self.closed = True
        await self._follower.unsubscribe(self)


class Follower:
    """The one reader of one log in one event loop."""

    def __init__(self, source: LogSource, key: tuple[asyncio.AbstractEventLoop, str, str]) -> None:
        self.source = source
        self._key = key
        # A file is followed like tail -F; a unit's journal through journalctl --follow.
        self._tracker: Tracker | JournalTracker
        if source.unit:
            self._tracker = JournalTracker(source.unit)
        else:
            self._tracker = Tracker(source.path, watch=settings.WPDASH_LOG_WATCH == "inotify")
        self._subscriptions: set[Subscription] = set()
        self._waiting = 0
        self._recent: deque[str] = deque(maxlen=INITIAL_LINES)
        self._ready = asyncio.Event()
        self._stopping = False
        self._sleeping = False
        self._in_flight: concurrent.futures.Future | None = None
        self.reason: str | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"wpdash log follower {source.name}")

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def open_descriptors(self) -> list[int]:
        return [] if self.task.done() else self._tracker.open_descriptors

    @property
    def wake_descriptor(self) -> int | None:
        return None if self.task.done() else self._tracker.wake_descriptor

    async def subscribe(self) -> Subscription:
        self._waiting += 1
        try:
            await self._ready.wait()
        except BaseException:
            self._waiting -= 1
            if not self._subscriptions and not self._waiting:
                self._stop()  # the only would-be subscriber gave up while we started
            raise
        self._waiting -= 1
        # No await from here on: the snapshot and the registration are one step.
        subscription = Subscription(self, list(self._recent), self.reason)
        self._subscriptions.add(subscription)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        if not self._subscriptions and not self._waiting:
            self._stop()
            # Shielded: a consumer cancelled while leaving must not leave a half-stopped reader.
            await asyncio.shield(self.task)

    def _stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        if _followers.get(self._key) is self:
            del _followers[self._key]
        if self._sleeping:
            self.task.cancel()  # safe: no thread is using the descriptors while we sleep

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        future = _EXECUTOR.submit(function, *args)
        self._in_flight = future
        return await asyncio.wrap_future(future)

    async def _sleep(self, seconds: float) -> None:
        self._sleeping = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self._sleeping = False

    async def _wait_for_change(self) -> None:
        """Until the tracker's descriptor is readable (at most SAFETY_NET), or POLL_INTERVAL.

        The loop only waits on the descriptor, between two polls; the tracker reads it
        (drains the events) at the start of the next poll, in its thread. An event that
        came during the poll leaves it readable, so this returns at once: none is lost.
        """
        fd = self._tracker.wake_descriptor
        if fd is None:
            await self._sleep(POLL_INTERVAL)
            return
        loop = asyncio.get_running_loop()
        changed: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not changed.done():
                changed.set_result(None)

        loop.add_reader(fd, readable)
        try:
            self._sleeping = True  # nothing runs in a thread now: _stop may cancel us
            await asyncio.wait_for(changed, SAFETY_NET)
        except TimeoutError:
            pass
        finally:
            self._sleeping = False
            loop.remove_reader(fd)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        published = 0.0  # loop.time() of the last publish
        try:
            try:
                self._recent.extend(await self._call(self._tracker.start, INITIAL_LINES))
            except Exception:
                logger.exception("cannot start following log %s", self.source.name)
            self._set_reason(self._tracker.reason)
            self._ready.set()
            while not self._stopping:
                try:
                    result: PollResult = await self._call(self._tracker.poll)
                except Exception:
                    logger.exception("reading log %s failed; retrying", self.source.name)
                    await self._sleep(ERROR_RETRY)
                    continue
                self._set_reason(result.reason)
                if result.lines:
                    self._publish(result.lines)
                    published = loop.time()
                if not result.more and not self._stopping:
                    await self._wait_for_change()
                    gather = min(MAX_GATHER, GATHER_PER_CLIENT * len(self._subscriptions))
                    if (wait := published + gather - loop.time()) > 0 and not self._stopping:
                        await self._sleep(wait)  # let the writes of the next moments join this one
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            self._ready.set()  # nobody waits forever for a reader that is gone
            in_flight = self._in_flight
            if in_flight is not None and not in_flight.done():
                # Cancelled mid-read (event loop shutting down): the thread still uses the
                # descriptors, so they are closed when it is done with them.
                in_flight.add_done_callback(lambda _: self._tracker.close())
            else:
                self._tracker.close()

    def _set_reason(self, reason: str | None) -> None:
        if reason != self.reason:
            note_availability(self.source, reason)  # logged once per change, as for REST
        self.reason = reason

    def _publish(self, lines: list[str]) -> None:
        self._recent.extend(lines)
        filtering = any(subscription.filter is not None for subscription in self._subscriptions)
        for start in range(0, len(lines), MAX_BATCH_LINES):
            batch = Batch(tuple(lines[start : start + MAX_BATCH_LINES]))
            # Casefolded once per batch for every filtered client, and not kept.
            folded = tuple(line.casefold() for line in batch.lines) if filtering else None
            for subscription in self._subscriptions:
                subscription.push(batch, folded)


async def subscribe(source: LogSource) -> Subscription:
    """Join the reader of `source` in this event loop, starting it if there is none."""
    loop = asyncio.get_running_loop()
    key = (loop, source.name, source.path)
    follower = _followers.get(key)
    if follower is None or follower.stopping:
        follower = _followers[key] = Follower(source, key)
    return await follower.subscribe()


def active_followers() -> list[Follower]:
    """The readers running in this process (for tests and diagnostics)."""
    return list(_followers.values())

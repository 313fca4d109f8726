"""Live tail of a log for many clients: one shared reader per (event loop, source), fanned out.

The first subscriber to a source starts a SharedReader; every later subscriber to the
same source in the same event loop shares it; the last one to leave stops it (its task
ends and its follower is closed). The SharedReader drives the source's blocking
follower (source.follower(): a FileFollower or a JournalFollower, one protocol:
adapters.lines.Follower) in a small thread pool, so a slow disk never stalls the event
loop, and pushes each batch of new lines to every Subscription (workflows.logs.subscription:
one client's bounded queue, pause, filter and skipped count).

It polls when the kernel says the log changed: the follower's wake_descriptor (inotify
for a file, journalctl's pipe for a journal) is waited on by the event loop, with
SAFETY_NET as a slow timer in case an event is missed. Without a descriptor (no
inotify, WPDASH_LOG_WATCH=poll, a deadline pending in the follower) it polls every
POLL_INTERVAL, as it always did.

A new subscriber's first lines come from the lines this reader published last, taken
in the same step that registers its queue, with the follower's reason (why the log
cannot be read now), so the first message and the stream that follows meet exactly:
no line twice, none lost. A change of that reason (the log deleted, swapped for a
link, journalctl ended; readable again) goes to every subscription in order with the
lines: lines read before the log went away come before the news, lines of a log that
is back come after it. Each batch is casefolded once, for all the filtered subscriptions.

Nothing here blocks the event loop: every stat, open and read happens in the
follower, called in _EXECUTOR's threads, one call per reader at a time. Why threads
and why polling: docs/architecture.md, "Decisions".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from server_monitor.adapters.lines import PollResult
from server_monitor.workflows.logs.sources import LogSource, note_availability
from server_monitor.workflows.logs.subscription import MAX_BATCH_LINES, Availability, Batch, Subscription

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
ERROR_RETRY = 1.0

# Few threads suffice: each reader has at most one call in flight.
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="wpdash-logs")
_readers: dict[tuple[asyncio.AbstractEventLoop, str, str], SharedReader] = {}

T = TypeVar("T")


class SharedReader:
    """The one reader of one log source in one event loop."""

    def __init__(self, source: LogSource, key: tuple[asyncio.AbstractEventLoop, str, str]) -> None:
        self.source = source
        self._key = key
        self._follower = source.follower()  # a file like tail -F; a unit's journal by journalctl --follow
        self._subscriptions: set[Subscription] = set()
        self._waiting = 0
        self._recent: deque[str] = deque(maxlen=INITIAL_LINES)
        self._ready = asyncio.Event()
        self._stopping = False
        self._sleeping = False
        self._in_flight: concurrent.futures.Future | None = None
        self.reason: str | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"wpdash log reader {source.name}")

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def open_descriptors(self) -> list[int]:
        return [] if self.task.done() else self._follower.open_descriptors

    @property
    def wake_descriptor(self) -> int | None:
        return None if self.task.done() else self._follower.wake_descriptor

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
        subscription = Subscription(list(self._recent), self.reason, self.unsubscribe)
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
        if _readers.get(self._key) is self:
            del _readers[self._key]
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
        """Until the follower's descriptor is readable (at most SAFETY_NET), or POLL_INTERVAL.

        The loop only waits on the descriptor, between two polls; the follower reads it
        (drains the events) at the start of the next poll, in its thread. An event that
        came during the poll leaves it readable, so this returns at once: none is lost.
        """
        fd = self._follower.wake_descriptor
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
                self._recent.extend(await self._call(self._follower.start, INITIAL_LINES))
            except Exception:
                logger.exception("cannot start following log %s", self.source.name)
            self._set_reason(self._follower.reason)
            self._ready.set()
            while not self._stopping:
                try:
                    result: PollResult = await self._call(self._follower.poll)
                except Exception:
                    logger.exception("reading log %s failed; retrying", self.source.name)
                    await self._sleep(ERROR_RETRY)
                    continue
                if self.reason is not None:  # back, or another reason: said before the lines it brings
                    self._set_reason(result.reason)
                if result.lines:
                    self._publish(result.lines)
                    published = loop.time()
                self._set_reason(result.reason)  # gone: said after the lines read before it went
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
                in_flight.add_done_callback(lambda _: self._follower.close())
            else:
                self._follower.close()

    def _set_reason(self, reason: str | None) -> None:
        """A change of the follower's reason: logged (once per change, as for REST) and
        announced to every subscription after the lines published so far."""
        if reason == self.reason:
            return
        note_availability(self.source, reason)
        self.reason = reason
        change = Availability(reason)
        for subscription in self._subscriptions:
            subscription.announce(change)

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
    reader = _readers.get(key)
    if reader is None or reader.stopping:
        reader = _readers[key] = SharedReader(source, key)
    return await reader.subscribe()


def active_readers() -> list[SharedReader]:
    """The readers running in this process (for tests and diagnostics)."""
    return list(_readers.values())

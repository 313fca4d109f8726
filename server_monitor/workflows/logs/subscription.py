"""One client's view of a shared reader: its first lines, then a bounded queue.

A Subscription is made by the shared reader (workflows.logs.reader) in the same step
that registers it, so its `initial` lines and `reason` and what it is pushed from
then on meet exactly: no line twice, none lost. The reader pushes every Batch of new
lines, and every change of the log's availability (an Availability: why it cannot be
read now, or that it can again), in the order they happened.

The queue is bounded: a client that cannot keep up, or that paused, never slows the
reader or the other clients. Past MAX_BACKLOG_LINES undelivered lines the oldest are
dropped and counted, and the client is told how many ("skipped") before what follows;
nothing is dropped silently. An availability change is not a line: it is never
dropped, and one not yet delivered gives way to the next (the newer state is what the
client needs to know), so they too stay bounded.

A subscription may carry a filter (adapters.logs.tail.LineFilter, the one matching
rule): it is applied as lines enter this queue, so the bound and the "skipped" count
are about the lines this client would be sent, and other subscriptions of the same
reader are untouched. A pause holds lines back; an availability change that no held
line precedes is delivered all the same.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server_monitor.adapters.logs.tail import LineFilter

MAX_BATCH_LINES = 500  # lines per published batch, and so per WebSocket message
MAX_BACKLOG_LINES = 10_000  # per subscriber: ~5 s at 2,000 lines/s


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


@dataclass(frozen=True)
class Availability:
    """The log's availability changed: `reason` says why it cannot be read now, None that it can again."""

    reason: str | None

    @property
    def available(self) -> bool:
        return self.reason is None


@dataclass
class Delivery:
    """What to send next, in this order: the count of lines dropped before it, an
    availability change, then the lines."""

    skipped: int  # lines dropped (client too slow, or paused too long) before these
    batches: list[Batch]
    availability: Availability | None = None


class Subscription:
    def __init__(
        self, initial: list[str], reason: str | None, leave: Callable[[Subscription], Awaitable[None]]
    ) -> None:
        self.initial = initial
        self.reason = reason  # why the log is not available right now, if it is not
        self._leave = leave
        self._items: deque[Batch | Availability] = deque()  # in the order they are to be sent
        self._pending = 0  # lines in _items
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
        kept: deque[Batch | Availability] = deque()
        for item in self._items:
            chosen = item.select(match) if isinstance(item, Batch) else item
            if chosen is not None:
                _append(kept, chosen)
        self._items = kept
        self._pending = sum(len(item.lines) for item in kept if isinstance(item, Batch))

    def push(self, batch: Batch, folded: tuple[str, ...] | None = None) -> None:
        """New lines (`folded`: the same casefolded, when the reader has them for every filter)."""
        if self._filter is not None:
            chosen = batch.select(self._filter, folded)
            if chosen is None:
                return
            batch = chosen
        self._items.append(batch)
        self._pending += len(batch.lines)
        self._drop_oldest()
        self._wake()

    def announce(self, availability: Availability) -> None:
        """The log's availability changed, after the lines pushed so far."""
        _append(self._items, availability)
        self._wake()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake()

    async def get(self) -> Delivery:
        """What to send next, at most MAX_BATCH_LINES lines; waits while idle, or paused
        with nothing but lines to send."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._ready():
                break
        availability = self._items[0] if self._items else None
        if isinstance(availability, Availability):
            self._items.popleft()
        else:
            availability = None
        batches: list[Batch] = []
        room = MAX_BATCH_LINES
        while not self._paused and self._items and room > 0:
            batch = self._items[0]
            if not isinstance(batch, Batch):
                break  # an availability change: sent after these lines, in a delivery of its own
            if len(batch.lines) > room:
                if batches:
                    break
                self._items[0] = Batch(batch.lines[room:])
                batch = Batch(batch.lines[:room])
            else:
                self._items.popleft()
            batches.append(batch)
            room -= len(batch.lines)
            self._pending -= len(batch.lines)
        skipped, self._skipped = self._skipped, 0
        self._wake()  # what is left, for the next call
        return Delivery(skipped, batches, availability)

    async def close(self) -> None:
        """Leave; the last subscription to leave stops the reader and waits for it."""
        if self.closed:
            return
        self.closed = True
        await self._leave(self)

    def _ready(self) -> bool:
        """Something to send: anything unless paused; while paused, only an availability
        change that no held line precedes."""
        if self._paused:
            return bool(self._items) and isinstance(self._items[0], Availability)
        return bool(self._items) or self._skipped > 0

    def _wake(self) -> None:
        if self._ready():
            self._wakeup.set()

    def _drop_oldest(self) -> None:
        """Past MAX_BACKLOG_LINES, drop the oldest lines and count them; an availability
        change among them stays, in front of the lines that follow it."""
        while self._pending > MAX_BACKLOG_LINES:
            notice = self._items[0]
            if isinstance(notice, Availability):
                self._items.popleft()
            oldest = self._items[0]  # a batch: two changes in a row are one (_append)
            assert isinstance(oldest, Batch)
            excess = self._pending - MAX_BACKLOG_LINES
            if len(oldest.lines) <= excess:
                self._items.popleft()
                dropped = len(oldest.lines)
            else:
                self._items[0] = Batch(oldest.lines[excess:])
                dropped = excess
            self._pending -= dropped
            self._skipped += dropped
            if isinstance(notice, Availability):
                _append_left(self._items, notice)


def _append(items: deque[Batch | Availability], item: Batch | Availability) -> None:
    """Add `item` at the end; a change right after another one not sent yet replaces it."""
    if isinstance(item, Availability) and items and isinstance(items[-1], Availability):
        items[-1] = item
    else:
        items.append(item)


def _append_left(items: deque[Batch | Availability], notice: Availability) -> None:
    """Put a change back in front, unless a newer one is there already."""
    if not (items and isinstance(items[0], Availability)):
        items.appendleft(notice)

"""One client's view of a shared reader: its first lines, then a bounded queue.

A Subscription is made by the shared reader (workflows.logs.reader) in the same step
that registers it, so its `initial` lines and `reason` and what it is pushed from
then on meet exactly: no line twice, none lost.

The queue is bounded: a client that cannot keep up, or that paused, never slows the
reader or the other clients. Past MAX_BACKLOG_LINES undelivered lines the oldest are
dropped and counted, and the client is told how many ("skipped") before the lines that
follow; nothing is dropped silently.

A subscription may carry a filter (adapters.logs.tail.LineFilter, the one matching
rule): it is applied as lines enter this queue, so the bound and the "skipped" count
are about the lines this client would be sent, and other subscriptions of the same
reader are untouched.
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


@dataclass
class Delivery:
    skipped: int  # lines dropped (client too slow, or paused too long) before these
    batches: list[Batch]


class Subscription:
    def __init__(
        self, initial: list[str], reason: str | None, leave: Callable[[Subscription], Awaitable[None]]
    ) -> None:
        self.initial = initial
        self.reason = reason  # why the log is not available right now, if it is not
        self._leave = leave
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
        """New lines (`folded`: the same casefolded, when the reader has them for every filter)."""
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
        await self._leave(self)

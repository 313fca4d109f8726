"""After a restart: the last 24 h of a site, counted again from its logs, backwards.

The counter follows a log from a known byte (logfiles.start_following); everything
before that byte is read here: the file itself from that byte backwards, then its
rotated copies, newest first (a gzip copy whole, since gzip reads only forwards),
until a line older than the window, the byte budget (WPDASH_SITES_REBUILD_BYTES), a
copy that cannot be read, or the oldest copy's first byte.

What it gives is a *replacement*, never an addition: every bucket from `bound` on is
complete as counted here, and replaces what is stored (in one transaction, by the
counter), so a rebuild after a crash, or two in a row, never counts a line twice.
Buckets before `bound` are left as stored. `bound`:
- the window's start, when the reading went past it (stop "window");
- the first ten minutes of the oldest line, when every log there is was read ("logs");
- otherwise (the budget, a truncation, an unreadable copy) the first ten-minute
  boundary that no unread line can fall after: nginx stamps a line when the request
  ends, in each worker's own cached clock, so lines are in time order to within a few
  seconds; DISORDER allows a minute.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from server_monitor.adapters.nginx.log_format import LineParser
from server_monitor.workflows.sites import logfiles
from server_monitor.workflows.sites.buckets import KEPT_IN_ROW, MINUTE, TEN_MINUTES, Counts
from server_monitor.workflows.sites.tally import Tally

WINDOW_SECONDS = 24 * 3600
MINUTE_ROWS_SECONDS = 2 * 3600  # minute rows serve the 5m and 1h windows; older ones are not kept
DISORDER = 60  # seconds a line may be stamped earlier than a line written before it


def window_start(now: float) -> int:
    """The first ten-minute bucket of the 24 h window that ends now."""
    start = int(now) - WINDOW_SECONDS
    return start - start % TEN_MINUTES


def minute_rows_start(now: float) -> int:
    start = int(now) - MINUTE_ROWS_SECONDS
    return start - start % MINUTE


def _ceil(seconds: int, span: int) -> int:
    return -(-seconds // span) * span


@dataclass
class Rebuilt:
    minutes: dict[int, Counts]  # minute rows, from max(bound, minute_rows_start) on
    tens: dict[int, Counts]  # ten-minute rows, from bound on
    bound: int | None  # every row from here on is replaced; None: nothing is (nothing was read)
    stop: str  # window, budget, logs, truncated or unreadable (models.SiteState.Stop)
    bytes_read: int = 0
    lines: int = 0
    seconds: float = 0.0
    samples: list[str] = field(default_factory=list)
    note: str | None = None  # what stopped it, when that is worth saying (an unreadable copy)


class _Reading:
    """The state of one rebuild: what is counted, and how far back it got."""

    def __init__(self, parser: LineParser, now: float) -> None:
        self.tally = Tally(parser)
        self.now = int(now)
        self.cutoff = window_start(now)
        self.minute_floor = minute_rows_start(now)
        self.tens: dict[int, Counts] = {}
        self.kept_minutes: dict[int, Counts] = {}
        self.newer_time: int | None = None  # the nearest understood line after the ones being read
        self.position_time: int | None = None  # the time of the earliest line read, by position
        self.oldest: int | None = None

    def backwards_block(self, lines: list[str]) -> bool:
        """Count a block of lines (file order) read backwards; True once past the window."""
        current = self.newer_time
        earliest = None
        count = self.tally.count
        for line in reversed(lines):
            seconds = count(line, current if current is not None else self.now, self.cutoff)
            if seconds is not None:
                current = earliest = seconds
                if self.oldest is None or seconds < self.oldest:
                    self.oldest = seconds
        self.newer_time = current
        if earliest is not None:
            self.position_time = earliest
        self.fold(keep_after=self.position_time)
        return self.oldest is not None and self.oldest < self.cutoff - DISORDER

    def forwards_block(self, lines: list[str], previous: int | None) -> int | None:
        """Count a block of a copy read forwards (gzip); returns the last understood time."""
        count = self.tally.count
        for line in lines:
            seconds = count(line, previous if previous is not None else self.now, self.cutoff)
            if seconds is not None:
                previous = seconds
                if self.position_time is None or seconds < self.position_time:
                    self.position_time = seconds
                if self.oldest is None or seconds < self.oldest:
                    self.oldest = seconds
        return previous

    def fold(self, keep_after: int | None = None) -> None:
        """Move counted minutes into their ten minutes (and the minute rows kept), except
        those within DISORDER of where the reading is, which may get more lines. A minute
        that gets more lines later is folded again: what is folded is only what came since."""
        for start in list(self.tally.minutes):
            if keep_after is not None and start <= keep_after + DISORDER:
                continue
            counts = self.tally.minutes.pop(start)
            period = start - start % TEN_MINUTES
            ten = self.tens.get(period)
            if ten is None:
                ten = self.tens[period] = Counts()
            ten.merge(counts)
            if start >= self.minute_floor:
                kept = self.kept_minutes.get(start)
                if kept is None:
                    kept = self.kept_minutes[start] = counts
                else:
                    kept.merge(counts)
                for top in (kept.paths, kept.error_paths, kept.clients):
                    top.squeeze(KEPT_IN_ROW[MINUTE])
        # Ten minutes the reading has gone past keep only what their row will keep: a
        # day of them in memory stays small (what is dropped is remembered as their cut).
        for period, ten in self.tens.items():
            if keep_after is None or period > keep_after + DISORDER:
                for top in (ten.paths, ten.error_paths, ten.clients):
                    top.squeeze(KEPT_IN_ROW[TEN_MINUTES])

    def result(self, stop: str, bytes_read: int, started: float, note: str | None = None) -> Rebuilt:
        self.fold()
        if stop == "window":
            bound: int | None = self.cutoff
        elif self.oldest is None:
            bound = None  # nothing understood was read: replace nothing
        elif stop == "logs":
            bound = self.oldest - self.oldest % TEN_MINUTES
        else:
            assert self.position_time is not None
            bound = _ceil(self.position_time + DISORDER, TEN_MINUTES)
        if bound is not None:
            bound = max(bound, self.cutoff)
        if bound is None or bound > self.now:
            return Rebuilt({}, {}, None, stop, bytes_read, self.tally.lines, time.monotonic() - started, note=note)
        minutes = {start: c for start, c in self.kept_minutes.items() if start >= max(bound, self.minute_floor)}
        tens = {start: c for start, c in self.tens.items() if start >= bound}
        seconds = time.monotonic() - started
        samples = list(self.tally.samples)
        return Rebuilt(minutes, tens, bound, stop, bytes_read, self.tally.lines, seconds, samples, note)


class Cancelled(Exception):
    """The counter is stopping: the rebuild gave up between two blocks, nothing to store."""


def rebuild(
    following: logfiles.Following,
    parser: LineParser,
    budget: int,
    now: float | None = None,
    cancel: threading.Event | None = None,
) -> Rebuilt:
    """Count the site's log before `following.boundary`, backwards, within `budget` bytes.
    Blocking (file reads and parsing): run it in a thread. `cancel` set ends it between
    two blocks (Cancelled), so a stopping counter does not wait for a whole gigabyte."""
    cancel = cancel or threading.Event()
    started = time.monotonic()
    reading = _Reading(parser, time.time() if now is None else now)
    spent = 0
    progress = logfiles.Progress()
    try:
        for block in logfiles.lines_backwards(following.descriptor, following.boundary, budget, progress, False):
            if cancel.is_set():
                raise Cancelled
            if reading.backwards_block(block):
                return reading.result("window", progress.bytes_read, started)
    except logfiles.Truncated:
        return reading.result("truncated", progress.bytes_read, started)
    spent = progress.bytes_read
    if not progress.reached_start:
        return reading.result("budget", spent, started)
    copies = logfiles.rotated_copies(following.path, following.ident)
    try:
        for copy in copies:
            if copy.descriptor < 0:
                return reading.result("unreadable", spent, started, f"{copy.name}: {copy.reason}")
            progress = logfiles.Progress()
            if copy.compressed:
                size = logfiles.gzip_size(copy.descriptor)
                if size is None or size > budget - spent:
                    return reading.result("budget", spent, started)
                previous = None
                for block in logfiles.lines_gzip(copy.descriptor, progress):
                    if cancel.is_set():
                        raise Cancelled
                    previous = reading.forwards_block(block, previous)
                spent += progress.bytes_read
                reading.fold()
                if reading.oldest is not None and reading.oldest < reading.cutoff - DISORDER:
                    return reading.result("window", spent, started)
                continue
            end = os.fstat(copy.descriptor).st_size
            reading.newer_time = reading.position_time
            try:
                for block in logfiles.lines_backwards(copy.descriptor, end, budget - spent, progress, True):
                    if cancel.is_set():
                        raise Cancelled
                    if reading.backwards_block(block):
                        return reading.result("window", spent + progress.bytes_read, started)
            except logfiles.Truncated:
                return reading.result("truncated", spent + progress.bytes_read, started)
            spent += progress.bytes_read
            if not progress.reached_start:
                return reading.result("budget", spent, started)
        return reading.result("logs", spent, started)
    finally:
        for copy in copies:
            if copy.descriptor >= 0:
                os.close(copy.descriptor)

"""Follow one unit's journal with the followers' protocol (adapters.lines.Follower), so the
shared reader drives it as it drives a file's FileFollower.

`start(count)` gives the unit's last entries and starts a JournalStream (`journalctl
--follow`) at the newest one's cursor (a join without a gap); `poll()` returns what
journalctl printed since, without waiting; `wake_descriptor` turns readable when there
is something to poll. When journalctl ends (the journal was vacuumed under it, a
permission changed, it was killed), `reason` says why and it is started again after
RETRY_SECONDS from the last entry delivered: every entry once, in order. Like the
FileFollower it blocks and is called from one worker thread at a time.
"""

from __future__ import annotations

import time

from server_monitor.adapters.journal import reads
from server_monitor.adapters.journal.entries import JournalUnavailable
from server_monitor.adapters.journal.stream import JournalStream
from server_monitor.adapters.lines import PollResult

RETRY_SECONDS = 2.0
MORE_AT = 1000  # entries in one poll after which the shared reader asks again at once


class JournalFollower:
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.reason: str | None = None
        self._stream: JournalStream | None = None
        self._retry_at = 0.0

    @property
    def open_descriptors(self) -> list[int]:
        return []  # journalctl's pipes belong to its child process, closed by stop()

    @property
    def wake_descriptor(self) -> int | None:
        """journalctl's output, readable when it printed or ended; None while it is not running."""
        if self._stream is None or self.reason is not None:
            return None
        return self._stream.descriptor

    def start(self, count: int) -> list[str]:
        """The unit's last `count` entries as lines, and following from the newest."""
        try:
            tail = reads.last_entries(self.unit, count)
            stream = JournalStream(self.unit, after_cursor=tail.cursor)
            stream.start()
        except JournalUnavailable as error:
            self._unavailable(error)
            return []
        self._stream, self.reason = stream, None
        return tail.lines

    def poll(self) -> PollResult:
        stream = self._stream
        if stream is None:  # never started: the journal may have become readable since
            if time.monotonic() >= self._retry_at:
                lines = self.start(1)  # a log seen for the first time: its newest entry only
                return PollResult(lines, False, self.reason)
            return PollResult([], False, self.reason)
        try:
            if self.reason is not None:  # journalctl ended: start it again after the last entry
                if time.monotonic() < self._retry_at:
                    return PollResult([], False, self.reason)
                stream.restart()
            entries = stream.read_available(0)
        except JournalUnavailable as error:
            self._unavailable(error)
            return PollResult([], False, self.reason)
        self.reason = None
        return PollResult([entry.line for entry in entries], len(entries) >= MORE_AT, None)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None

    def _unavailable(self, error: JournalUnavailable) -> None:
        self.reason = error.detail
        self._retry_at = time.monotonic() + RETRY_SECONDS

"""Follow one unit's journal with the reader's interface, so the fan-out drives it like a file.

`start(count)` gives the unit's last entries and starts `journalctl --follow` at the
newest one's cursor (a join without a gap); `poll()` returns what journalctl printed
since, without waiting; `wake_descriptor` turns readable when there is something to
poll. When journalctl ends (the journal was vacuumed under it, a permission changed,
it was killed), the reason is reported and it is started again after RETRY_SECONDS
from the last entry delivered: every entry once, in order. Like logs.reader.Tracker it
blocks and is called from one worker thread at a time.
"""

from __future__ import annotations

import time

from server_monitor.adapters import journal
from server_monitor.adapters.logs.reader import PollResult

RETRY_SECONDS = 2.0
MORE_AT = 1000  # entries in one poll after which the fan-out asks again at once


class JournalTracker:
    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.reason: str | None = None
        self._follower: journal.JournalFollower | None = None
        self._retry_at = 0.0

    @property
    def open_descriptors(self) -> list[int]:
        return []  # journalctl's pipes belong to its child process, closed by stop()

    @property
    def wake_descriptor(self) -> int | None:
        """journalctl's output, readable when it printed or ended; None while it is not running."""
        if self._follower is None or self.reason is not None:
            return None
        return self._follower.descriptor

    def start(self, count: int) -> list[str]:
        """The unit's last `count` entries as lines, and following from the newest."""
        try:
            tail = journal.last_entries(self.unit, count)
            follower = journal.JournalFollower(self.unit, after_cursor=tail.cursor)
            follower.start()
        except journal.JournalUnavailable as error:
            self._unavailable(error)
            return []
        self._follower, self.reason = follower, None
        return tail.lines

    def poll(self) -> PollResult:
        follower = self._follower
        if follower is None:  # never started: the journal may have become readable since
            if time.monotonic() >= self._retry_at:
                lines = self.start(1)  # a log seen for the first time: its newest entry only
                return PollResult(lines, False, self.reason)
            return PollResult([], False, self.reason)
        try:
            if self.reason is not None:  # journalctl ended: start it again after the last entry
                if time.monotonic() < self._retry_at:
                    return PollResult([], False, self.reason)
                follower.restart()
            entries = follower.read_available(0)
        except journal.JournalUnavailable as error:
            self._unavailable(error)
            return PollResult([], False, self.reason)
        self.reason = None
        return PollResult([entry.line for entry in entries], len(entries) >= MORE_AT, None)

    def close(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None

    def _unavailable(self, error: journal.JournalUnavailable) -> None:
        self.reason = error.detail
        self._retry_at = time.monotonic() + RETRY_SECONDS

"""Lines of an access log into per-minute Counts: the one place a line is counted.

Both the rebuild (old lines, read backwards) and the follower (new lines) count
through a Tally, so a line is counted the same way whichever of them read it. A line
the format does not describe is counted as unparsed, in the minute of the nearest line
that was understood (or of the moment it was read, for a new line), and a few of them
are kept as samples for the page. A line is never a reason to stop counting.
"""

from __future__ import annotations

from collections import deque

from server_monitor.adapters.nginx.log_format import LineParser
from server_monitor.workflows.sites.buckets import MINUTE, TEN_MINUTES, Counts

SAMPLES = 5
SAMPLE_CHARS = 300
MAX_LINE_CHARS = 16 * 1024  # the log layer cuts longer lines: they are unparsed, as the live tail shows them


class Tally:
    def __init__(self, parser: LineParser) -> None:
        self.parser = parser
        self.minutes: dict[int, Counts] = {}
        self.samples: deque[str] = deque(maxlen=SAMPLES)
        self.lines = 0

    def minute(self, start: int) -> Counts:
        counts = self.minutes.get(start)
        if counts is None:
            counts = self.minutes[start] = Counts()
        return counts

    def count(self, line: str, fallback: int, floor: int | None = None) -> int | None:
        """Count one line (without its newline); its Unix time, or None when unparsed
        (counted at `fallback`). Lines older than `floor` are not counted."""
        self.lines += 1
        parsed = self.parser.parse(line) if len(line) <= MAX_LINE_CHARS else None
        if parsed is None:
            if floor is None or fallback >= floor:
                self.minute(fallback - fallback % MINUTE).unparsed += 1
                self.samples.append(line[:SAMPLE_CHARS])
            return None
        seconds, status, sent, milliseconds, cache, path, client = parsed
        if floor is None or seconds >= floor:
            self.minute(seconds - seconds % MINUTE).add(status, sent, milliseconds, cache, path, client)
        return seconds

    def take(self) -> dict[int, Counts]:
        """The minutes counted so far, handed over; the tally starts empty again."""
        minutes, self.minutes = self.minutes, {}
        return minutes


def ten_minutes(minutes: dict[int, Counts]) -> dict[int, Counts]:
    """Minutes folded into their ten-minute periods (the minutes are left as they are)."""
    folded: dict[int, Counts] = {}
    for start, counts in minutes.items():
        period = start - start % TEN_MINUTES
        target = folded.get(period)
        if target is None:
            target = folded[period] = Counts()
        target.merge(counts)
    return folded

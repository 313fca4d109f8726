"""The one door from the alerts to the log layer: which logs are followed, and their new lines.

The log-pattern rules read every line through the live tail's own shared readers
(workflows.logs.reader: one reader per log and event loop, rotation-proof, each line
once), as one more subscriber: no second reader of any log. Every use of the log layer
by the alerts is in this module.

A watcher that takes over from another (or starts again) reads on where the last one
stopped: the last lines it saw of each log (`mark`, kept in the lease) are looked for
in the reader's first lines (its last INITIAL_LINES), and what follows them is new. A
log never seen before starts from now: its history is not news. More lines than the
reader's first ones written while no watcher ran cannot be read again (docs).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence

from server_monitor.adapters.logs.tail import LineFilter
from server_monitor.workflows.logs import reader
from server_monitor.workflows.logs.sources import JournalSource, LogSource, configured_sources

MARK_LINES = 3  # lines that make a mark: one line may repeat, three in a row rarely do

__all__ = ["LineFilter", "LogSource", "follow", "mark_of", "matcher", "new_since", "watched_sources"]


def watched_sources() -> list[LogSource]:
    """Every configured log (WPDASH_LOGS, then each installed unit's journal), each
    followed once: `mysql` configured as journal:mariadb.service and the unit's own
    journal:mariadb are one log, so one line would otherwise be two alerts."""
    seen: set[str] = set()
    sources = []
    for source in configured_sources():
        what = f"unit:{source.unit}" if isinstance(source, JournalSource) else f"file:{source.path}"
        if what not in seen:
            seen.add(what)
            sources.append(source)
    return sources


def matcher(text: str) -> LineFilter:
    """The log search's own rule: plain text, in any case."""
    return LineFilter(text)


def mark_of(lines: Sequence[str]) -> list[str]:
    """Digests of the last MARK_LINES lines: where a reader stopped, without keeping log text."""
    return [_digest(line) for line in lines[-MARK_LINES:]]


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8", "replace")).hexdigest()[:32]


def new_since(lines: Sequence[str], mark: Sequence[str] | None) -> list[str]:
    """The lines after the last occurrence of `mark` (all of them when it is not there:
    more was written meanwhile, or the log was rotated, or it was empty then); none
    without a mark (None: this log was never followed)."""
    if mark is None:
        return []
    if not mark:
        return list(lines)
    hashed = [_digest(line) for line in lines]
    size = len(mark)
    for end in range(len(hashed), size - 1, -1):
        if hashed[end - size : end] == list(mark):
            return list(lines[end:])
    return list(lines)


async def follow(source: LogSource, mark: Sequence[str] | None) -> AsyncIterator[tuple[list[str], list[str]]]:
    """(new lines, the mark after them) of `source`, batch by batch, until the caller stops
    (cancels) it: first those written since `mark` (possibly none: the mark says where
    reading starts), then each line as the shared reader publishes it."""
    subscription = await reader.subscribe(source)
    try:
        yield new_since(subscription.initial, mark), mark_of(subscription.initial)
        while True:
            delivery = await subscription.get()
            lines = [line for batch in delivery.batches for line in batch.lines]
            if lines:
                yield lines, mark_of(lines)
    finally:
        await subscription.close()

"""The last lines of a log, read backwards from its end: the cost follows the lines asked for.

Lines are decoded as UTF-8 with replacement characters (a log can hold any bytes). A
line longer than MAX_LINE_BYTES is cut to its first MAX_LINE_BYTES bytes followed by
CUT_MARK, so one runaway line cannot make a response or a WebSocket message huge.

A search (`tail(source, count, match)`) reads backwards too, keeping only the lines
that contain the term, and stops at `count` matches or at WPDASH_LOG_SEARCH_BYTES
read, whichever comes first: its cost is bounded by the budget, never by the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import AnyStr

from django.conf import settings

from server_monitor.adapters import journal
from server_monitor.adapters.logs.paths import LogUnavailable, open_log_file
from server_monitor.adapters.logs.sources import LogSource, note_availability

MAX_LINE_BYTES = 16 * 1024
CUT_MARK = " …[line cut at 16 KiB]"
# Shown before the end of a line whose start lies beyond what a tail may read.
HEAD_CUT_MARK = "[line cut at 16 KiB]… "
MAX_TAIL_LINES = 500
DEFAULT_TAIL_LINES = 50
BLOCK_SIZE = 64 * 1024
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class Tail:
    log_type: str
    lines: list[str]
    timestamp: int  # Unix seconds when the lines were read, as the logs plan's LogEntry says
    available: bool
    reason: str | None
    # Set by a search only: how far back it read, and whether that was the whole file.
    scanned_bytes: int | None = None
    reached_start: bool | None = None


class LineFilter:
    """A case-insensitive substring test: the term is in the line, both str.casefold()ed.

    Shared by the REST search and the live tail's per-client filter, so both agree on
    what matches. Make one with parse_query.
    """

    __slots__ = ("ascii", "folded", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = text.casefold()
        # For ASCII-only blocks, where bytes.lower() is casefold() at a fraction of the cost.
        self.ascii = self.folded.encode() if self.folded.isascii() else None

    def matches(self, line: str) -> bool:
        return self.folded in line.casefold()


def parse_query(text: object) -> LineFilter | None:
    """The filter a client's `q` asks for; None for an empty one (no filter).

    Raises ValueError saying what is wrong, in words for the client: not text, more
    than MAX_QUERY_CHARS characters, or a NUL or line break (no line holds one).
    """
    if not isinstance(text, str):
        raise ValueError("q must be a string.")
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(f"q must be at most {MAX_QUERY_CHARS} characters.")
    if "\x00" in text or "\n" in text or "\r" in text:
        raise ValueError("q must not contain a NUL character or a line break.")
    return LineFilter(text) if text else None


def _decode(raw: bytes | bytearray, cut: bool) -> tuple[str, bool]:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > MAX_LINE_BYTES:
        raw, cut = raw[:MAX_LINE_BYTES], True
    return bytes(raw).decode("utf-8", "replace"), cut


def decode_line(raw: bytes | bytearray, cut: bool = False) -> str:
    """One line of bytes (without its newline) as text, cut at MAX_LINE_BYTES."""
    text, cut = _decode(raw, cut)
    return text + CUT_MARK if cut else text


def read_last_lines(fd: int, end: int, count: int) -> tuple[list[str], bytes, bool]:
    """The last `count` complete lines before byte `end`, reading backwards in blocks.

    Returns (lines oldest first, the unterminated bytes after the last newline, and
    whether those bytes start beyond the scan budget). The budget of
    (count + 1) * (MAX_LINE_BYTES + 1) bytes keeps the cost proportional to the lines
    asked for, never to the file size, even for a file without newlines.
    """
    budget = (count + 1) * (MAX_LINE_BYTES + 1)
    start = end
    chunks: list[bytes] = []
    newlines = 0
    while start > 0 and newlines <= count and end - start < budget:
        size = min(BLOCK_SIZE, start, budget - (end - start))
        start -= size
        chunk = os.pread(fd, size, start)
        if len(chunk) < size:  # shrank under us (truncated): give what is certain
            return [], b"", False
        chunks.append(chunk)
        newlines += chunk.count(b"\n")
    data = b"".join(reversed(chunks))
    parts = data.split(b"\n")
    partial = parts.pop()
    head_complete = start == 0
    # No newline at all in the budget: the unterminated end began further back.
    partial_head_lost = not parts and not head_complete and bool(partial)
    if not head_complete and parts:
        parts.pop(0)  # begins before what we read: not a whole line
    lines = [decode_line(part) for part in parts[-count:]] if count else []
    return lines, partial, partial_head_lost


# --- search ----------------------------------------------------------------------------


def _hit_lines(text: AnyStr, term: AnyStr, newline: AnyStr, last: int) -> Iterator[int]:
    """Indexes (newest first) of the lines of `text` in which `term` occurs.

    `text` is a block already folded (casefold, or lower for ASCII); decoding and
    folding neither add nor remove newlines, so the count of newlines before a hit
    is its line's index among the block's raw lines, whose last index is `last`.
    """
    ref, index, stop = len(text), last, len(text)
    while stop >= 0:
        hit = text.rfind(term, 0, stop)
        if hit < 0:
            return
        index -= text.count(newline, hit, ref)
        ref = hit
        yield index
        stop = text.rfind(newline, 0, hit)  # go on before this line: one answer per line


def _candidates(block: bytes, match: LineFilter) -> Iterator[int]:
    """The lines of `block` (newline separated, without a line cut in half) that may match."""
    last = block.count(b"\n")
    if block.isascii():
        if match.ascii is not None:  # otherwise no ASCII line can hold the term
            yield from _hit_lines(block.lower(), match.ascii, b"\n", last)
        return
    yield from _hit_lines(block.decode("utf-8", "replace").casefold(), match.folded, "\n", last)


def _line_head(chunk: bytes, later: bytes) -> tuple[bytes, bool]:
    """The first bytes of a line that goes on from `chunk` into `later`, and whether
    some were dropped: only what a cut line shows is kept (and one byte more, for a
    final "\\r" that is not shown), so a line without end never fills the memory."""
    keep = MAX_LINE_BYTES + 1
    if len(chunk) > keep:
        return chunk[:keep], True
    joined = chunk + later
    if len(joined) > keep:
        return joined[:keep], True
    return joined, False


class _Matches:
    """The newest `count` matching lines, collected newest first."""

    def __init__(self, match: LineFilter, count: int) -> None:
        self.match = match
        self.count = count
        self.found: list[str] = []

    @property
    def full(self) -> bool:
        return len(self.found) >= self.count

    def consider(self, raw: bytes, cut: bool) -> None:
        # The line is matched as it is shown: a line over MAX_LINE_BYTES by its first
        # MAX_LINE_BYTES bytes, never by its cut mark.
        text, cut = _decode(raw, cut)
        if self.match.matches(text):
            self.found.append(text + CUT_MARK if cut else text)

    def scan(self, block: bytes, last_cut: bool) -> None:
        """The matching lines of `block`, whole lines whose last one may be cut."""
        lines: list[bytes] | None = None
        for index in _candidates(block, self.match):
            if lines is None:
                lines = block.split(b"\n")  # only for a block with a hit
            self.consider(lines[index], last_cut and index == len(lines) - 1)
            if self.full:
                return


def search_backwards(fd: int, end: int, match: LineFilter, count: int, budget: int) -> tuple[list[str], int, bool]:
    """The last `count` lines before byte `end` that `match` accepts, reading backwards.

    Returns (lines oldest first, bytes read, whether the read reached byte 0). It stops
    at `count` matches or after `budget` bytes; a line whose start lies beyond the
    budget is not a whole line and is left out. An unterminated last line counts.
    """
    matches = _Matches(match, count)
    position = end
    # The start of the line cut at the top of what was read so far (bounded), and
    # whether it is cut; it is completed by the block before it.
    head, head_cut = b"", False
    while position > 0 and end - position < budget and not matches.full:
        size = min(BLOCK_SIZE, position, budget - (end - position))
        chunk = os.pread(fd, size, position - size)
        if len(chunk) < size:  # truncated under us: what was found is true, the rest is gone
            return matches.found[::-1], end - position, False
        position -= size
        first = chunk.find(b"\n")
        if first < 0:
            head, cut = _line_head(chunk, head)
            head_cut = head_cut or cut
            continue
        matches.scan(chunk[first + 1 :] + head, head_cut)
        head, head_cut = _line_head(chunk[:first], b"")
    if position == 0 and head and not matches.full:
        matches.consider(head, head_cut)  # the file's first line
    return matches.found[::-1], end - position, position == 0


# --- the answer --------------------------------------------------------------------------


def tail(source: LogSource, count: int, match: LineFilter | None = None) -> Tail:
    """The last `count` lines of a file source (an unterminated last line included).

    With `match`, the last `count` lines it accepts, found within the last
    settings.WPDASH_LOG_SEARCH_BYTES bytes; the answer then says how many bytes were
    read and whether that reached the start of the file. A source of another kind
    (a unit's journal) answers the same Tail from its own reader, searching with its
    own matching for `match.text`.
    """
    if not 1 <= count <= MAX_TAIL_LINES:
        raise ValueError(f"count must be 1..{MAX_TAIL_LINES}")
    if source.unit is not None:
        return _journal_tail(source, source.unit, count, match)
    now = int(time.time())
    try:
        fd = open_log_file(source.path)
    except LogUnavailable as error:
        note_availability(source, error.detail)
        if match is None:
            return Tail(source.name, [], now, False, error.detail)
        return Tail(source.name, [], now, False, error.detail, scanned_bytes=0, reached_start=False)
    try:
        end = os.fstat(fd).st_size
        if match is None:
            result = Tail(source.name, _last_lines(fd, end, count), now, True, None)
        else:
            budget: int = settings.WPDASH_LOG_SEARCH_BYTES
            found, scanned, reached_start = search_backwards(fd, end, match, count, budget)
            result = Tail(source.name, found, now, True, None, scanned_bytes=scanned, reached_start=reached_start)
    finally:
        os.close(fd)
    note_availability(source, None)
    return result


def _last_lines(fd: int, end: int, count: int) -> list[str]:
    lines, partial, head_lost = read_last_lines(fd, end, count)
    if partial:
        text = decode_line(partial)
        lines = [*lines, HEAD_CUT_MARK + text if head_lost else text][-count:]
    return lines


def _journal_tail(source: LogSource, unit: str, count: int, match: LineFilter | None) -> Tail:
    """A unit's journal as a Tail; a search uses journalctl's own matching (--grep), and
    says whether it went through the whole journal (reached_start), not how many bytes."""
    now = int(time.time())
    try:
        found = journal.last_entries(unit, count, grep=match.text if match is not None else None)
    except journal.JournalUnavailable as error:
        note_availability(source, error.detail)
        return Tail(source.name, [], now, False, error.detail, reached_start=False if match is not None else None)
    note_availability(source, None)
    return Tail(source.name, found.lines, now, True, None, reached_start=found.complete if match is not None else None)

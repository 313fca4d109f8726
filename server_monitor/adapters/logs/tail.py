"""The last lines of a log file, read backwards from its end: the cost follows the lines asked for.

Lines follow adapters.lines' rules (UTF-8 with replacement characters, cut at 16 KiB).
A search (`read(path, count, match)`) reads backwards too, keeping only the lines that
contain the term, and stops at `count` matches or at WPDASH_LOG_SEARCH_BYTES read,
whichever comes first: its cost is bounded by the budget, never by the file.
`LineFilter` is the one matching rule: the REST search of a file, the live tail's
per-client filter and (by its text) the journal's search all use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import AnyStr

from django.conf import settings

from server_monitor.adapters.lines import (
    CUT_MARK,
    HEAD_CUT_MARK,
    MAX_LINE_BYTES,
    MAX_TAIL_LINES,
    cut_bytes,
    decode_line,
)
from server_monitor.adapters.logs.paths import open_log_file

DEFAULT_TAIL_LINES = 50
BLOCK_SIZE = 64 * 1024
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class FileTail:
    lines: list[str]  # oldest first
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
        shown, cut = cut_bytes(raw, cut)
        text = shown.decode("utf-8", "replace")
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


def read(path: str, count: int, match: LineFilter | None = None) -> FileTail:
    """The last `count` lines of the log file at `path` (an unterminated last line included).

    With `match`, the last `count` lines it accepts, found within the last
    settings.WPDASH_LOG_SEARCH_BYTES bytes; the answer then says how many bytes were
    read and whether that reached the start of the file. Raises LogUnavailable (from
    the opener: missing, unreadable, a link, not a regular file with one name).
    """
    if not 1 <= count <= MAX_TAIL_LINES:
        raise ValueError(f"count must be 1..{MAX_TAIL_LINES}")
    fd = open_log_file(path)
    try:
        end = os.fstat(fd).st_size
        if match is None:
            return FileTail(_last_lines(fd, end, count))
        budget: int = settings.WPDASH_LOG_SEARCH_BYTES
        found, scanned, reached_start = search_backwards(fd, end, match, count, budget)
        return FileTail(found, scanned_bytes=scanned, reached_start=reached_start)
    finally:
        os.close(fd)


def _last_lines(fd: int, end: int, count: int) -> list[str]:
    lines, partial, head_lost = read_last_lines(fd, end, count)
    if partial:
        text = decode_line(partial)
        lines = [*lines, HEAD_CUT_MARK + text if head_lost else text][-count:]
    return lines

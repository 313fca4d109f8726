"""The last lines of a log, read backwards from its end: the cost follows the lines asked for.

Lines are decoded as UTF-8 with replacement characters (a log can hold any bytes). A
line longer than MAX_LINE_BYTES is cut to its first MAX_LINE_BYTES bytes followed by
CUT_MARK, so one runaway line cannot make a response or a WebSocket message huge.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from server_monitor.adapters.logs.sources import LogSource, LogUnavailable, note_availability, open_log_file

MAX_LINE_BYTES = 16 * 1024
CUT_MARK = " …[line cut at 16 KiB]"
# Shown before the end of a line whose start lies beyond what a tail may read.
HEAD_CUT_MARK = "[line cut at 16 KiB]… "
MAX_TAIL_LINES = 500
BLOCK_SIZE = 64 * 1024


@dataclass(frozen=True)
class Tail:
    log_type: str
    lines: list[str]
    timestamp: int  # Unix seconds when the lines were read, as the logs plan's LogEntry says
    available: bool
    reason: str | None


def decode_line(raw: bytes | bytearray, cut: bool = False) -> str:
    """One line of bytes (without its newline) as text, cut at MAX_LINE_BYTES."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > MAX_LINE_BYTES:
        raw, cut = raw[:MAX_LINE_BYTES], True
    text = bytes(raw).decode("utf-8", "replace")
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


def tail(source: LogSource, count: int) -> Tail:
    """The last `count` lines of a source (an unterminated last line included)."""
    if not 1 <= count <= MAX_TAIL_LINES:
        raise ValueError(f"count must be 1..{MAX_TAIL_LINES}")
    now = int(time.time())
    try:
        fd = open_log_file(source.path)
    except LogUnavailable as error:
        note_availability(source, error.detail)
        return Tail(source.name, [], now, False, error.detail)
    try:
        lines, partial, head_lost = read_last_lines(fd, os.fstat(fd).st_size, count)
    finally:
        os.close(fd)
    note_availability(source, None)
    if partial:
        text = decode_line(partial)
        lines = [*lines, HEAD_CUT_MARK + text if head_lost else text][-count:]
    return Tail(source.name, lines, now, True, None)

"""The text rules of a log line, shared by log files and the journal, and what a follower returns.

A log can hold any bytes: a line is decoded as UTF-8 with replacement characters, a
final carriage return is dropped, and a line longer than MAX_LINE_BYTES is cut to its
first MAX_LINE_BYTES bytes followed by CUT_MARK, so that one runaway line can never
make an answer or a WebSocket message huge. A journal entry's message, which
journalctl hands over as text, is cut by the same bound and mark (cut_text).

A follower (adapters.logs.follow.FileFollower, adapters.journal.follow.JournalFollower)
is the blocking half of a live tail, called from one worker thread at a time: the
Follower protocol below is what the shared reader (workflows.logs.reader) drives, and
every poll returns a PollResult.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MAX_LINE_BYTES = 16 * 1024
_CUT = f"line cut at {MAX_LINE_BYTES // 1024} KiB"
CUT_MARK = f" …[{_CUT}]"  # after a line's first MAX_LINE_BYTES
HEAD_CUT_MARK = f"[{_CUT}]… "  # before the end of a line whose start lies beyond what a tail may read
MAX_TAIL_LINES = 500  # the most lines one tail answers, from a file or a journal


def cut_bytes(raw: bytes | bytearray, cut: bool = False) -> tuple[bytes, bool]:
    """A line's bytes (without its newline) as they are shown: no final "\\r", at most
    MAX_LINE_BYTES; and whether it is cut (`cut`: it was cut already, before these bytes)."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > MAX_LINE_BYTES:
        raw, cut = raw[:MAX_LINE_BYTES], True
    return bytes(raw), cut


def decode_line(raw: bytes | bytearray, cut: bool = False) -> str:
    """One line of bytes (without its newline) as text, cut at MAX_LINE_BYTES."""
    shown, cut = cut_bytes(raw, cut)
    text = shown.decode("utf-8", "replace")
    return text + CUT_MARK if cut else text


def cut_text(text: str) -> str:
    """A line that is text already (a journal message) cut at MAX_LINE_BYTES of its UTF-8:
    a character split by the cut is left out rather than replaced."""
    if len(text) <= MAX_LINE_BYTES // 4 or len(raw := text.encode()) <= MAX_LINE_BYTES:
        return text  # the first test spares the encoding of every short line
    return raw[:MAX_LINE_BYTES].decode("utf-8", "ignore") + CUT_MARK


@dataclass
class PollResult:
    lines: list[str]
    more: bool  # a read budget ran out: poll again at once
    reason: str | None  # why the log cannot be read now, in words; None while it can


class Follower(Protocol):
    """Follows one log, blocking: start() once, then poll() whenever wake_descriptor turns
    readable (or on a timer while it is None), close() at the end. One call at a time."""

    @property
    def reason(self) -> str | None:
        """Why the log cannot be read now, in words (None: it can)."""

    @property
    def wake_descriptor(self) -> int | None:
        """A descriptor an event loop may wait on (readable: poll now); None: use a timer."""

    @property
    def open_descriptors(self) -> list[int]:
        """The log files it holds open (for tests and diagnostics)."""

    def start(self, count: int) -> list[str]:
        """The log's last `count` lines, and following from there on."""

    def poll(self) -> PollResult:
        """The lines written since the last call, without waiting for more."""

    def close(self) -> None:
        """Let go of every descriptor and child process; the follower is done."""

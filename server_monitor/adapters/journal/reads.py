"""One-shot reads of the journal: a unit's last entries (or a search), the newest cursor,
a unit's lines since a moment. Each is one journalctl child through process.run, with a
deadline and a bound on the output kept.

systemd 252 (Debian 12): `--grep` with `--lines` prints newest first, so every read asks
for `--reverse` (newest first in every version) and turns the list around; JSON output
of no journal at all is silence and exit code 0, so an empty answer asks `end_cursor`.
"""

from __future__ import annotations

from dataclasses import dataclass

from server_monitor.adapters import process
from server_monitor.adapters.journal.entries import (
    Entry,
    JournalTimeout,
    NoJournal,
    base_argv,
    check_unit,
    decode,
    failure,
    start_error,
    where,
)
from server_monitor.adapters.lines import MAX_TAIL_LINES
from server_monitor.errors import NotAllowed

TIMEOUT = 10.0  # seconds for one read; a search that reaches it answers with what it found
MAX_GREP_CHARS = 256
ENTRY_BUDGET = 32 * 1024  # output kept per entry asked for; past it the oldest entries are left out


@dataclass(frozen=True)
class JournalTail:
    unit: str
    entries: list[Entry]  # oldest first
    cursor: str | None  # where a stream joins: the newest entry's, or the journal's (see last_entries)
    complete: bool  # False: a search stopped at TIMEOUT, or the output bound left out the oldest

    @property
    def lines(self) -> list[str]:
        return [entry.line for entry in self.entries]


def last_entries(unit: str, lines: int, grep: str | None = None) -> JournalTail:
    """The last `lines` entries of a unit, oldest first; with `grep`, the last ones whose message
    contains that text, in any case (journalctl's `--grep`, given the text as a literal).
    The cursor is the newest entry's, or when the unit has none the journal's newest entry's
    (any unit). A search that reaches TIMEOUT answers with the newest matches it found
    (complete=False; cursor None if it found none)."""
    check_unit(unit)
    if not 1 <= lines <= MAX_TAIL_LINES:
        raise ValueError(f"lines must be 1..{MAX_TAIL_LINES}")
    search = [f"--grep={_pattern(grep)}", "--case-sensitive=false"] if grep else []
    newest_first, complete = _read([*base_argv(unit), "--reverse", f"--lines={lines}", *search], lines, bool(grep))
    shown = [entry for entry in reversed(newest_first) if entry.message is not None]
    cursor = newest_first[0].cursor if newest_first else end_cursor() if complete else None
    return JournalTail(unit, shown, cursor, complete)


def end_cursor() -> str:
    """The cursor of the journal's newest entry (any unit). It raises the errors of
    journal.entries (no journalctl, no journal, no permission): it is also the check that
    the journal is readable."""
    newest, _complete = _read([*base_argv(None), "--reverse", "--lines=1"], 1)
    if not newest:
        raise NoJournal(f"No journal files were found {where()}, or they hold no entry: there is no journal to read.")
    return newest[0].cursor


def entries_since(unit: str, since_usec: int, max_lines: int = 50, max_bytes: int = 16384) -> list[str]:
    """The unit's lines from `since_usec` (µs since the epoch, e.g. when a restart began) on,
    oldest first: the newest `max_lines`, at most `max_bytes` of text in all (the oldest
    lines give way first). For the restart audit: why a restart failed."""
    check_unit(unit)
    if since_usec < 0 or not 1 <= max_lines <= MAX_TAIL_LINES or max_bytes < 1:
        raise ValueError("since_usec must be >= 0, max_lines 1..MAX_TAIL_LINES and max_bytes >= 1")
    seconds, micros = divmod(since_usec, 1_000_000)
    argv = [*base_argv(unit), f"--since=@{seconds}.{micros:06d}", "--reverse", f"--lines={max_lines}"]
    kept: list[str] = []
    room = max_bytes
    for entry in _read(argv, max_lines)[0]:  # newest first
        if entry.message is not None and entry.realtime_usec >= since_usec:
            if (size := len(entry.line.encode()) + 1) > room:  # with its newline; alone too long: its start
                kept += [] if kept else [entry.line.encode()[: max_bytes - 1].decode("utf-8", "ignore")]
                break
            kept.append(entry.line)
            room -= size
    return kept[::-1]


def _pattern(text: str) -> str:
    """A search text as a PCRE2 pattern matching exactly it: a backslash before an ASCII
    character that is not a letter or digit always makes it literal, so a search is a
    substring, never a pattern that could backtrack."""
    if len(text) > MAX_GREP_CHARS or "\x00" in text:
        raise NotAllowed(f"a search text must be at most {MAX_GREP_CHARS} characters, without NUL.")
    return "".join(char if not char.isascii() or char.isalnum() else "\\" + char for char in text)


def _read(argv: list[str], entries: int, search: bool = False) -> tuple[list[Entry], bool]:
    """Run journalctl for JSON entries: (entries in its order, whether the answer is whole).
    Output is kept up to ENTRY_BUDGET per entry asked for; a line cut by that bound is left
    out. A search may stop at TIMEOUT with what it found; any other read raises."""
    try:
        result = process.run(argv, timeout=TIMEOUT, limit=entries * ENTRY_BUDGET)
    except OSError as error:
        raise start_error(error) from None
    if result.timed_out and not search:
        raise JournalTimeout(f"journalctl did not answer within {TIMEOUT:g} seconds (timeout).")
    no_match = search and result.exit_code == 1 and not result.stderr.strip()  # --grep's "nothing matched"
    if result.exit_code not in (0, None) and not no_match:
        raise failure(result.exit_code, result.stderr)
    lines = result.stdout.split("\n")
    found = [entry for line in lines[:-1] if (entry := decode(line)) is not None]
    return found, lines[-1] == "" and not result.timed_out

"""The systemd journal through journalctl, the only code that runs it (docs/architecture.md).

Each child goes through process.py and answers in JSON (`--output=json --all`). An entry
is one line, in the server's time zone (TIME_ZONE), its priority in brackets after the time
only for warning or worse (journalctl's names warning, err, crit, alert, emerg); an entry
without MESSAGE is skipped, as journalctl's short output skips it:

    2026-11-22 03:05:17 mariadbd[284]: 2026-11-22  3:05:17 0 [Note] InnoDB: Using io_uring
    2026-11-22 03:05:41 [err] nginx[812]: unknown directive "foo" in /etc/nginx/nginx.conf:12

systemd 252 (Debian 12): `--grep` with `--lines` prints newest first, so every read asks
for `--reverse` (newest first in every version) and turns the list around; `--follow`
after a cursor prints 10 entries (`--lines`' default) and the rest only after the next
write, so a follower asks for `--lines=all`; `--after-cursor` skips one entry too many
when the cursor's entry was vacuumed, so a follower starts at `--cursor` and drops that
entry itself; JSON output of no journal at all is silence and exit code 0, so an empty
answer asks `end_cursor`.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from server_monitor.adapters import process
from server_monitor.errors import NotAllowed, Unavailable
from server_monitor.names import UNIT_NAME_RE

TIMEOUT = 10.0  # seconds for one read; a search that reaches it answers with what it found
MAX_LINES = 500  # as logs.tail.MAX_TAIL_LINES
MAX_GREP_CHARS = 256
MAX_MESSAGE_BYTES = 16 * 1024
CUT_MARK = " …[line cut at 16 KiB]"
ENTRY_BUDGET = 32 * 1024  # output kept per entry asked for; past it the oldest entries are left out
# A follower drops (and counts) a JSON line longer than this; one read takes at most this.
MAX_ENTRY_BYTES = READ_BUDGET = 1024 * 1024
FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_PID"  # journalctl adds __CURSOR and the timestamps
PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning")  # 0..4, the priorities a line shows
CURSOR_RE = re.compile(r"[a-z]=[0-9a-f]{1,64}(;[a-z]=[0-9a-f]{1,64}){0,15}")


class JournalUnavailable(Unavailable):
    """journalctl cannot answer now; the detail says why and, where it can, what to do. The kinds
    follow; JournalEnded: a follower's child ended (restart() resumes after the last entry)."""


class JournalNotInstalled(JournalUnavailable): ...


class NoJournal(JournalUnavailable): ...


class JournalPermissionDenied(JournalUnavailable): ...


class JournalTimeout(JournalUnavailable): ...


class JournalEnded(JournalUnavailable): ...


@dataclass(frozen=True)
class Entry:
    cursor: str  # journalctl's __CURSOR: where a follower resumes
    realtime_usec: int  # __REALTIME_TIMESTAMP, µs since the epoch
    priority: int | None  # 0 (emerg) .. 7 (debug)
    identifier: str  # SYSLOG_IDENTIFIER, else _COMM
    pid: str | None
    message: str | None  # None: the entry has no MESSAGE (and is not shown)

    @property
    def line(self) -> str:  # the one readable format of the module docstring
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.realtime_usec // 1_000_000))
        marker = f"[{PRIORITY_NAMES[p]}] " if (p := self.priority) is not None and p < len(PRIORITY_NAMES) else ""
        source = f"{self.identifier}[{self.pid}]" if self.pid else self.identifier
        return f"{stamp} {marker}{source}: {self.message or ''}"


@dataclass(frozen=True)
class JournalTail:
    unit: str
    entries: list[Entry]  # oldest first
    cursor: str | None  # where a follower joins: the newest entry's, or the journal's (see last_entries)
    complete: bool  # False: a search stopped at TIMEOUT, or the output bound left out the oldest

    @property
    def lines(self) -> list[str]:
        return [entry.line for entry in self.entries]


def check_unit(unit: str) -> str:
    """The unit name, if journalctl may be given it: refused (NotAllowed) before anything runs."""
    if not isinstance(unit, str) or not UNIT_NAME_RE.fullmatch(unit) or ".." in unit:
        raise NotAllowed(f"{unit!r} is not a valid systemd unit name.")
    return unit


def last_entries(unit: str, lines: int, grep: str | None = None) -> JournalTail:
    """The last `lines` entries of a unit, oldest first; with `grep`, the last ones whose message
    contains that text, in any case (journalctl's `--grep`, given the text as a literal).
    The cursor is the newest entry's, or when the unit has none the journal's newest entry's
    (any unit). A search that reaches TIMEOUT answers with the newest matches it found
    (complete=False; cursor None if it found none)."""
    check_unit(unit)
    if not 1 <= lines <= MAX_LINES:
        raise ValueError(f"lines must be 1..{MAX_LINES}")
    search = [f"--grep={_pattern(grep)}", "--case-sensitive=false"] if grep else []
    newest_first, complete = _read([*_base_argv(unit), "--reverse", f"--lines={lines}", *search], lines, bool(grep))
    shown = [entry for entry in reversed(newest_first) if entry.message is not None]
    cursor = newest_first[0].cursor if newest_first else end_cursor() if complete else None
    return JournalTail(unit, shown, cursor, complete)


def end_cursor() -> str:
    """The cursor of the journal's newest entry (any unit). It raises this module's errors (no
    journalctl, no journal, no permission): it is also the check that the journal is readable."""
    newest, _complete = _read([*_base_argv(None), "--reverse", "--lines=1"], 1)
    if not newest:
        raise NoJournal(f"No journal files were found {_where()}, or they hold no entry: there is no journal to read.")
    return newest[0].cursor


def entries_since(unit: str, since_usec: int, max_lines: int = 50, max_bytes: int = 16384) -> list[str]:
    """The unit's lines from `since_usec` (µs since the epoch, e.g. when a restart began) on,
    oldest first: the newest `max_lines`, at most `max_bytes` of text in all (the oldest
    lines give way first). For the restart audit: why a restart failed."""
    check_unit(unit)
    if since_usec < 0 or not 1 <= max_lines <= MAX_LINES or max_bytes < 1:
        raise ValueError("since_usec must be >= 0, max_lines 1..MAX_LINES and max_bytes >= 1")
    seconds, micros = divmod(since_usec, 1_000_000)
    argv = [*_base_argv(unit), f"--since=@{seconds}.{micros:06d}", "--reverse", f"--lines={max_lines}"]
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


class JournalFollower:
    """`journalctl --follow` of one unit: every entry once, in order, across restarts of the child.

    With `after_cursor` (JournalTail.cursor: a join without gap) it delivers the entries
    after that one, without those written once journalctl is up; `cursor` is the last entry
    delivered, so restart() resumes exactly there. Every method blocks: an event loop calls
    them from worker threads, one read_available() at a time: start(); read_available(0) when
    `descriptor` is readable (output, or the child's end); on a JournalUnavailable (its detail
    says why) wait, then restart(); stop() may come from another thread during a read.
    """

    def __init__(self, unit: str, after_cursor: str | None = None) -> None:
        self.unit = check_unit(unit)
        if after_cursor is not None and not CURSOR_RE.fullmatch(after_cursor):
            raise NotAllowed(f"{after_cursor!r} is not a journal cursor.")
        self.cursor = after_cursor  # the last entry delivered (read it, do not set it)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._held: bytearray | None = bytearray()  # a JSON line's start; None inside one too long
        self._skip: str | None = None  # the start cursor, whose entry was delivered before
        self._stderr = b""
        self._ended: JournalUnavailable | None = None
        self._stopping = False
        self.dropped = 0  # JSON lines left out: longer than MAX_ENTRY_BYTES, or not an entry

    @property
    def pid(self) -> int | None:  # the running journalctl's, which is also its process group's
        return self._process.pid if self._process is not None else None

    @property
    def descriptor(self) -> int | None:  # its output, for an event loop to wait on
        return self._process.stdout.fileno() if self._process is not None and self._process.stdout else None

    def start(self) -> None:
        """Start journalctl after the cursor (no-op while it runs); JournalNotInstalled if it cannot."""
        with self._lock:
            if self._process is not None:
                return
            position = [f"--cursor={self.cursor}", "--lines=all"] if self.cursor else ["--lines=0"]
            try:
                child = process.start([*_base_argv(self.unit), "--follow", *position])
            except OSError as error:
                raise _start_error(error) from None
            self._selector = selectors.DefaultSelector()
            self._selector.register(child.stdout, selectors.EVENT_READ, "out")  # type: ignore[arg-type]
            self._selector.register(child.stderr, selectors.EVENT_READ, "err")  # type: ignore[arg-type]
            self._process, self._skip, self._held, self._stderr = child, self.cursor, bytearray(), b""
            self._ended, self._stopping = None, False

    def read_available(self, timeout: float) -> list[Entry]:
        """The entries printed since the last call, oldest first, waiting up to `timeout`
        seconds (0: not at all) for the first; [] when none came, or once stopped. When the
        child has ended, and what it printed was delivered, every call raises a
        JournalUnavailable with its reason until restart()."""
        with self._lock:
            if self._ended is not None:
                raise self._ended
            selector = self._selector
            entries: list[Entry] = []
            deadline, taken = time.monotonic() + timeout, 0
            while selector is not None and taken < READ_BUDGET:
                events = selector.select(0 if entries else max(0.0, deadline - time.monotonic()))
                if not events:
                    break
                for key, _mask in events:
                    chunk = os.read(key.fd, 65536)
                    taken += len(chunk)
                    if key.data == "err":
                        self._stderr = (self._stderr + chunk)[-4096:]
                        if not chunk:
                            selector.unregister(key.fileobj)
                    elif chunk:
                        entries += self._feed(chunk)
                    else:  # journalctl ended
                        self._finish()
                        selector = None
                        break
            return entries

    def restart(self) -> None:
        """Stop the child if it still runs; start a new one after the last entry delivered."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Kill journalctl's process group and reap it; safe twice, or from another thread."""
        self._stopping = True
        child = self._process
        if child is not None and child.returncode is None:  # first: a read in flight ends now
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
        with self._lock:
            if self._process is not None and self._process.returncode is None:
                process.kill(self._process)
            self._close()
            self._ended = None

    def _feed(self, chunk: bytes) -> list[Entry]:
        entries: list[Entry] = []
        *lines, rest = chunk.split(b"\n")
        for piece in lines:
            line, self._held = (None if self._held is None else bytes(self._held) + piece), bytearray()
            entry = None if line is None else _decode(line)
            if entry is None:
                self.dropped += 1
                continue
            skip, self._skip = self._skip, None
            if entry.cursor != skip:  # not the entry the follower started at
                self.cursor = entry.cursor
                entries += [entry] if entry.message is not None else []
        if self._held is not None:
            self._held += rest
            if len(self._held) > MAX_ENTRY_BYTES:
                self._held = None  # dropped when its newline comes
        return entries

    def _finish(self) -> None:
        """The child closed its output: reap it and keep its reason, unless it was stopped."""
        child = self._process
        assert child is not None and child.stderr is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=2)
        if child.returncode is None:
            process.kill(child)
        os.set_blocking(child.stderr.fileno(), False)
        with contextlib.suppress(BlockingIOError):  # what it said before it ended
            self._stderr = (self._stderr + os.read(child.stderr.fileno(), 65536))[-4096:]
        self._close()
        if not self._stopping:
            code, words = child.returncode, self._stderr.decode("utf-8", "replace")
            failure = _failure(code, words)
            if type(failure) is JournalUnavailable:  # not one it can name: say how it ended
                how = f"was killed by signal {-code}" if code < 0 else f"ended with exit code {code}"
                said = " ".join(words.split())[:500]
                failure = JournalEnded(f"journalctl --follow of {self.unit} {how}{': ' + said if said else '.'}")
            self._ended = failure

    def _close(self) -> None:
        child, selector = self._process, self._selector
        self._process, self._selector = None, None
        if selector is not None:
            selector.close()
        if child is not None and child.stdout is not None and child.stderr is not None:
            child.stdout.close()
            child.stderr.close()


def _base_argv(unit: str | None) -> list[str]:
    argv = [settings.WPDASH_JOURNALCTL, "--no-pager", "--output=json", "--all", f"--output-fields={FIELDS}"]
    if settings.WPDASH_JOURNAL_DIRECTORY:
        argv.append(f"--directory={settings.WPDASH_JOURNAL_DIRECTORY}")
    if unit is not None:
        argv.append(f"--unit={unit}")  # always an option with its value: never a bare positional
    return argv


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
        raise _start_error(error) from None
    if result.timed_out and not search:
        raise JournalTimeout(f"journalctl did not answer within {TIMEOUT:g} seconds (timeout).")
    no_match = search and result.exit_code == 1 and not result.stderr.strip()  # --grep's "nothing matched"
    if result.exit_code not in (0, None) and not no_match:
        raise _failure(result.exit_code, result.stderr)
    lines = result.stdout.split("\n")
    found = [entry for line in lines[:-1] if (entry := _decode(line)) is not None]
    return found, lines[-1] == "" and not result.timed_out


def _start_error(error: OSError) -> JournalUnavailable:
    if isinstance(error, (FileNotFoundError, PermissionError, NotADirectoryError)):
        return JournalNotInstalled(
            f"journalctl is not installed ({settings.WPDASH_JOURNALCTL} cannot be run: {error.strerror}): "
            "this host has no systemd journal, or WPDASH_JOURNALCTL names the wrong program."
        )
    return JournalUnavailable(f"journalctl cannot be started: {error.strerror}.")


def _where() -> str:
    directory = settings.WPDASH_JOURNAL_DIRECTORY
    return f"in {directory} (WPDASH_JOURNAL_DIRECTORY)" if directory else "on this host"


def _failure(exit_code: int | None, stderr: str) -> JournalUnavailable:
    """journalctl's exit code and words as the error that says what to do."""
    words = " ".join(stderr.split())[:500]
    if any(sign in words for sign in ("insufficient permissions", "Permission denied", "not seeing messages")):
        try:
            user = pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            user = str(os.geteuid())
        return JournalPermissionDenied(
            f"journalctl cannot read the journal as user {user} ({words}): the service user needs group "
            f"systemd-journal (or adm on Debian): run `usermod -aG systemd-journal {user}`, then restart wpdash."
        )
    if "No journal files" in words or "No such file or directory" in words:
        return NoJournal(f"No journal files were found {_where()}: {words}")
    return JournalUnavailable(f"journalctl failed (exit code {exit_code}): {words or 'it gave no reason'}")


def _decode(line: str | bytes) -> Entry | None:
    try:
        record = json.loads(line)
        cursor, realtime = record["__CURSOR"], int(record["__REALTIME_TIMESTAMP"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(cursor, str):
        return None
    message, priority = _text(record.get("MESSAGE")), _text(record.get("PRIORITY"))
    identifier = _text(record.get("SYSLOG_IDENTIFIER")) or _text(record.get("_COMM")) or "unknown"
    number = int(priority) if priority and priority.isdigit() else None
    return Entry(cursor, realtime, number, identifier, _text(record.get("_PID")), _cut(message))


def _text(value: Any) -> str | None:
    """A JSON field as text: a string; a list of byte values (not UTF-8: decoded with replacement
    characters); for a field given more than once, the last of a list, as journalctl shows it."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        if all(isinstance(item, int) for item in value):
            return bytes(item & 0xFF for item in value).decode("utf-8", "replace")
        return _text(value[-1])
    return None


def _cut(message: str | None) -> str | None:
    if message is None or len(message) <= MAX_MESSAGE_BYTES // 4 or len(raw := message.encode()) <= MAX_MESSAGE_BYTES:
        return message
    return raw[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore") + CUT_MARK

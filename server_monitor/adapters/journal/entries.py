"""Journal entries: how journalctl is asked for them, how one is read, and how it is shown.

Every journalctl child answers in JSON (`--output=json --all`, only FIELDS). An entry
is one line, in the server's time zone (TIME_ZONE), its priority in brackets after the
time only for warning or worse (journalctl's names warning, err, crit, alert, emerg);
an entry without MESSAGE is skipped, as journalctl's short output skips it:

    2026-11-22 03:05:17 mariadbd[284]: 2026-11-22  3:05:17 0 [Note] InnoDB: Using io_uring
    2026-11-22 03:05:41 [err] nginx[812]: unknown directive "foo" in /etc/nginx/nginx.conf:12

A message is cut as a file's line is (adapters.lines: 16 KiB and the same mark). The
errors (JournalUnavailable and its kinds) say in words why journalctl cannot answer and
what to do.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from server_monitor.adapters.lines import cut_text
from server_monitor.adapters.process import user_name
from server_monitor.errors import NotAllowed, Unavailable
from server_monitor.names import UNIT_NAME_RE

FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_PID"  # journalctl adds __CURSOR and the timestamps
PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning")  # 0..4, the priorities a line shows
CURSOR_RE = re.compile(r"[a-z]=[0-9a-f]{1,64}(;[a-z]=[0-9a-f]{1,64}){0,15}")


class JournalUnavailable(Unavailable):
    """journalctl cannot answer now; the detail says why and, where it can, what to do. The kinds
    follow; JournalEnded: a stream's child ended (JournalStream.restart() resumes after the last entry)."""


class JournalNotInstalled(JournalUnavailable): ...


class NoJournal(JournalUnavailable): ...


class JournalPermissionDenied(JournalUnavailable): ...


class JournalTimeout(JournalUnavailable): ...


class JournalEnded(JournalUnavailable): ...


@dataclass(frozen=True)
class Entry:
    cursor: str  # journalctl's __CURSOR: where a stream resumes
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


def check_unit(unit: str) -> str:
    """The unit name, if journalctl may be given it: refused (NotAllowed) before anything runs."""
    if not isinstance(unit, str) or not UNIT_NAME_RE.fullmatch(unit) or ".." in unit:
        raise NotAllowed(f"{unit!r} is not a valid systemd unit name.")
    return unit


def check_cursor(cursor: str) -> str:
    """A cursor journalctl may be given (`--cursor=…`): refused (NotAllowed) otherwise."""
    if not isinstance(cursor, str) or not CURSOR_RE.fullmatch(cursor):
        raise NotAllowed(f"{cursor!r} is not a journal cursor.")
    return cursor


def base_argv(unit: str | None) -> list[str]:
    """The journalctl command every read and stream starts from: JSON entries of FIELDS,
    from WPDASH_JOURNAL_DIRECTORY when set, of `unit` (None: every unit)."""
    argv = [settings.WPDASH_JOURNALCTL, "--no-pager", "--output=json", "--all", f"--output-fields={FIELDS}"]
    if settings.WPDASH_JOURNAL_DIRECTORY:
        argv.append(f"--directory={settings.WPDASH_JOURNAL_DIRECTORY}")
    if unit is not None:
        argv.append(f"--unit={unit}")  # always an option with its value: never a bare positional
    return argv


def decode(line: str | bytes) -> Entry | None:
    """One line of journalctl's JSON output as an Entry; None when it is not one."""
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
    return None if message is None else cut_text(message)


# --- why journalctl cannot answer ---------------------------------------------------------


def start_error(error: OSError) -> JournalUnavailable:
    """journalctl could not be started (process.run or process.start raised `error`)."""
    if isinstance(error, (FileNotFoundError, PermissionError, NotADirectoryError)):
        return JournalNotInstalled(
            f"journalctl is not installed ({settings.WPDASH_JOURNALCTL} cannot be run: {error.strerror}): "
            "this host has no systemd journal, or WPDASH_JOURNALCTL names the wrong program."
        )
    return JournalUnavailable(f"journalctl cannot be started: {error.strerror}.")


def where() -> str:
    """Where the journal is read from, in words."""
    directory = settings.WPDASH_JOURNAL_DIRECTORY
    return f"in {directory} (WPDASH_JOURNAL_DIRECTORY)" if directory else "on this host"


def failure(exit_code: int | None, stderr: str) -> JournalUnavailable:
    """journalctl's exit code and words as the error that says what to do."""
    words = " ".join(stderr.split())[:500]
    if any(sign in words for sign in ("insufficient permissions", "Permission denied", "not seeing messages")):
        user = user_name()
        return JournalPermissionDenied(
            f"journalctl cannot read the journal as user {user} ({words}): the service user needs group "
            f"systemd-journal (or adm on Debian): run `usermod -aG systemd-journal {user}`, then restart wpdash."
        )
    if "No journal files" in words or "No such file or directory" in words:
        return NoJournal(f"No journal files were found {where()}: {words}")
    return JournalUnavailable(f"journalctl failed (exit code {exit_code}): {words or 'it gave no reason'}")

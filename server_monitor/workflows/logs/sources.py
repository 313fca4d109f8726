"""Log sources: the catalog of what may be read, and one way to read each source.

Names come from a request; paths never do. A name is looked up in the catalog (KINDS),
whose every kind decides from settings alone, so anything that is not a source is an
UnknownLog before a file is touched or a program run. When a source cannot be read,
its answer says why and what to do.

A source is a LogSource: a file (FileSource, read through adapters.logs) or a systemd
unit's journal (JournalSource, read through adapters.journal). Both answer the same
calls in the same shapes (`tail`, `status`, `follower`, `open_folders`), so no caller
asks which kind it holds. The kinds of the catalog:

- ConfiguredLogs: WPDASH_LOGS (read at call time, so tests can override it): a path,
  or `journal:UNIT` for a unit's journal;
- ServiceJournals: `journal:NAME` for every allowlisted service, listed for those
  systemd says are installed (combining systemd's unit list with the journal is
  this workflow's work: no adapter calls another).

The `journal:` prefix cannot collide with a configured name (those are a-z, 0-9, - and _
only) and stays stable (docs/architecture.md). A new kind of source (a WordPress
site's access, error and debug logs) is one more class with `named`, `listed` and
`allowed_in_words`, added to KINDS; its sources are FileSources.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings

from server_monitor import caching
from server_monitor.adapters import systemd
from server_monitor.adapters.journal import reads
from server_monitor.adapters.journal.entries import JournalUnavailable
from server_monitor.adapters.journal.follow import JournalFollower
from server_monitor.adapters.lines import Follower
from server_monitor.adapters.logs import status as file_status
from server_monitor.adapters.logs import tail as file_tail
from server_monitor.adapters.logs.follow import FileFollower
from server_monitor.adapters.logs.paths import LogUnavailable, OpenFolder
from server_monitor.adapters.logs.tail import LineFilter
from server_monitor.errors import DomainError, NotAllowed
from server_monitor.names import JOURNAL_PREFIX, unit_file_name
from server_monitor.workflows.sites import discovery as site_discovery

logger = logging.getLogger("server_monitor.logs")

JOURNAL_CHECK_SECONDS = 30.0  # a journal's readability is asked of journalctl at most this often


class UnknownLog(NotAllowed):
    """Not the name of a source in the catalog."""


@dataclass(frozen=True)
class Tail:
    log_type: str
    lines: list[str]
    timestamp: int  # Unix seconds when the lines were read, as the logs plan's LogEntry says
    available: bool
    reason: str | None
    # Set by a search only: how far back it read (a file), whether that was all of it.
    scanned_bytes: int | None = None
    reached_start: bool | None = None


@dataclass(frozen=True)
class SourceStatus:
    name: str
    path: str
    exists: bool | None  # None: a directory on the way is closed to us, so we cannot tell
    readable: bool
    size: int | None
    modified: datetime | None
    reason: str | None  # in words, when the log cannot be shown

    @property
    def available(self) -> bool:
        return bool(self.exists and self.readable)


class LogSource(Protocol):
    """One source of log lines, whatever holds them."""

    @property
    def name(self) -> str:
        """The name a request uses (`nginx-access`, `journal:nginx`)."""

    @property
    def path(self) -> str:
        """A file's absolute path, or `journal:UNIT`; shown, never taken from a request."""

    def tail(self, count: int, match: LineFilter | None = None) -> Tail:
        """The last `count` lines (1..MAX_TAIL_LINES), or with `match` the last `count` it
        accepts; an unreadable source answers no lines, available False and the reason."""

    def status(self) -> SourceStatus:
        """Whether it can be read now, and why not in words."""

    def follower(self) -> Follower:
        """A new blocking follower of it (adapters.lines.Follower), for the shared reader."""

    def open_folders(self) -> list[OpenFolder]:
        """The folders others than root and the log's owner could change (for the doctor)."""


@dataclass(frozen=True)
class FileSource:
    """A log file, read through adapters.logs (opened only by paths.open_log_file)."""

    name: str
    path: str

    def tail(self, count: int, match: LineFilter | None = None) -> Tail:
        now = int(time.time())
        try:
            found = file_tail.read(self.path, count, match)
        except LogUnavailable as error:
            note_availability(self, error.detail)
            if match is None:
                return Tail(self.name, [], now, False, error.detail)
            return Tail(self.name, [], now, False, error.detail, scanned_bytes=0, reached_start=False)
        note_availability(self, None)
        return Tail(self.name, found.lines, now, True, None, found.scanned_bytes, found.reached_start)

    def status(self) -> SourceStatus:
        found = file_status.file_status(self.path)
        note_availability(self, found.reason)
        return SourceStatus(
            self.name, self.path, found.exists, found.readable, found.size, found.modified, found.reason
        )

    def follower(self) -> Follower:
        return FileFollower(self.path, watch=settings.WPDASH_LOG_WATCH == "inotify")

    def open_folders(self) -> list[OpenFolder]:
        return file_status.open_folders(self.path)


@dataclass(frozen=True)
class JournalSource:
    """A systemd unit's journal, read through adapters.journal (journalctl)."""

    name: str
    path: str  # journal:NAME as configured or listed
    unit: str  # the systemd unit whose journal it is

    def tail(self, count: int, match: LineFilter | None = None) -> Tail:
        """A search uses journalctl's own matching (--grep) for `match.text`, and says whether
        it went through the whole journal (reached_start), not how many bytes."""
        now = int(time.time())
        try:
            found = reads.last_entries(self.unit, count, grep=match.text if match is not None else None)
        except JournalUnavailable as error:
            note_availability(self, error.detail)
            return Tail(self.name, [], now, False, error.detail, reached_start=False if match is not None else None)
        note_availability(self, None)
        return Tail(
            self.name, found.lines, now, True, None, reached_start=found.complete if match is not None else None
        )

    def status(self) -> SourceStatus:
        reason = journal_reason(self.unit)
        note_availability(self, reason)
        return SourceStatus(self.name, self.path, reason is None, reason is None, None, None, reason)

    def follower(self) -> Follower:
        return JournalFollower(self.unit)

    def open_folders(self) -> list[OpenFolder]:
        return []  # journalctl reads the journal: no file of ours to swap


# --- the catalog ---------------------------------------------------------------------


class SourceKind(Protocol):
    def named(self, name: str) -> LogSource | None:
        """The source of this kind called `name`, or None; decided from settings (and, for
        a site's log, nginx's configuration, kept a few seconds): no log is touched and
        nothing is run."""

    def listed(self) -> list[LogSource]:
        """Every source of this kind that is there to read, in order (it may ask an
        outside system which are)."""

    def allowed_in_words(self) -> str:
        """The names it allows, for the answer to a name no kind knows."""


def _from_setting(name: str, value: str) -> LogSource:
    """A source from a WPDASH_LOGS value: a path, or `journal:UNIT` (a service name
    becomes its unit, nginx -> nginx.service)."""
    if value.startswith(JOURNAL_PREFIX):
        return JournalSource(name, value, unit_file_name(value[len(JOURNAL_PREFIX) :]))
    return FileSource(name, value)


class ConfiguredLogs:
    """WPDASH_LOGS: files, and journal:UNIT under a name of their own."""

    def named(self, name: str) -> LogSource | None:
        logs: dict[str, str] = settings.WPDASH_LOGS
        return _from_setting(name, logs[name]) if name in logs else None

    def listed(self) -> list[LogSource]:
        return [_from_setting(name, value) for name, value in settings.WPDASH_LOGS.items()]

    def allowed_in_words(self) -> str:
        return f"Configured log types: {', '.join(sorted(settings.WPDASH_LOGS))}"


class ServiceJournals:
    """journal:NAME of every allowlisted service; listed for the installed ones."""

    def named(self, name: str) -> LogSource | None:
        service = name.removeprefix(JOURNAL_PREFIX)
        if not name.startswith(JOURNAL_PREFIX) or service not in systemd.allowlist():
            return None
        return JournalSource(name, name, unit_file_name(service))  # journal:NAME names its own journal

    def listed(self) -> list[LogSource]:
        try:
            statuses = systemd.list_statuses()
        except DomainError:
            return []  # no systemd here: no unit journals, and the services panel says why
        names = dict.fromkeys(journal_source_name(status.name, status.unit) for status in statuses)
        return [source for name in names if (source := self.named(name)) is not None]

    def allowed_in_words(self) -> str:
        return "journal:NAME of an allowed service"


class SiteLogs:
    """The enabled WordPress sites' access, error and debug logs (workflows.sites), named
    SITE-access, SITE-error, SITE-debug; files like any other. A name of that shape is
    looked up in the sites nginx's configuration names (read at most every few seconds);
    any other name never makes it read. A configured name always wins."""

    def named(self, name: str) -> LogSource | None:
        if not site_discovery.could_be_site_log(name) or name in settings.WPDASH_LOGS:
            return None
        return next((FileSource(found, path) for found, path in site_discovery.log_sources() if found == name), None)

    def listed(self) -> list[LogSource]:
        configured: dict[str, str] = settings.WPDASH_LOGS
        return [FileSource(name, path) for name, path in site_discovery.log_sources() if name not in configured]

    def allowed_in_words(self) -> str:
        return "SITE-access, SITE-error and SITE-debug of an enabled site"


CONFIGURED_LOGS = ConfiguredLogs()
SITE_LOGS = SiteLogs()
SERVICE_JOURNALS = ServiceJournals()
KINDS: tuple[SourceKind, ...] = (CONFIGURED_LOGS, SITE_LOGS, SERVICE_JOURNALS)  # in the order they are listed


def get_source(name: object) -> LogSource:
    """The source called `name`; anything else is an UnknownLog. Runs nothing.

    Each kind looks the name up among its own (a dictionary lookup for WPDASH_LOGS):
    traversal strings, absolute paths or NUL bytes are simply not names, and the error
    does not echo what the client sent.
    """
    if isinstance(name, str):
        for kind in KINDS:
            if (source := kind.named(name)) is not None:
                return source
    raise UnknownLog(f"Unknown log type. {', and '.join(kind.allowed_in_words() for kind in KINDS)}.")


def configured_sources() -> list[LogSource]:
    """Every source there is to read: WPDASH_LOGS, then the journal of every installed
    allowlisted unit (none without systemd)."""
    return [source for kind in KINDS for source in kind.listed()]


def settings_sources() -> list[LogSource]:
    """The sources WPDASH_LOGS names."""
    return CONFIGURED_LOGS.listed()


def unit_journals() -> list[LogSource]:
    """journal:NAME of every installed allowlisted unit, one per journal."""
    return SERVICE_JOURNALS.listed()


def journal_source_name(service: str, unit: str) -> str:
    """`journal:NAME` of a service card: its unit's own name when that is allowlisted too
    (mysql is mariadb.service: one journal, one name), else the service's."""
    stem = unit.removesuffix(".service")
    return JOURNAL_PREFIX + (stem if stem in systemd.allowlist() else service)


def all_statuses(unit_journals: bool = True) -> list[SourceStatus]:
    """Every source's status; `unit_journals=False`: only those WPDASH_LOGS names."""
    listed = configured_sources() if unit_journals else settings_sources()
    return [source.status() for source in listed]


# --- availability ----------------------------------------------------------------------


_reported: dict[tuple[str, str], str | None] = {}  # what was last logged per source: not a cache
_reported_lock = threading.Lock()


def note_availability(source: LogSource, reason: str | None) -> None:
    """Log a change of a source's availability once, not on every request."""
    key = (source.name, source.path)
    with _reported_lock:
        first = key not in _reported
        if not first and _reported[key] == reason:
            return
        _reported[key] = reason
    if reason:
        logger.warning("log %s is not available: %s", source.name, reason)
    elif not first:
        logger.info("log %s is available again", source.name)


# The answer is kept as a one-item tuple: a cache keeps no None, and None is "readable".
_journal_checks: caching.TTLCache[tuple[str, str, str], tuple[str | None]] = caching.TTLCache(
    "log sources: journal readability", JOURNAL_CHECK_SECONDS, maxsize=256
)


def journal_reason(unit: str) -> str | None:
    """Why the unit's journal cannot be read, or None; journalctl is asked at most every
    JOURNAL_CHECK_SECONDS per unit (and journalctl and directory), so a page listing
    sources stays cheap."""
    key = (settings.WPDASH_JOURNALCTL, settings.WPDASH_JOURNAL_DIRECTORY, unit)
    return _journal_checks.get_or_compute(key, lambda: (_ask_journal(unit),))[0]


def _ask_journal(unit: str) -> str | None:
    try:
        reads.last_entries(unit, 1)
    except DomainError as error:
        return error.detail
    return None


# --- settings --------------------------------------------------------------------------


def log_pin_notes() -> None:
    """Say once, at start-up, which configured paths went through a link: followed
    (pinned to its target) or refused (see adapters.logs.paths)."""
    for level, note in settings.WPDASH_LOG_PIN_NOTES:
        logger.log(level, note)


def configured_as(path: str) -> str | None:
    """The path as WPDASH_LOGS wrote it, when a link in it was resolved at start-up to `path`."""
    pins: dict[str, str] = settings.WPDASH_LOG_PINS
    return pins.get(path)

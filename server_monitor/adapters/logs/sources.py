"""Log sources: the allowlist from settings, their availability, and opening a file.

This package is the only code that opens log files. Names come from a request; paths
never do: a name is looked up in settings.WPDASH_LOGS (read at call time, so tests can
override it), and anything that is not one of its keys is an UnknownLog before the
file system is touched. When a file cannot be read, the reason says what to do.

A source is a file, or a systemd unit's journal (read through adapters.journal): a
WPDASH_LOGS value `journal:UNIT`, or `journal:NAME` for every allowlisted service,
listed for the installed ones. The prefix cannot collide with a configured name
(those are a-z, 0-9, - and _ only) and stays stable (docs/architecture.md).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings

from server_monitor.adapters import journal, systemd
from server_monitor.adapters.logs.paths import (
    LogUnavailable,
    OpenFolder,
    folders_others_can_change,
    open_log_file,
    permission_advice,
)
from server_monitor.errors import DomainError, NotAllowed
from server_monitor.names import JOURNAL_PREFIX

logger = logging.getLogger("server_monitor.logs")


class UnknownLog(NotAllowed):
    """Not a name in WPDASH_LOGS."""


@dataclass(frozen=True)
class LogSource:
    name: str
    path: str  # a file's absolute path, or "journal:UNIT"
    unit: str | None = None  # a journal source's systemd unit


def _source(name: str, value: str) -> LogSource:
    """A source from a WPDASH_LOGS value: a path, or `journal:UNIT` (a service name
    becomes its unit, nginx -> nginx.service)."""
    if value.startswith(JOURNAL_PREFIX):
        return LogSource(name, value, unit=systemd.unit_file_name(value[len(JOURNAL_PREFIX) :]))
    return LogSource(name, value)


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


# More kinds of file sources register a provider of (name, path) pairs at start-up (the
# WordPress sites' logs: server_monitor.workflows.sites), with the test a name must pass
# to be one of theirs, so that any other name is refused before a provider reads anything.
# A configured name always wins.
_providers: list[tuple[Callable[[], list[tuple[str, str]]], Callable[[str], bool]]] = []


def register_provider(provider: Callable[[], list[tuple[str, str]]], could_be: Callable[[str], bool]) -> None:
    if all(known is not provider for known, _ in _providers):
        _providers.append((provider, could_be))


def provided_sources(name: str | None = None) -> list[LogSource]:
    """The registered kinds' sources (only those of the kinds `name` could belong to)."""
    configured: dict[str, str] = settings.WPDASH_LOGS
    found: dict[str, LogSource] = {}
    for provider, could_be in _providers:
        if name is not None and not could_be(name):
            continue
        for name_found, path in provider():
            if name_found not in configured and name_found not in found:
                found[name_found] = LogSource(name_found, path)
    return list(found.values())


def configured_sources() -> list[LogSource]:
    """WPDASH_LOGS, the registered kinds' (the sites' logs), then the journal of every
    installed allowlisted unit (none without systemd)."""
    return settings_sources() + provided_sources() + unit_journals()


def settings_sources() -> list[LogSource]:
    return [_source(name, value) for name, value in settings.WPDASH_LOGS.items()]


def journal_source_name(service: str, unit: str) -> str:
    """`journal:NAME` of a service card: its unit's own name when that is allowlisted too
    (mysql is mariadb.service: one journal, one name), else the service's."""
    stem = unit.removesuffix(".service")
    return JOURNAL_PREFIX + (stem if stem in systemd.allowlist() else service)


def unit_journals() -> list[LogSource]:
    try:
        statuses = systemd.list_statuses()
    except DomainError:
        return []  # no systemd here: no unit journals, and the services panel says why
    names = dict.fromkeys(journal_source_name(status.name, status.unit) for status in statuses)
    return [_source(name, name) for name in names]  # journal:NAME names its own journal


def get_source(name: object) -> LogSource:
    """The configured source called `name`, or `journal:SERVICE` of an allowlisted
    service; anything else is an UnknownLog. Runs nothing.

    A plain dictionary lookup: traversal strings, absolute paths or NUL bytes are
    simply not keys, and the error does not echo what the client sent.
    """
    logs: dict[str, str] = settings.WPDASH_LOGS
    if isinstance(name, str) and name in logs:
        return _source(name, logs[name])
    if isinstance(name, str) and name.startswith(JOURNAL_PREFIX) and name[len(JOURNAL_PREFIX) :] in systemd.allowlist():
        return _source(name, name)
    if isinstance(name, str) and _providers:
        provided = next((source for source in provided_sources(name) if source.name == name), None)
        if provided is not None:
            return provided
    raise UnknownLog(
        f"Unknown log type. Configured log types: {', '.join(sorted(logs))}, and journal:NAME of an allowed service."
    )


# --- status --------------------------------------------------------------------------


def log_pin_notes() -> None:
    """Say once, at start-up, which configured paths went through a link: followed
    (pinned to its target) or refused (see adapters.logs.paths)."""
    for level, note in settings.WPDASH_LOG_PIN_NOTES:
        logger.log(level, note)


def configured_as(path: str) -> str | None:
    """The path as WPDASH_LOGS wrote it, when a link in it was resolved at start-up to `path`."""
    pins: dict[str, str] = settings.WPDASH_LOG_PINS
    return pins.get(path)


_reported: dict[tuple[str, str], str | None] = {}
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


JOURNAL_CHECK_SECONDS = 30.0  # a journal's readability is asked of journalctl at most this often
_journal_checks: dict[tuple[str, str, str], tuple[float, str | None]] = {}  # (journalctl, directory, unit)


def journal_reason(unit: str) -> str | None:
    """Why the unit's journal cannot be read, or None; journalctl is asked at most every
    JOURNAL_CHECK_SECONDS per unit, so a page listing sources stays cheap."""
    now = time.monotonic()
    key = (settings.WPDASH_JOURNALCTL, settings.WPDASH_JOURNAL_DIRECTORY, unit)
    with _reported_lock:
        checked = _journal_checks.get(key)
    if checked is not None and now - checked[0] < JOURNAL_CHECK_SECONDS:
        return checked[1]
    try:
        journal.last_entries(unit, 1)
        reason = None
    except DomainError as error:
        reason = error.detail
    with _reported_lock:
        _journal_checks[key] = (now, reason)
    return reason


def source_status(source: LogSource) -> SourceStatus:
    """Exists, readable (really opened, so group membership and ACLs count), size."""
    if source.unit is not None:
        reason = journal_reason(source.unit)
        result = SourceStatus(source.name, source.path, reason is None, reason is None, None, None, reason)
        note_availability(source, reason)
        return result
    path = source.path
    try:
        st = os.lstat(path)  # a link is not looked through: the opener below says why it is refused
    except FileNotFoundError:
        result = SourceStatus(source.name, path, False, False, None, None, f"{path} does not exist.")
    except PermissionError:
        result = SourceStatus(source.name, path, None, False, None, None, permission_advice(path))
    else:
        reason = None
        try:
            fd = open_log_file(path)
        except LogUnavailable as error:
            reason = error.detail
        else:
            st = os.fstat(fd)  # the size and time of the file that was really opened
            os.close(fd)
        # Never the size of a link, or of a secret hard-linked in under the log's name.
        shown = reason is None or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)
        size, modified = (st.st_size, datetime.fromtimestamp(st.st_mtime, tz=timezone.utc)) if shown else (None, None)
        result = SourceStatus(source.name, path, True, reason is None, size, modified, reason)
    note_availability(source, result.reason)
    return result


def open_folders(source: LogSource) -> list[OpenFolder]:
    """The folders on a file source's path that others than root and the log's owner
    could change, and so put another file under the log's name (a journal has none)."""
    if source.unit is not None:
        return []
    allowed = {0}
    try:
        st = os.lstat(source.path)
    except OSError:
        pass  # missing or closed: only root is sure to be its writer
    else:
        if stat.S_ISREG(st.st_mode):
            allowed.add(st.st_uid)
    return folders_others_can_change(source.path, allowed)


def all_statuses(unit_journals: bool = True) -> list[SourceStatus]:
    """Every source's status; `unit_journals=False`: only those WPDASH_LOGS names."""
    listed = configured_sources() if unit_journals else settings_sources()
    return [source_status(source) for source in listed]

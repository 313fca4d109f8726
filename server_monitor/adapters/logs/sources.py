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

import grp
import logging
import os
import pwd
import stat
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django.conf import settings

from server_monitor.adapters import journal, systemd
from server_monitor.errors import DomainError, NotAllowed, Unavailable
from wpdash.env import JOURNAL_PREFIX

logger = logging.getLogger("server_monitor.logs")

OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK  # a FIFO must not hang open()


class UnknownLog(NotAllowed):
    """Not a name in WPDASH_LOGS."""


class LogUnavailable(Unavailable):
    """Raised by open_log_file: the file is missing, unreadable or not a regular file."""


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


def configured_sources() -> list[LogSource]:
    """WPDASH_LOGS, then the journal of every installed allowlisted unit (none without systemd)."""
    return settings_sources() + unit_journals()


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
    raise UnknownLog(
        f"Unknown log type. Configured log types: {', '.join(sorted(logs))}, and journal:NAME of an allowed service."
    )


# --- opening -------------------------------------------------------------------------


def open_log_file(path: str) -> int:
    """A read-only descriptor of the regular file at a configured path.

    Raises LogUnavailable with a reason in words. The caller closes the descriptor.
    """
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        raise LogUnavailable(f"{path} does not exist.") from None
    except PermissionError:
        raise LogUnavailable(permission_advice(path)) from None
    except OSError as error:
        raise LogUnavailable(f"{path} cannot be opened: {error.strerror}.") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LogUnavailable(f"{path} is not a regular file.")
    return fd


# --- status --------------------------------------------------------------------------


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _owner_and_group(st: os.stat_result) -> tuple[str, str]:
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return owner, group


def permission_advice(path: str) -> str:
    """Why the dashboard's user cannot read `path`, and what to do about it."""
    user = _user()
    directory = os.path.dirname(path)
    while directory and directory != "/":
        # A folder like /var/log/redis (redis:adm 2750) hides everything inside it.
        if not os.access(directory, os.X_OK, effective_ids=os.access in os.supports_effective_ids):
            try:
                owner, group = _owner_and_group(os.stat(directory))
            except OSError:
                return f"not readable by user {user}: the folder {directory} is closed to it."
            return (
                f"not readable by user {user}: the folder {directory} ({owner}:{group}) is closed to it; "
                f"add {user} to group {group} if the folder is group-accessible, then restart wpdash."
            )
        directory = os.path.dirname(directory)
    try:
        st = os.stat(path)
    except OSError:
        return f"not readable by user {user}."
    owner, group = _owner_and_group(st)
    mode = stat.S_IMODE(st.st_mode)
    what = f"not readable by user {user} ({path} is {owner}:{group}, mode {mode:04o})"
    if mode & stat.S_IRGRP:
        return f"{what}: add {user} to group {group} (e.g. `adduser {user} {group}`), then restart wpdash."
    return (
        f"{what}: only {owner} may read it. Have logrotate create it group-readable "
        f"(e.g. `create 0640 {owner} adm`, then `chmod 0640` and `chgrp adm` once) and add {user} to group adm."
    )


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
        st = os.stat(path)
    except FileNotFoundError:
        result = SourceStatus(source.name, path, False, False, None, None, f"{path} does not exist.")
    except PermissionError:
        result = SourceStatus(source.name, path, None, False, None, None, permission_advice(path))
    else:
        modified = datetime.fromtimestamp(st.st_mtime, tz=timezone.utc)
        reason = None
        try:
            os.close(open_log_file(path))
        except LogUnavailable as error:
            reason = error.detail
        result = SourceStatus(source.name, path, True, reason is None, st.st_size, modified, reason)
    note_availability(source, result.reason)
    return result


def all_statuses(unit_journals: bool = True) -> list[SourceStatus]:
    """Every source's status; `unit_journals=False`: only those WPDASH_LOGS names."""
    listed = configured_sources() if unit_journals else settings_sources()
    return [source_status(source) for source in listed]

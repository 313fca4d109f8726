"""Log sources: the allowlist from settings, their status, and the tail of a log.

This module (with server_monitor.logtracker, which follows a log as it grows) is the
only code that opens log files. Names come from a request; paths never do: a name is
looked up in settings.WPDASH_LOGS (read at call time, so tests can override it), and
anything that is not one of its keys is an UnknownLog (400 / WebSocket close 4000)
before the file system is touched.

Lines are decoded as UTF-8 with replacement characters (a log can hold any bytes). A
line longer than MAX_LINE_BYTES is cut to its first MAX_LINE_BYTES bytes followed by
CUT_MARK, so one runaway line cannot make a response or a WebSocket message huge.
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
from rest_framework import status

from server_monitor.exceptions import AdapterError

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 16 * 1024
CUT_MARK = " …[line cut at 16 KiB]"
# Shown before the end of a line whose start lies beyond what a tail may read.
HEAD_CUT_MARK = "[line cut at 16 KiB]… "
MAX_TAIL_LINES = 500
BLOCK_SIZE = 64 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK  # a FIFO must not hang open()


class LogError(AdapterError):
    """A log cannot be read for a reason the operator has to fix."""


class UnknownLog(LogError):
    http_status = status.HTTP_400_BAD_REQUEST


class LogUnavailable(LogError):
    """Raised by open_log_file: the file is missing, unreadable or not a regular file."""


@dataclass(frozen=True)
class LogSource:
    name: str
    path: str


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


@dataclass(frozen=True)
class Tail:
    log_type: str
    lines: list[str]
    timestamp: int  # Unix seconds when the lines were read, as the logs plan's LogEntry says
    available: bool
    reason: str | None


def configured_sources() -> list[LogSource]:
    return [LogSource(name, path) for name, path in settings.WPDASH_LOGS.items()]


def get_source(name: object) -> LogSource:
    """The configured source called `name`; anything else is an UnknownLog.

    A plain dictionary lookup: traversal strings, absolute paths or NUL bytes are
    simply not keys, and the error does not echo what the client sent.
    """
    logs: dict[str, str] = settings.WPDASH_LOGS
    if not isinstance(name, str) or name not in logs:
        raise UnknownLog(f"Unknown log type. Configured log types: {', '.join(sorted(logs))}.")
    return LogSource(name, logs[name])


# --- opening -------------------------------------------------------------------------


def open_log_file(path: str) -> int:
    """A read-only descriptor of the regular file at a configured path.

    Raises LogUnavailable with a reason in words. The caller closes the descriptor.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
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


def open_rotated_copy(path: str, name: str) -> int | None:
    """A descriptor of `name`, a rotated copy of the configured log `path` in its folder.

    Only the follower calls this, after it saw `path` truncated (copytruncate): the
    lines written just before the truncation are in the copy logrotate made. `name`
    comes from listing the log's own folder and must be the log's name plus a
    rotation suffix (access.log.1, access.log-20261122, access.log.1.gz); symlinks
    are refused. None when it cannot be opened.
    """
    base = os.path.basename(path)
    if (
        "/" in name
        or "\x00" in name
        or not name.startswith(base)
        or name[len(base) : len(base) + 1] not in {".", "-", "_"}
    ):
        return None
    try:
        fd = os.open(os.path.join(os.path.dirname(path), name), _OPEN_FLAGS | os.O_NOFOLLOW)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
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


def source_status(source: LogSource) -> SourceStatus:
    """Exists, readable (really opened, so group membership and ACLs count), size."""
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


def all_statuses() -> list[SourceStatus]:
    return [source_status(source) for source in configured_sources()]


# --- reading -------------------------------------------------------------------------


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

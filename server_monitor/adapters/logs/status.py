"""A log file's status: whether it exists and can be read, its size and time, why not in words.

Readable means really opened through adapters.logs.paths.open_log_file, so group
membership, ACLs and the opener's refusals (a link, a second name) all count. Also the
folders on a log's path that others could change (`open_folders`), for the doctor.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone

from server_monitor.adapters.logs.paths import (
    LogUnavailable,
    OpenFolder,
    folders_others_can_change,
    open_log_file,
    permission_advice,
)


@dataclass(frozen=True)
class FileStatus:
    exists: bool | None  # None: a folder on the way is closed to us, so we cannot tell
    readable: bool
    size: int | None
    modified: datetime | None
    reason: str | None  # in words, when the log cannot be shown


def file_status(path: str) -> FileStatus:
    """Exists, readable (really opened), size and time of the file that was opened."""
    try:
        st = os.lstat(path)  # a link is not looked through: the opener below says why it is refused
    except FileNotFoundError:
        return FileStatus(False, False, None, None, f"{path} does not exist.")
    except PermissionError:
        return FileStatus(None, False, None, None, permission_advice(path))
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
    return FileStatus(True, reason is None, size, modified, reason)


def open_folders(path: str) -> list[OpenFolder]:
    """The folders on the log's path that others than root and the log's owner could
    change, and so put another file under the log's name."""
    allowed = {0}
    try:
        st = os.lstat(path)
    except OSError:
        pass  # missing or closed: only root is sure to be its writer
    else:
        if stat.S_ISREG(st.st_mode):
            allowed.add(st.st_uid)
    return folders_others_can_change(path, allowed)

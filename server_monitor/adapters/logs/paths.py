"""Where a log's path may lead: opened without following links, pinned once at start-up.

Whoever can write in a log's folder (www-data for WordPress's debug.log) could
otherwise swap the log for a symbolic link to /etc/wpdash/env and have a read-only
viewer read the secret key. So every log file and every rotated copy is opened by
`open_log_file`, which walks the path from "/" one folder at a time
(O_PATH|O_DIRECTORY|O_NOFOLLOW relative to the folder before: no link is followed
anywhere, and O_PATH needs no read permission, so a 0711 folder can be passed), opens
the last name with O_NOFOLLOW relative to its folder, and takes only a regular file
with one name: a hard link to a secret would have two (root, or a host with
fs.protected_hardlinks=0, can make one).

A configured path that goes through a link on purpose is resolved once, at start-up
(`pin_links`, called from wpdash.env), and the target is what is opened from then on.
Only a link that nobody but root and the dashboard's own user could have made or
changed is followed: the link and every folder above it belong to them and nobody
else may write there. Otherwise an attacker could plant the link and wait for the
next restart; such a path is left as written, and the opener refuses it.

`folders_others_can_change` names who else could change what a path names: the
doctor reports it, and `pin_links` refuses such a link.

This module uses the standard library only (and adapters.process, which does too):
wpdash.env imports it while settings load.
"""

from __future__ import annotations

import errno
import grp
import os
import stat
from dataclasses import dataclass

from server_monitor.adapters.process import user_name
from server_monitor.errors import Unavailable

OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK  # a FIFO must not hang open()
FOLDER_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_LINKS = 40  # as the kernel's own limit on links in one lookup


class LogUnavailable(Unavailable):
    """Raised by open_log_file: the file is missing, unreadable, behind a link or not a
    regular file with one name; `detail` says what to do."""


# --- opening ---------------------------------------------------------------------------


def open_log_file(path: str) -> int:
    """A read-only descriptor of the regular file that `path` names without any link.

    `path` is absolute and normalised (as wpdash.env makes every configured one). Raises
    LogUnavailable with a reason in words. The caller closes the descriptor.
    """
    parts = path.split("/")
    if not path.startswith("/") or any(part in ("", ".", "..") for part in parts[1:]):
        raise LogUnavailable(f"{path} is not a normalised absolute path.")
    folder = os.open("/", FOLDER_FLAGS)
    try:
        walked = ""
        for part in parts[1:-1]:
            walked += "/" + part
            try:
                inner = os.open(part, FOLDER_FLAGS, dir_fd=folder)
            except OSError as error:
                raise LogUnavailable(_reason(error, path, walked, folder, part)) from None
            os.close(folder)
            folder = inner
        try:
            fd = os.open(parts[-1], OPEN_FLAGS | os.O_NOFOLLOW, dir_fd=folder)
        except OSError as error:
            raise LogUnavailable(_reason(error, path, path, folder, parts[-1])) from None
    finally:
        os.close(folder)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise LogUnavailable(f"{path} is not a regular file.")
    if st.st_nlink > 1:
        os.close(fd)
        raise LogUnavailable(
            f"{path} has {st.st_nlink} names (hard links); wpdash reads a log only when it has one, so that no "
            f"other file can be linked in under its name. Remove the other names (`find / -xdev -samefile {path}`)."
        )
    return fd


def _reason(error: OSError, path: str, where: str, folder: int, name: str) -> str:
    """Why `name` (at `where`, on the way to `path`) could not be opened, and what to do."""
    if error.errno == errno.ENOENT:
        return f"{path} does not exist."
    if error.errno in (errno.EACCES, errno.EPERM):
        return permission_advice(path)
    if error.errno in (errno.ELOOP, errno.ENOTDIR):  # a link where O_NOFOLLOW forbids one, or not a folder
        try:
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
        except OSError:
            is_link = False
        if is_link:
            return _link_advice(path, where)
        if where != path:
            return f"{where} is not a folder, so {path} does not exist."
    return f"{path} cannot be opened: {error.strerror}."


def _link_advice(path: str, link: str) -> str:
    what = f"{path} is a symbolic link" if link == path else f"{link}, on the way to {path}, is a symbolic link"
    return (
        f"{what}, and wpdash does not follow links to a log (whoever can change one could point it at a secret). "
        "Set WPDASH_LOGS to the file itself and restart wpdash; a link that only root or wpdash's own user can "
        "change is followed once, at start-up."
    )


# --- who may change a path ---------------------------------------------------------------


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def owner_and_group(st: os.stat_result) -> tuple[str, str]:
    return user_name(st.st_uid), _group_name(st.st_gid)


@dataclass(frozen=True)
class OpenFolder:
    """A folder on a log's path that someone other than the allowed users can change."""

    folder: str
    owner: str
    group: str
    mode: int
    who: tuple[str, ...]  # "user www-data", "group www-data", "everyone"


def _changers(st: os.stat_result, allowed: set[int]) -> tuple[str, ...]:
    """Who besides `allowed` may add, remove or rename entries of the folder `st`.

    A sticky folder (/tmp) lets others add names but not replace one they do not own;
    the entry under it is then checked for its own owner.
    """
    who = []
    if st.st_uid not in allowed:
        who.append(f"user {user_name(st.st_uid)}")
    if not st.st_mode & stat.S_ISVTX:
        if st.st_mode & stat.S_IWGRP:
            who.append(f"group {_group_name(st.st_gid)}")
        if st.st_mode & stat.S_IWOTH:
            who.append("everyone")
    return tuple(who)


def folders_others_can_change(path: str, allowed: set[int]) -> list[OpenFolder]:
    """Every folder from "/" down to `path`'s own that someone outside `allowed` (uids)
    could change: by owning it, or by group or world write permission (not sticky).

    Stops at a folder it cannot look at, or at a link (the opener refuses that anyway).
    """
    found: list[OpenFolder] = []
    folders = ["/"]
    for part in os.path.dirname(path).split("/"):
        if part:
            folders.append(os.path.join(folders[-1], part))
    for folder in folders:
        try:
            st = os.lstat(folder)
        except OSError:
            break
        if not stat.S_ISDIR(st.st_mode):
            break
        who = _changers(st, allowed)
        if who:
            owner, group = owner_and_group(st)
            found.append(OpenFolder(folder, owner, group, stat.S_IMODE(st.st_mode), who))
    return found


# --- pinning links at start-up ---------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    path: str  # what is opened from start-up on: the target, or the path as written
    link: str | None = None  # the first link the configured path goes through
    refused: str | None = None  # why that link is not followed (then `path` is as written)

    def note(self, name: str, configured: str) -> str | None:
        """What start-up says about it, once; None for a path without a link."""
        if self.link is None:
            return None
        if self.refused:
            return (
                f"WPDASH_LOGS: {name}={configured} goes through the symbolic link {self.link}, but {self.refused}: "
                "it is not followed, and the log stays unavailable until WPDASH_LOGS names the file itself."
            )
        return (
            f"WPDASH_LOGS: {name}={configured} goes through the symbolic link {self.link}: {self.path} is read from "
            "now on, and a change of the link takes effect at the next restart."
        )


def _link_changers(link: str, st: os.stat_result, allowed: set[int]) -> list[str]:
    """Who besides `allowed` could have made or could change the link `link`, in words."""
    who = [f"user {user_name(st.st_uid)} owns it"] if st.st_uid not in allowed else []
    for open_folder in folders_others_can_change(link, allowed):
        who.append(f"{' and '.join(open_folder.who)} may change {open_folder.folder}")
    return who


def pin_links(path: str) -> Pin:
    """`path` with every link resolved, if only root and this process's user could have
    made and changed each one; else `path` as written, and why."""
    allowed = {0, os.geteuid()}
    resolved = "/"
    pending = path.split("/")[1:]
    first_link: str | None = None
    followed = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = os.path.join(resolved, part)
        try:
            st = os.lstat(candidate)
        except OSError:  # missing, or closed to us: the rest stays as written
            resolved = os.path.join(candidate, *pending)
            break
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        first_link = first_link or candidate
        followed += 1
        if followed > MAX_LINKS:
            return Pin(path, first_link, f"it leads through more than {MAX_LINKS} links")
        who = _link_changers(candidate, st, allowed)
        if who:
            return Pin(path, first_link, "; ".join(who))
        try:
            target = os.readlink(candidate)
        except OSError:
            return Pin(path, first_link, f"{candidate} changed while it was read")
        if target.startswith("/"):
            resolved = "/"
        pending = target.split("/") + pending
    return Pin(os.path.normpath(resolved), first_link) if first_link else Pin(path)


# --- advice ----------------------------------------------------------------------------


def permission_advice(path: str) -> str:
    """Why the dashboard's user cannot read `path`, and what to do about it."""
    user = user_name()
    directory = os.path.dirname(path)
    while directory and directory != "/":
        # A folder like /var/log/redis (redis:adm 2750) hides everything inside it.
        if not os.access(directory, os.X_OK, effective_ids=os.access in os.supports_effective_ids):
            try:
                owner, group = owner_and_group(os.stat(directory))
            except OSError:
                return f"not readable by user {user}: the folder {directory} is closed to it."
            return (
                f"not readable by user {user}: the folder {directory} ({owner}:{group}) is closed to it; "
                f"add {user} to group {group} if the folder is group-accessible, then restart wpdash."
            )
        directory = os.path.dirname(directory)
    try:
        st = os.lstat(path)
    except OSError:
        return f"not readable by user {user}."
    owner, group = owner_and_group(st)
    mode = stat.S_IMODE(st.st_mode)
    what = f"not readable by user {user} ({path} is {owner}:{group}, mode {mode:04o})"
    if mode & stat.S_IRGRP:
        return f"{what}: add {user} to group {group} (e.g. `adduser {user} {group}`), then restart wpdash."
    return (
        f"{what}: only {owner} may read it. Have logrotate create it group-readable "
        f"(e.g. `create 0640 {owner} adm`, then `chmod 0640` and `chgrp adm` once) and add {user} to group adm."
    )

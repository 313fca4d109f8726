"""Every use the sites make of the log layer, in one place.

What the sites need from the log layer (adapters/logs/, files only), kept in one
module:

- open a log, or a rotated copy of it, only as every log is opened (paths.open_log_file:
  no link anywhere on the path, a regular file with one name);
- follow a log by name across rotations with the live tail's own reader (FileFollower), from
  a known byte of the file, so that the rebuild before it and the following after it
  meet exactly;
- say whether a log can be read, in the words the logs API uses.

The sites' logs (access, error, debug.log) are log sources like every other: the catalog
lists them (workflows.logs.sources.SiteLogs).
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from server_monitor.adapters.lines import MAX_LINE_BYTES
from server_monitor.adapters.logs import rotation
from server_monitor.adapters.logs.follow import FileFollower
from server_monitor.adapters.logs.paths import LogUnavailable, open_log_file
from server_monitor.adapters.logs.status import file_status

START_ATTEMPTS = 50  # a log written more often than every few microseconds may need a few
BLOCK_BYTES = 1024 * 1024
MAX_CARRY_BYTES = 4 * MAX_LINE_BYTES


def open_log(path: str) -> int:
    """A descriptor of the log file `path`; LogUnavailable (with the reason) otherwise."""
    return open_log_file(path)


def availability(path: str) -> str | None:
    """Why the log cannot be read now, or None when it can (the logs API's words)."""
    return file_status(path).reason


@dataclass
class Following:
    """A log followed from byte `boundary` of the file `descriptor` names (its inode when
    following began): everything before that byte is the rebuild's, everything after
    it comes from `poll`. The caller closes both (close())."""

    path: str
    descriptor: int
    boundary: int
    ident: tuple[int, int]
    _follower: FileFollower

    def poll(self) -> tuple[list[str], bool, str | None]:
        """New complete lines, whether more wait (poll again at once), and why the log
        cannot be read now (None when it can)."""
        result = self._follower.poll()
        return result.lines, result.more, result.reason

    def close(self) -> None:
        self._follower.close()
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1

    def release_descriptor(self) -> None:
        """The rebuild is done with the descriptor: close it, keep following."""
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1


def start_following(path: str) -> Following:
    """Follow `path` from its current end, and know exactly which byte that end is.

    The reader takes the file's size itself when it starts. A size taken just before
    and after, on a descriptor of the same file, that are equal prove nothing was
    written between, so the reader started at that very byte. A busy log may need a
    few tries; if it never holds still, the earlier size is taken, so at worst a few
    lines written at that instant are counted by neither side, never by both.
    Raises LogUnavailable when the log cannot be opened.
    """
    for attempt in range(START_ATTEMPTS):
        descriptor = open_log_file(path)
        before = os.fstat(descriptor)
        ident = (before.st_dev, before.st_ino)
        follower = FileFollower(path, watch=False)  # the counter polls on its own clock
        follower.start(0)
        held = follower.open_descriptors
        after = os.fstat(held[0]) if len(held) == 1 else None
        same_file = after is not None and (after.st_dev, after.st_ino) == ident
        if same_file and after is not None and (after.st_size == before.st_size or attempt == START_ATTEMPTS - 1):
            # On the last try the reader started somewhere after `before`: the lines in
            # between are counted by neither side, never by both.
            return Following(path, descriptor, before.st_size, ident, follower)
        follower.close()
        os.close(descriptor)
    raise LogUnavailable(f"{path} was replaced again and again while wpdash began to follow it; trying again.")


@dataclass(frozen=True)
class Copy:
    name: str
    descriptor: int  # -1 when it cannot be opened (see reason)
    compressed: bool
    modified: float
    reason: str | None = None


def rotated_copies(path: str, exclude: tuple[int, int]) -> list[Copy]:
    """The rotated copies of `path` beside it (access.log.1, access.log.2.gz,
    access.log-20261205), newest first, each opened as a log is; `exclude` is the file
    being followed (after a rename it may sit under a rotated name). A copy that cannot
    be opened is listed with descriptor -1 and the reason. The caller closes the others."""
    folder, base = os.path.split(path)
    try:
        entries = [entry for entry in os.scandir(folder) if rotation.is_rotated_name(base, entry.name)]
    except OSError:
        return []
    copies: list[Copy] = []
    for entry in entries:
        if entry.name.endswith(rotation.UNREADABLE_COMPRESSION):
            continue
        compressed = entry.name.endswith(".gz")
        copy_path = os.path.join(folder, entry.name)
        try:
            descriptor = open_log_file(copy_path)
        except LogUnavailable as error:
            try:
                modified = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            copies.append(Copy(entry.name, -1, compressed, modified, error.detail))
            continue
        st = os.fstat(descriptor)
        if (st.st_dev, st.st_ino) == exclude:
            os.close(descriptor)
            continue
        copies.append(Copy(entry.name, descriptor, compressed, st.st_mtime))
    copies.sort(key=lambda copy: (-copy.modified, _rotation_number(copy.name)))
    return copies


class Truncated(Exception):
    """The file shrank while it was read backwards (a copytruncate rotation)."""


class Progress:
    """How far a reading got: bytes read, and whether it reached the file's first byte."""

    def __init__(self) -> None:
        self.bytes_read = 0
        self.reached_start = False


def lines_backwards(
    descriptor: int, end: int, budget: int, progress: Progress, keep_unterminated: bool
) -> Iterator[list[str]]:
    """The lines before byte `end`, in blocks read backwards (the newest block first,
    each block's lines in file order), at most `budget` bytes. Lines are decoded as the
    live tail decodes them (UTF-8 with replacement characters, a final \r dropped).

    The unterminated bytes at `end` are a line still being written: they belong to
    whoever follows the file from `end` and are skipped, unless `keep_unterminated`
    (a rotated copy, which nobody writes any more). A line whose start lies beyond the
    budget is not a whole line and is not given. Raises Truncated when the file shrinks.
    """
    position, carry, skipping = end, b"", not keep_unterminated
    while position > 0 and progress.bytes_read < budget:
        size = min(BLOCK_BYTES, position, budget - progress.bytes_read)
        chunk = os.pread(descriptor, size, position - size)
        if len(chunk) < size:
            raise Truncated
        position -= size
        progress.bytes_read += size
        data = chunk + carry
        if skipping:
            last = data.rfind(b"\n")
            if last < 0:
                carry = b""
                continue  # still inside the unterminated line
            data, skipping = data[: last + 1], False
        if position > 0:
            first = data.find(b"\n")
            if first < 0:
                carry = data[-MAX_CARRY_BYTES:]  # a line longer than any we parse: its head decides nothing
                continue
            carry, data = data[:first], data[first + 1 :]
        else:
            carry = b""
        if not data:
            continue
        text = data.decode("utf-8", "replace")
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        yield [line[:-1] if line.endswith("\r") else line for line in lines]
    progress.reached_start = position == 0


def gzip_size(descriptor: int) -> int | None:
    """A gzip file's uncompressed size from its trailer (exact below 4 GiB), or None."""
    try:
        size = os.fstat(descriptor).st_size
        trailer = os.pread(descriptor, 4, size - 4) if size >= 18 else b""
    except OSError:
        return None
    return int.from_bytes(trailer, "little") if len(trailer) == 4 else None


def lines_gzip(descriptor: int, progress: Progress) -> Iterator[list[str]]:
    """The lines of a gzip copy, in blocks from its start (gzip cannot be read backwards)."""
    carry = b""
    with os.fdopen(os.dup(descriptor), "rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped:
        while True:
            try:
                chunk = unzipped.read(BLOCK_BYTES)
            except (OSError, EOFError, zlib.error):
                break  # damaged or still being written: what was read counts
            if not chunk:
                break
            progress.bytes_read += len(chunk)
            data = carry + chunk
            last = data.rfind(b"\n")
            if last < 0:
                carry = data[-MAX_CARRY_BYTES:]
                continue
            carry, data = data[last + 1 :], data[: last + 1]
            lines = data.decode("utf-8", "replace").split("\n")
            lines.pop()
            yield [line[:-1] if line.endswith("\r") else line for line in lines]
    if carry:
        yield [carry.decode("utf-8", "replace")]
    progress.reached_start = True


def _rotation_number(name: str) -> int:
    """access.log.2.gz → 2: among copies written in the same second, the lower number is newer."""
    digits = "".join(part for part in name.split(".") if part.isdigit())
    return int(digits) if digits else 0

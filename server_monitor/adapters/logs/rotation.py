"""copytruncate recovery: the lines logrotate copied away just before it truncated the log.

A follower that finds its file truncated (adapters.logs.follow) knows the bytes just
before its position (its fingerprint). The lines written after that and before the
truncation are in logrotate's copy beside the log (name.1, name-DATE, name.1.gz);
`recover` finds the copy by those bytes and returns what follows them. Rotated more
than once since the follower looked (numbered copies name.N), the newer copies follow
in full. Copies are opened only from the log's own folder, by a name that is the
log's plus a rotation suffix, and through adapters.logs.paths.open_log_file as the log
itself is: no link anywhere on the way, a regular file with one name.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import zlib

from server_monitor.adapters.logs.paths import LogUnavailable, open_log_file

MAX_RECOVERY_BYTES = 64 * 1024 * 1024
MAX_COPY_CANDIDATES = 6
UNREADABLE_COMPRESSION = (".bz2", ".xz", ".zst", ".lz4", ".lzma", ".Z", ".zip")
ROTATION_SEPARATORS = {".", "-", "_"}


def is_rotated_name(base: str, name: str) -> bool:
    """access.log.1, access.log-20261122, access.log.2.gz for base access.log."""
    return name.startswith(base) and name[len(base) : len(base) + 1] in ROTATION_SEPARATORS


def open_rotated_copy(path: str, name: str) -> int | None:
    """A descriptor of `name`, a rotated copy of the configured log `path` in its folder.

    Only the follower calls this, after it saw `path` truncated (copytruncate): the
    lines written just before the truncation are in the copy logrotate made. `name`
    comes from listing the log's own folder and must be the log's name plus a
    rotation suffix (access.log.1, access.log-20261122, access.log.1.gz), and it is
    opened as the log is (open_log_file): no link, a regular file with one name.
    None when it cannot be opened.
    """
    if "/" in name or "\x00" in name or not is_rotated_name(os.path.basename(path), name):
        return None
    try:
        return open_log_file(os.path.join(os.path.dirname(path), name))
    except LogUnavailable:
        return None


def recover(path: str, pos: int, fingerprint: bytes, ident: tuple[int, int], newer_copies: bool = True) -> bytes | None:
    """What was written to the file `ident` after byte `pos`, from the copies logrotate made.

    The copy holding `pos` is found by `fingerprint`, the bytes just before it. With
    `newer_copies`, numbered copies newer than it follow in full (rotations the
    follower never saw). None when no copy has it (yet).
    """
    if pos == 0:
        return b""
    directory, base = os.path.split(path)
    candidates: list[tuple[bool, float, str]] = []
    idents: dict[str, tuple[int, int]] = {}
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if not is_rotated_name(base, name):
                    continue
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or name.endswith(UNREADABLE_COMPRESSION):
                    continue
                idents[name] = (st.st_dev, st.st_ino)
                compressed = name.endswith(".gz")
                if idents[name] != ident and (compressed or st.st_size >= pos):
                    # Uncompressed copies first, then the most recently made ones.
                    candidates.append((compressed, -st.st_ctime, name))
    except OSError:
        return None
    for _, _, name in sorted(candidates)[:MAX_COPY_CANDIDATES]:
        data = read_copy(path, name, pos, fingerprint)
        if data is None:
            continue
        numbered = re.fullmatch(re.escape(base) + r"\.(\d+)(?:\.gz)?", name)
        for number in range(int(numbered.group(1)) - 1, 0, -1) if numbered and newer_copies else ():
            newer = next((n for n in (f"{base}.{number}", f"{base}.{number}.gz") if n in idents), None)
            if newer is None or idents[newer] == ident:
                break
            data += read_copy(path, newer, 0, b"") or b""
        return data
    return None


def read_copy(path: str, name: str, pos: int, fingerprint: bytes) -> bytes | None:
    """The bytes of copy `name` from `pos` on, if the bytes before `pos` are `fingerprint`."""
    fd = open_rotated_copy(path, name)
    if fd is None:
        return None
    start = pos - len(fingerprint)
    try:
        if name.endswith(".gz"):
            return _read_gzip_copy(fd, start, fingerprint)
        if os.pread(fd, len(fingerprint), start) != fingerprint:
            return None
        end = min(os.fstat(fd).st_size, pos + MAX_RECOVERY_BYTES)
        chunks, offset = [], pos
        while offset < end:
            chunk = os.pread(fd, min(end - offset, 1024 * 1024), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_gzip_copy(fd: int, start: int, fingerprint: bytes) -> bytes | None:
    """Like the plain copy, for logrotate's `compress` without `delaycompress`."""
    try:
        with os.fdopen(fd, "rb", closefd=False) as raw, gzip.GzipFile(fileobj=raw) as unzipped:
            remaining = start
            while remaining:
                skipped = unzipped.read(min(remaining, 1024 * 1024))
                if not skipped:
                    return None
                remaining -= len(skipped)
            if unzipped.read(len(fingerprint)) != fingerprint:
                return None
            return unzipped.read(MAX_RECOVERY_BYTES)
    except (OSError, EOFError, zlib.error):
        return None  # not gzip, or gzip still writing it: try again on the next poll

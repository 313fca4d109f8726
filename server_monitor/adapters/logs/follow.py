"""Follow one log file by name, like `tail -F`: the blocking half, run in a worker thread.

A FileFollower holds the open descriptors of one configured log and turns the bytes
appended to it into lines. It is used by one thread at a time (the shared reader in
server_monitor.workflows.logs.reader never has two calls in flight) and blocks on
nothing but the local file system. Files are opened only through adapters.logs.paths
(the log) and .rotation (logrotate's copies). It is one of the two followers of
adapters.lines.Follower (the other is the journal's).

Each poll:
- The path is lstat()ed. When it names another inode (logrotate's rename + create, or
  a delete and re-create) the new file is opened and read from its start, and the
  old descriptor stays open so the lines the writer puts there before it reopens
  its log are not lost. Ordering for a writer that moves from one file to the next:
  all sizes are taken first, then files are read oldest first, each only up to the
  size taken. A newer file that held data when the sizes were taken proves the
  writer had finished with the older one, so the older one is complete once read up
  to its size and is closed. An older file that stops growing for ORPHAN_GRACE
  seconds is closed too (the writer never moved; nothing new will come).
- copytruncate keeps the inode. It shows as a file smaller than our position, or as
  bytes just before our position that are no longer the ones we read (truncated and
  refilled between two polls; FINGERPRINT_BYTES are compared). The lines written
  after our last read and before the truncation are in logrotate's copy, so the
  copy is looked for beside the log (name.1, name-DATE, name.1.gz), recognised by
  the same bytes before our position, and read from our position on
  (adapters.logs.rotation). The file's new content is read at once all the same; while
  no copy has turned up (for at most RECOVERY_WAIT) its lines are held, so that the
  copy's lines, written before the truncation, still come first. A writer that
  truncates again meanwhile adds another pending recovery behind the first; each is
  released, in order, once its copy is found or its wait is over (then a warning says
  lines may be missing). So a log truncated many times a second loses nothing that
  stayed in it for a poll.
- A new file is opened only through adapters.logs.paths.open_log_file, on every
  reopen: a name swapped for a link (rotation is when an attacker would swap it) or
  for a hard link to another file is refused with the reason, and nothing is read
  from it.
- An unterminated last line is held until its newline arrives (bounded at
  MAX_LINE_BYTES); when a file is finished it is emitted as it is.
- `reason` says why the path cannot be read now (missing, refused by the opener), and
  is None once it can. A deleted log is said at once; a path that is missing while
  the file followed still has a name (renamed away: logrotate creates the new one a
  moment later) only after RENAME_GRACE, so a rotation is no outage.

When to poll is the caller's business; the FileFollower offers `wake_descriptor`, an
inotify descriptor (adapters.logs.watch) that turns readable when the log's
directory or one of the files it holds changes, and is None when only a timer can
tell (no inotify, or waiting for logrotate's copy, which has a deadline).
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field

from server_monitor.adapters.lines import MAX_LINE_BYTES, PollResult, decode_line
from server_monitor.adapters.logs import rotation
from server_monitor.adapters.logs.paths import LogUnavailable, open_log_file, permission_advice
from server_monitor.adapters.logs.tail import read_last_lines
from server_monitor.adapters.logs.watch import ChangeWatch

logger = logging.getLogger(__name__)

FINGERPRINT_BYTES = 256
READ_BUDGET = 4 * 1024 * 1024  # per poll, so a huge burst is delivered in steps
ORPHAN_GRACE = 5.0
MAX_ORPHANS = 4
RECOVERY_WAIT = 1.0
LOST_WARNING_EVERY = 60.0  # seconds: a log truncated often without a copy logs one warning a minute
RETRY_DENIED = 1.0  # an unreadable file is tried again at most once a second
RENAME_GRACE = 1.0  # seconds a renamed-away log may go without a new file before it is said to be missing


class LineSplitter:
    """Bytes in, complete lines out; an unterminated line is held (at most MAX_LINE_BYTES)."""

    def __init__(self, held: bytes = b"", cut: bool = False) -> None:
        self._held = bytearray()
        self._cut = cut
        self._append(held)

    def _append(self, piece: bytes) -> None:
        room = MAX_LINE_BYTES - len(self._held)
        if len(piece) > room:
            self._held += piece[: max(room, 0)]
            self._cut = True
        else:
            self._held += piece

    def feed(self, data: bytes) -> list[str]:
        parts = data.split(b"\n")
        rest = parts.pop()
        if not parts:
            self._append(rest)
            return []
        if self._held or self._cut:
            self._append(parts[0])
            lines = [decode_line(self._held, self._cut)]
            self._held, self._cut = bytearray(), False
            lines.extend(decode_line(part) for part in parts[1:])
        else:
            lines = [decode_line(part) for part in parts]
        self._append(rest)
        return lines

    def flush(self) -> list[str]:
        """The held line, for a file that is finished without a last newline."""
        if not self._held and not self._cut:
            return []
        line = decode_line(self._held, self._cut)
        self._held, self._cut = bytearray(), False
        return [line]


@dataclass(eq=False)
class _Recovery:
    """A truncation whose lost lines (after `pos`, in logrotate's copy) are not found yet."""

    pos: int
    fingerprint: bytes
    splitter: LineSplitter  # the truncated content's: the copy's bytes finish its last line
    since: float
    lines: list[str] | None = None  # the recovered lines, once found (or given up: none)
    after: list[str] = field(default_factory=list)  # read since the truncation, held to come after them


@dataclass(eq=False)
class _File:
    fd: int
    ident: tuple[int, int]
    pos: int = 0
    fingerprint: bytes = b""  # the last bytes before pos, as we read them
    splitter: LineSplitter = field(default_factory=LineSplitter)
    had_data: bool = False
    last_size: int = -1
    last_growth: float = 0.0
    recoveries: deque[_Recovery] = field(default_factory=deque)  # oldest first
    # After a truncation: a writer without O_APPEND goes on at its old offset and
    # leaves a hole of NUL bytes at the start, which is not a line of the log.
    skip_hole: bool = False
    watch: int | None = None  # its inotify watch, when the FileFollower has a ChangeWatch

    def advance(self, data: bytes) -> None:
        self.pos += len(data)
        if len(data) >= FINGERPRINT_BYTES:
            self.fingerprint = data[-FINGERPRINT_BYTES:]
        else:
            self.fingerprint = (self.fingerprint + data)[-FINGERPRINT_BYTES:]

    def fingerprint_holds(self) -> bool:
        if not self.fingerprint:
            return True
        return os.pread(self.fd, len(self.fingerprint), self.pos - len(self.fingerprint)) == self.fingerprint


class FileFollower:
    def __init__(self, path: str, watch: bool = False) -> None:
        """`watch`: offer a wake_descriptor (inotify), for a caller that waits on it."""
        self.path = path
        self.reason: str | None = None
        self._files: list[_File] = []  # oldest first; the last one is what the path named last
        self._denied_until = 0.0
        self._missing_since: float | None = None  # when the path was first seen missing, lately
        self._wants_watch = watch
        self._watch: ChangeWatch | None = None
        self._lost_warned_at = -LOST_WARNING_EVERY
        self._lost_unwarned = 0

    @property
    def open_descriptors(self) -> list[int]:
        """The log files held open (the inotify descriptor is wake_descriptor)."""
        return [f.fd for f in self._files]

    @property
    def wake_descriptor(self) -> int | None:
        """Readable once something may have changed since the last poll; None: use a timer."""
        if self._watch is None or any(f.recoveries for f in self._files):
            return None
        return self._watch.descriptor

    def start(self, count: int) -> list[str]:
        """Open the log, return its last `count` complete lines, and follow from its end."""
        if self._wants_watch and self._watch is None:
            self._watch = ChangeWatch.open(self.path)  # before the open: no change falls between
        now = time.monotonic()
        opened = self._open_if_renamed(now)
        if opened is None:
            return []
        size = os.fstat(opened.fd).st_size
        lines, partial, head_lost = read_last_lines(opened.fd, size, count)
        opened.pos = opened.last_size = size
        opened.fingerprint = os.pread(opened.fd, min(size, FINGERPRINT_BYTES), size - min(size, FINGERPRINT_BYTES))
        opened.splitter = LineSplitter(partial, cut=head_lost)
        opened.had_data = size > 0
        return lines

    def close(self) -> None:
        for f in self._files:
            os.close(f.fd)
        self._files.clear()
        if self._watch is not None:
            self._watch.close()  # its file watches go with it
            self._watch = None

    def poll(self) -> PollResult:
        if self._watch is not None:
            self._watch.drain()  # before looking: a change from now on wakes the next poll
        now = time.monotonic()
        self._open_if_renamed(now)
        files = self._files
        stats = [os.fstat(f.fd) for f in files]  # every size first: see the module docstring
        lines: list[str] = []
        # Where a file's lines go: behind the lines an older file still waits to recover.
        sink = lines
        budget = READ_BUDGET
        more = False
        finished: list[_File] = []
        for index, f in enumerate(files):
            size = stats[index].st_size
            if size != f.last_size:
                f.last_size, f.last_growth = size, now
            # The bytes before our position are compared even when the size did not
            # change: a file truncated and refilled to the very same size is not rare
            # when every line has the same length.
            if size < f.pos or not f.fingerprint_holds():
                self._truncated(f, now)
            if size > f.pos:
                data = os.pread(f.fd, min(size - f.pos, budget), f.pos)
                if not f.fingerprint_holds():
                    # Truncated and refilled since the sizes were taken: `data` is not
                    # what follows our position. The copy has it; read the new content next.
                    self._truncated(f, now)
                    more = True
                    break
                f.advance(data)
                f.had_data = f.had_data or bool(data)
                budget -= len(data)
                if f.skip_hole:
                    data = data.lstrip(b"\0")
                    f.skip_hole = not data
                (f.recoveries[-1].after if f.recoveries else sink).extend(f.splitter.feed(data))
                if f.pos < size:
                    more = True
                    self._release(f, now, sink)
                    break
            self._release(f, now, sink)
            if f.recoveries:
                sink = f.recoveries[-1].after  # nothing newer may go before what it waits for
            elif self._finished(index, stats, now):
                sink.extend(f.splitter.flush())
                finished.append(f)
        for f in finished:
            self._forget(f)
            files.remove(f)
        return PollResult(lines, more, self.reason)

    def _finished(self, index: int, stats: list[os.stat_result], now: float) -> bool:
        """Whether file `index`, read up to the size taken this poll, will get nothing more."""
        f = self._files[index]
        quiet = now - f.last_growth > ORPHAN_GRACE
        if index == len(self._files) - 1:
            return stats[index].st_nlink == 0 and quiet  # deleted, and its writer has gone
        newer = zip(self._files[index + 1 :], stats[index + 1 :], strict=True)
        writer_moved_on = any(g.had_data or st.st_size > 0 for g, st in newer)
        return writer_moved_on or quiet or (index == 0 and len(self._files) > MAX_ORPHANS + 1)

    def _open_if_renamed(self, now: float) -> _File | None:
        """Open what the path names when it is not the file we follow already."""
        try:
            st = os.lstat(self.path)  # a link is what the path names now: it is not looked through
        except FileNotFoundError:
            if not self._renamed_away(now):
                self.reason = f"{self.path} does not exist."
            return None
        except OSError:
            self.reason = permission_advice(self.path)
            return None
        self._missing_since = None
        if any(f.ident == (st.st_dev, st.st_ino) for f in self._files) or now < self._denied_until:
            return None
        try:
            fd = open_log_file(self.path)
        except LogUnavailable as error:
            self.reason = error.detail
            self._denied_until = now + RETRY_DENIED
            return None
        opened = os.fstat(fd)
        ident = (opened.st_dev, opened.st_ino)
        if any(f.ident == ident for f in self._files):  # renamed back and forth meanwhile
            os.close(fd)
            return None
        self.reason = None
        f = _File(fd, ident, last_growth=now)
        if self._watch is not None:
            f.watch = self._watch.watch_file(fd)
        self._files.append(f)
        return f

    def _renamed_away(self, now: float) -> bool:
        """The path is missing, but the file last followed still has a name and went
        missing less than RENAME_GRACE ago: a rotation under way, not an outage."""
        if self._missing_since is None:
            self._missing_since = now
        if not self._files or now - self._missing_since >= RENAME_GRACE:
            return False
        return os.fstat(self._files[-1].fd).st_nlink > 0

    def _forget(self, f: _File) -> None:
        if self._watch is not None:
            self._watch.forget(f.watch)
        os.close(f.fd)

    def _truncated(self, f: _File, now: float) -> None:
        """`f` was truncated: look for its copy from now on, read its new content from its start."""
        f.recoveries.append(_Recovery(f.pos, f.fingerprint, f.splitter, now))
        f.splitter, f.pos, f.fingerprint, f.last_size, f.skip_hole = LineSplitter(), 0, b"", -1, True

    def _release(self, f: _File, now: float, sink: list[str]) -> None:
        """Look for the copies `f`'s truncations wait for; move the lines of the oldest
        ones that are done (found, or waited for RECOVERY_WAIT) to `sink`, in order."""
        for index, recovery in enumerate(f.recoveries):
            if recovery.lines is not None:
                continue
            # Copies made later than the next truncation hold lines read since: only the
            # newest truncation may take the newer numbered copies too.
            newest = index == len(f.recoveries) - 1
            data = rotation.recover(self.path, recovery.pos, recovery.fingerprint, f.ident, newer_copies=newest)
            if data is None and now - recovery.since >= RECOVERY_WAIT:
                self._warn_lost(now)
                data = b""
            if data is not None:
                recovery.lines = recovery.splitter.feed(data) + recovery.splitter.flush()
        while f.recoveries and f.recoveries[0].lines is not None:
            done = f.recoveries.popleft()
            sink += done.lines or []
            sink += done.after

    def _warn_lost(self, now: float) -> None:
        if now - self._lost_warned_at < LOST_WARNING_EVERY:
            self._lost_unwarned += 1
            return
        since = f" ({self._lost_unwarned} more times since the last warning)" if self._lost_unwarned else ""
        logger.warning(
            "%s was truncated and no rotated copy of it was found: lines written just before may be missing%s",
            self.path,
            since,
        )
        self._lost_warned_at, self._lost_unwarned = now, 0

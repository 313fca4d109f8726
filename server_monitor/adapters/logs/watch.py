"""Wake a log's reader when the kernel says its file may have changed (inotify).

A ChangeWatch belongs to one FileFollower (adapters.logs.follow) and is used from the
same worker thread, except for its descriptor, which the shared reader
(workflows.logs.reader) waits on (readable = something happened; the event loop never
reads it). It watches:

- the log's directory, for the name events that announce rotation: a file created,
  moved in or out, deleted, or its attributes changed (a chmod that makes it readable);
- every file the FileFollower holds open, by inode (through /proc/self/fd, so a file
  renamed or deleted while open is still watched), for writes and truncation
  (both are IN_MODIFY).

The watch only says when to look; what changed is always found by the FileFollower's
own stat and read, so a lost or coalesced event can delay a line but never drop or
duplicate one. The shared reader keeps a slow timer as a safety net for that, and polls
on a short one where there is no watch: inotify unavailable (a network or FUSE file
system gives no events for remote writes: WPDASH_LOG_WATCH=poll), the directory
missing, or the instance limit reached.
"""

from __future__ import annotations

import logging
import os

from inotify_simple import INotify, flags

logger = logging.getLogger(__name__)

DIRECTORY_EVENTS = flags.CREATE | flags.MOVED_TO | flags.MOVED_FROM | flags.DELETE | flags.ATTRIB | flags.ONLYDIR
FILE_EVENTS = flags.MODIFY | flags.ATTRIB | flags.DELETE_SELF | flags.MOVE_SELF


class ChangeWatch:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._inotify: INotify | None = INotify(nonblocking=True)  # OSError: no inotify here
        self._directory_watch: int | None = None
        self._watch_directory()

    @classmethod
    def open(cls, path: str) -> ChangeWatch | None:
        """A watch for the log at `path`, or None where inotify cannot be had (logged once)."""
        try:
            return cls(os.path.dirname(os.path.abspath(path)))
        except OSError as error:
            logger.warning("cannot watch %s for changes (%s); polling it instead", path, error.strerror or error)
            return None

    @property
    def descriptor(self) -> int | None:
        """Readable when the log may have changed; None while the directory is not
        watched (it does not exist yet), when only a timer can tell."""
        if self._inotify is None or self._directory_watch is None:
            return None
        return int(self._inotify.fileno())

    def drain(self) -> None:
        """Forget the events so far: the caller is about to look at the files anyway.

        A directory that was deleted (or replaced) is watched again when it is back.
        """
        if self._inotify is None:
            return
        for event in self._inotify.read(timeout=0):
            if event.wd == self._directory_watch and event.mask & (flags.IGNORED | flags.DELETE_SELF):
                self._directory_watch = None
        if self._directory_watch is None:
            self._watch_directory()

    def watch_file(self, fd: int) -> int | None:
        """Watch the open file `fd` by inode; returns the watch to pass to forget()."""
        if self._inotify is None:
            return None
        try:
            return int(self._inotify.add_watch(f"/proc/self/fd/{fd}", FILE_EVENTS))
        except OSError as error:  # no /proc, or the watch limit reached: the timer still works
            logger.debug("cannot watch descriptor %d: %s", fd, error)
            return None

    def forget(self, watch: int | None) -> None:
        if self._inotify is None or watch is None:
            return
        try:
            self._inotify.rm_watch(watch)
        except OSError:
            pass  # the inode is gone and the kernel dropped the watch already

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def _watch_directory(self) -> None:
        assert self._inotify is not None
        try:
            self._directory_watch = self._inotify.add_watch(self.directory, DIRECTORY_EVENTS)
        except OSError:
            self._directory_watch = None  # missing, or not ours to read: polled until it is

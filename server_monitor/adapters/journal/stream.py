"""`journalctl --follow` of one unit: one long-lived child, read without blocking.

systemd 252 (Debian 12): `--follow` after a cursor prints 10 entries (`--lines`'
default) and the rest only after the next write, so a stream asks for `--lines=all`;
`--after-cursor` skips one entry too many when the cursor's entry was vacuumed, so a
stream starts at `--cursor` and drops that entry itself.
"""

from __future__ import annotations

import subprocess
import threading
import time

from server_monitor.adapters import process
from server_monitor.adapters.journal.entries import (
    Entry,
    JournalEnded,
    JournalUnavailable,
    base_argv,
    check_cursor,
    check_unit,
    decode,
    failure,
    start_error,
)

# A JSON line longer than this is dropped (and counted); one read takes at most this.
MAX_ENTRY_BYTES = READ_BUDGET = 1024 * 1024
STDERR_KEPT = 4096  # the last bytes of what journalctl said, for the reason it ended
END_GRACE = 2.0  # seconds journalctl has to exit once it closed its output


class JournalStream:
    """`journalctl --follow` of one unit: every entry once, in order, across restarts of the child.

    With `after_cursor` (JournalTail.cursor: a join without gap) it delivers the entries
    after that one, without those written once journalctl is up; `cursor` is the last entry
    delivered, so restart() resumes exactly there. Every method blocks: an event loop calls
    them from worker threads, one read_available() at a time: start(); read_available(0) when
    `descriptor` is readable (output, or the child's end); on a JournalUnavailable (its detail
    says why) wait, then restart(); stop() may come from another thread during a read.
    """

    def __init__(self, unit: str, after_cursor: str | None = None) -> None:
        self.unit = check_unit(unit)
        self.cursor = None if after_cursor is None else check_cursor(after_cursor)  # the last entry delivered
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._output: process.ChildOutput | None = None
        self._held: bytearray | None = bytearray()  # a JSON line's start; None inside one too long
        self._skip: str | None = None  # the start cursor, whose entry was delivered before
        self._stderr = b""
        self._ended: JournalUnavailable | None = None
        self._stopping = False
        self.dropped = 0  # JSON lines left out: longer than MAX_ENTRY_BYTES, or not an entry

    @property
    def pid(self) -> int | None:  # the running journalctl's, which is also its process group's
        return self._process.pid if self._process is not None else None

    @property
    def descriptor(self) -> int | None:  # its output, for an event loop to wait on
        return self._output.descriptor if self._output is not None else None

    def start(self) -> None:
        """Start journalctl after the cursor (no-op while it runs); JournalNotInstalled if it cannot."""
        with self._lock:
            if self._process is not None:
                return
            position = [f"--cursor={self.cursor}", "--lines=all"] if self.cursor else ["--lines=0"]
            try:
                child = process.start([*base_argv(self.unit), "--follow", *position])
            except OSError as error:
                raise start_error(error) from None
            self._process, self._output = child, process.ChildOutput(child)
            self._skip, self._held, self._stderr = self.cursor, bytearray(), b""
            self._ended, self._stopping = None, False

    def read_available(self, timeout: float) -> list[Entry]:
        """The entries printed since the last call, oldest first, waiting up to `timeout`
        seconds (0: not at all) for the first; [] when none came, or once stopped. When the
        child has ended, and what it printed was delivered, every call raises a
        JournalUnavailable with its reason until restart()."""
        with self._lock:
            if self._ended is not None:
                raise self._ended
            output = self._output
            entries: list[Entry] = []
            deadline, taken = time.monotonic() + timeout, 0
            while output is not None and taken < READ_BUDGET:
                chunks = output.read(0 if entries else max(0.0, deadline - time.monotonic()))
                if not chunks:
                    break
                for stream, chunk in chunks:
                    taken += len(chunk)
                    if stream == "err":
                        self._stderr = (self._stderr + chunk)[-STDERR_KEPT:]
                    elif chunk:
                        entries += self._feed(chunk)
                    else:  # journalctl ended
                        self._finish()
                        output = None
                        break
            return entries

    def restart(self) -> None:
        """Stop the child if it still runs; start a new one after the last entry delivered."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Kill journalctl's process group and reap it; safe twice, or from another thread."""
        self._stopping = True
        child = self._process
        if child is not None and child.returncode is None:
            process.kill_group(child.pid)  # first, without the lock: a read in flight ends now
        with self._lock:
            if self._process is not None and self._process.returncode is None:
                process.kill(self._process)
            self._close()
            self._ended = None

    def _feed(self, chunk: bytes) -> list[Entry]:
        entries: list[Entry] = []
        *lines, rest = chunk.split(b"\n")
        for piece in lines:
            line, self._held = (None if self._held is None else bytes(self._held) + piece), bytearray()
            entry = None if line is None else decode(line)
            if entry is None:
                self.dropped += 1
                continue
            skip, self._skip = self._skip, None
            if entry.cursor != skip:  # not the entry the stream started at
                self.cursor = entry.cursor
                entries += [entry] if entry.message is not None else []
        if self._held is not None:
            self._held += rest
            if len(self._held) > MAX_ENTRY_BYTES:
                self._held = None  # dropped when its newline comes
        return entries

    def _finish(self) -> None:
        """The child closed its output: reap it and keep its reason, unless it was stopped."""
        child, output = self._process, self._output
        assert child is not None and output is not None
        process.end(child, END_GRACE)
        for stream, chunk in output.read(0):  # what it said just before it ended
            if stream == "err":
                self._stderr = (self._stderr + chunk)[-STDERR_KEPT:]
        self._close()
        if not self._stopping:
            code, words = child.returncode, self._stderr.decode("utf-8", "replace")
            reason = failure(code, words)
            if type(reason) is JournalUnavailable:  # not one it can name: say how it ended
                how = f"was killed by signal {-code}" if code < 0 else f"ended with exit code {code}"
                said = " ".join(words.split())[:500]
                reason = JournalEnded(f"journalctl --follow of {self.unit} {how}{': ' + said if said else '.'}")
            self._ended = reason

    def _close(self) -> None:
        output = self._output
        self._process, self._output = None, None
        if output is not None:
            output.close()

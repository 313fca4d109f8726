"""Child processes: list arguments, a deadline, bounded output and a minimal environment.

Every program wpdash starts (systemctl, sudo, journalctl) goes through `run`, or
`start` for a child that outlives one call (journalctl --follow), so the rules hold
everywhere: never a shell, never past its deadline (its whole process
group is killed), never more than `limit` bytes kept per stream, and never the
server's own environment, which holds secrets. Both read a child's two pipes the same
way (`ChildOutput`: without blocking, through one selector) and end it the same way
(`kill_group`, `kill`, `end`). Also here: which user this process runs as, in words
(`user_name`), the user its children run as too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

OUTPUT_LIMIT = 64 * 1024  # bytes kept from any one stream; the rest is read and dropped
CHUNK_BYTES = 65536  # one read from a pipe

logger = logging.getLogger("server_monitor.process")


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None  # None when it was killed at its timeout or could not start
    stdout: str
    stderr: str
    timed_out: bool = False


def child_environment() -> dict[str, str]:
    """Only what a child needs: the server's environment holds secrets
    (DJANGO_SECRET_KEY, DATABASE_URL) that no child process should see."""
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LC_ALL": "C.UTF-8",
        "SYSTEMD_COLORS": "0",
        "SYSTEMD_PAGER": "",
    }


MAX_INPUT = 60 * 1024  # bytes a child may be given on stdin: less than a pipe holds, so the write never waits


def run(
    argv: Sequence[str],
    timeout: float,
    limit: int = OUTPUT_LIMIT,
    on_start: Callable[[int], None] | None = None,
    input: bytes | None = None,
) -> RunResult:
    """Run argv (a list, no shell) with a deadline, keeping at most `limit` bytes per stream.

    The output is drained to the end even past the limit so the child never blocks
    on a full pipe. At the deadline the child's whole process group is killed.
    Raises OSError when the program cannot be started.

    input: bytes written to the child's stdin, which is then closed (at most MAX_INPUT:
    what must not be on a command line, where other users can read it, such as a secret).

    on_start(pid) is called once the child runs, before it is waited for (the restart
    writes the child's identity into its audit row). Its failure is logged and
    changes nothing: the child is watched and reaped as always. The deadline counts
    from when it returns, so slow bookkeeping never cuts a restart short.
    """
    if input is not None and len(input) > MAX_INPUT:
        raise ValueError(f"at most {MAX_INPUT} bytes of input")
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group, so a timeout kills its children too
        env=child_environment(),
    )
    assert process.stdout is not None and process.stderr is not None
    if process.stdin is not None:
        with contextlib.suppress(BrokenPipeError):  # a child that exits at once reads nothing
            process.stdin.write(input or b"")
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    if on_start is not None:
        try:
            on_start(process.pid)
        except Exception:
            logger.exception("on_start for %s (pid %s) failed; the child runs on", argv[0], process.pid)
    kept = {"out": bytearray(), "err": bytearray()}
    deadline = time.monotonic() + timeout
    timed_out = False
    with ChildOutput(process) as output:
        while output.open:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for stream, chunk in output.read(remaining):
                buffer = kept[stream]
                buffer += chunk[: max(0, limit - len(buffer))]
    if timed_out:
        kill(process)
    else:
        timed_out = not end(process, max(0.0, deadline - time.monotonic()))  # closed its output, ran on
    return RunResult(
        exit_code=None if timed_out else process.returncode,
        stdout=kept["out"].decode("utf-8", "replace"),
        stderr=kept["err"].decode("utf-8", "replace"),
        timed_out=timed_out,
    )


Stream = Literal["out", "err"]


class ChildOutput:
    """A child's stdout and stderr, read without blocking through one selector.

    `read(timeout)` waits at most `timeout` seconds (0: not at all) for either pipe and
    reads one chunk from each that is ready; an empty chunk says that stream ended (it
    is no longer watched). `close()` (or leaving the `with`) closes the selector and both
    pipes. Used by `run` until the deadline, and by a long-lived child's reader
    (adapters.journal.stream) one call at a time.
    """

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None and child.stderr is not None  # start and run make both pipes
        self._child = child
        self._selector = selectors.DefaultSelector()
        self._selector.register(child.stdout, selectors.EVENT_READ, "out")
        self._selector.register(child.stderr, selectors.EVENT_READ, "err")

    @property
    def open(self) -> bool:
        """Whether a stream is still watched (has not ended)."""
        return bool(self._selector.get_map())

    @property
    def descriptor(self) -> int:
        """stdout's, for an event loop to wait on: readable when the child printed or ended."""
        assert self._child.stdout is not None
        return self._child.stdout.fileno()

    def read(self, timeout: float) -> list[tuple[Stream, bytes]]:
        """The chunks that are there within `timeout`, by stream; [] when none came."""
        if not self.open:
            return []
        chunks: list[tuple[Stream, bytes]] = []
        for key, _events in self._selector.select(timeout):
            chunk = os.read(key.fd, CHUNK_BYTES)
            if not chunk:
                self._selector.unregister(key.fileobj)
            chunks.append((key.data, chunk))
        return chunks

    def close(self) -> None:
        self._selector.close()
        assert self._child.stdout is not None and self._child.stderr is not None
        self._child.stdout.close()
        self._child.stderr.close()

    def __enter__(self) -> ChildOutput:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def kill_group(pid: int) -> None:
    """SIGKILL to the process group of a child started here (its pid is the group's id).

    Best effort: under sudo the children run as root and may not be ours to kill, and a
    group whose processes have all gone is no error. Reaping is the caller's (`kill`)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill a child started by this module and its process group, and reap it."""
    kill_group(process.pid)
    with contextlib.suppress(ProcessLookupError):
        process.kill()  # the direct child is always ours to kill
    process.wait()


def end(process: subprocess.Popen[bytes], grace: float) -> bool:
    """Wait up to `grace` seconds for the child to exit; past that kill it (`kill`).
    True when it exited by itself."""
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        kill(process)
        return False
    return True


def user_name(uid: int | None = None) -> str:
    """The name of user `uid` (None: the user this process and its children run as), or
    the number when no name is known (a container without that passwd entry)."""
    uid = os.geteuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def start(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a long-running child (a follower) under the same rules as `run`.

    A list of arguments and never a shell, the minimal environment, stdin closed,
    and a process group of its own so that `kill` ends it with its children. The
    caller reads stdout and stderr (both pipes) within its own bounds and ends the
    child with `kill`. Raises OSError when the program cannot be started.
    """
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=child_environment(),
    )

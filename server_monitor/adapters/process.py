"""Child processes: list arguments, a deadline, bounded output and a minimal environment.

Every program wpdash starts (systemctl, sudo, journalctl) goes through `run`, or
`start` for a follower that outlives one call (journalctl --follow), so the rules hold
everywhere: never a shell, never past its deadline (its whole process
group is killed), never more than `limit` bytes kept per stream, and never the
server's own environment, which holds secrets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

OUTPUT_LIMIT = 64 * 1024  # bytes kept from any one stream; the rest is read and dropped

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
    out, err = bytearray(), bytearray()
    kept = {process.stdout.fileno(): out, process.stderr.fileno(): err}
    deadline = time.monotonic() + timeout
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for stream in (process.stdout, process.stderr):
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map() and not timed_out:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _events in selector.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = kept[key.fd]
                buffer += chunk[: max(0, limit - len(buffer))]
    if not timed_out:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True  # closed its output but kept running
    if timed_out:
        kill(process)
    process.stdout.close()
    process.stderr.close()
    return RunResult(
        exit_code=None if timed_out else process.returncode,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        timed_out=timed_out,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill a child started by this module and its process group, and reap it."""
    # Under sudo the children run as root and may not be ours to kill; the group
    # kill is best effort, the direct child is always reaped.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait()


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

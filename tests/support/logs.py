"""Helpers for the log tests: nginx-format lines, a writer that behaves like nginx,
the real logrotate, a WebSocket client through the real ASGI stack, and a child
process running as `nobody` (we are root, and root reads everything)."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import pwd
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from wpdash.asgi import websocket_application

LOGROTATE = "/usr/sbin/logrotate"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def nginx_line(number: int) -> str:
    """A combined-format line as nginx writes it (\\x22 escapes, percent-encoded UTF-8)."""
    return (
        f'203.0.113.{number % 250} - - [22/Nov/2026:03:06:31 +0000] "GET /?q=%C3%A9t%C3%A9&n={number} HTTP/1.1" '
        f'200 615 "-" "Mozilla/5.0 (compatible; bot) \\x22quoted\\x22"'
    )


class NginxLikeWriter:
    """Appends whole lines with O_APPEND through a descriptor it keeps, as nginx does.

    After a rename rotation it goes on writing to the renamed file until reopen()
    (nginx does so until its USR1); after copytruncate its descriptor simply follows
    the truncated file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, *lines: str) -> None:
        os.write(self.fd, "".join(f"{line}\n" for line in lines).encode())

    def write_raw(self, data: bytes) -> None:
        os.write(self.fd, data)

    def reopen(self) -> None:
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def close(self) -> None:
        os.close(self.fd)


def logrotate(log: Path, mode: str, extra: str = "") -> None:
    """Rotate `log` now with the real logrotate: mode is "create" or "copytruncate"."""
    assert mode in {"create", "copytruncate"}
    config = log.parent / f"logrotate-{mode}.conf"
    config.write_text(f"{log} {{\n    rotate 5\n    missingok\n    {mode}\n    {extra}\n}}\n")
    config.chmod(0o644)
    subprocess.run(
        [LOGROTATE, "--force", "--state", str(log.parent / "logrotate.state"), str(config)],
        check=True,
        capture_output=True,
        timeout=30,
    )


@database_sync_to_async
def session_cookie(username: str = "viewer") -> bytes:
    user = get_user_model().objects.create_user(username)  # no password: no slow hashing
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(log_type: str, cookie: bytes) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        websocket_application, f"/api/v1/server/logs/{log_type}/ws", headers=[*ORIGIN, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive_lines(
    communicator: WebsocketCommunicator, count: int, timeout: float = 20, changes: list[dict] | None = None
) -> list[str]:
    """New lines until `count` arrived; fails on anything but {"lines": [...]} and the
    availability messages (a log deleted and created again, or renamed and not yet back,
    says so between its lines), which go into `changes` when it is given."""
    lines: list[str] = []
    while len(lines) < count:
        try:
            message = await communicator.receive_json_from(timeout=timeout)
        except TimeoutError:
            numbers = [int(match.group(1)) for line in lines if (match := re.search(r"&n=(\d+) ", line))]
            gaps = [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]
            raise AssertionError(f"{len(lines)} of {count} lines arrived; gaps in nginx lines: {gaps}") from None
        if is_availability(message):
            if changes is not None:
                changes.append(message)
            continue
        assert set(message) == {"lines"}, message
        lines.extend(message["lines"])
    return lines


def is_availability(message: dict) -> bool:
    """{"available": false, "reason": "…"} or {"available": true}, exactly."""
    if message.get("available") is False:
        return set(message) == {"available", "reason"} and isinstance(message["reason"], str)
    return message == {"available": True}


def open_fds_to(path: Path) -> list[str]:
    """This process's descriptors that point at `path` or a rotated sibling of it."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


def run_as_nobody(function: Callable[[], Any]) -> Any:
    """Run `function` in a forked child with the uid and gid of `nobody`, return its result.

    The child opens files for real, so the kernel's permission checks are the ones
    under test. It does no database work (a forked child must not share the
    parent's database connection).
    """
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        status = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(nobody.pw_gid, nobody.pw_gid, nobody.pw_gid)
            os.setresuid(nobody.pw_uid, nobody.pw_uid, nobody.pw_uid)
            payload = pickle.dumps(("ok", function()))
        except BaseException as error:  # report anything to the parent
            payload = pickle.dumps(("error", repr(error)))
            status = 1
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    outcome, value = pickle.loads(payload)  # noqa: S301 - our own child's bytes
    assert outcome == "ok", value
    return value


def as_json(response: Any) -> Any:
    return json.loads(response.content)


# Real nginx combined-format lines (with its \x22 escapes), copied from shared/fixtures.
NGINX_ACCESS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "logs" / "nginx-access.log"

"""A client that stops reading costs daphne a bounded amount: it is skipped ahead, or closed.

Against a real daphne: the stalled client is a plain socket with a small receive buffer
that completes the handshake and then reads nothing (tests/support/raw_websocket.py),
while thousands of lines are written at a time.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from websockets.sync.client import connect

from tests.support.logs import NginxLikeWriter, nginx_line
from tests.support.raw_websocket import RawWebSocket
from tests.support.servers import LiveServer, live_server, wait_until
from tests.support.users import PASSWORD
from wpdash.ws_backpressure import STALLED_CLOSE_CODE

LINES = 60_000  # about 10 MB: far more than the socket buffers, the transport's 64 KiB and the 10,000-line backlog
CHUNK = 1000
NUMBER = re.compile(r"&n=(\d+) ")


@contextlib.contextmanager
def serving(tmp_path_factory, stall_seconds: int) -> Iterator[tuple[LiveServer, Path]]:
    tmp_path = tmp_path_factory.mktemp("stalled")
    log = tmp_path / "access.log"
    log.write_text("".join(f"{nginx_line(n)}\n" for n in range(50)))
    settings = {"WPDASH_LOGS": f"nginx-access={log}", "WPDASH_WS_STALL_SECONDS": str(stall_seconds)}
    with live_server(tmp_path, **settings) as server:
        server.create_user("viewer", PASSWORD)
        yield server, log


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory):
    """A stall bound longer than any of this file's tests: nobody is closed for stalling.
    (daphne's own pings, unanswered, would end a silent client about 50 s after it connected.)"""
    with serving(tmp_path_factory, 120) as served:
        yield served


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """A stall bound of 3 s: a client that reads nothing for 3 s is closed."""
    with serving(tmp_path_factory, 3) as served:
        yield served


def subprotocols(server: LiveServer) -> tuple[str, str]:
    response = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
    )
    return ("wpdash", f"bearer.{response.json()['access']}")


def tail_url(server: LiveServer) -> str:
    return f"{server.ws_url}/api/v1/server/logs/nginx-access/ws"


def numbers(lines: list[str]) -> list[int]:
    return [int(match.group(1)) for line in lines if (match := NUMBER.search(line))]


def write_lines(log: Path, first: int, count: int) -> None:
    writer = NginxLikeWriter(log)
    for start in range(first, first + count, 1000):
        writer.write(*(nginx_line(n) for n in range(start, min(start + 1000, first + count))))
    writer.close()


def test_a_stalled_client_is_skipped_ahead_and_a_reading_one_beside_it_loses_nothing(patient_server):
    server, log = patient_server
    protocols = subprotocols(server)
    stalled = RawWebSocket(tail_url(server), protocols, receive_buffer=4096)
    assert stalled.receive() is not None  # its first lines; from now on it reads nothing
    received: list[int] = []
    skipped_by_reader = 0

    with connect(tail_url(server), subprotocols=protocols, max_size=None) as reader:
        reader.recv(timeout=10)
        writer = NginxLikeWriter(log)
        # In lockstep with the reader, so only the stalled client can fall behind.
        for start in range(50, 50 + LINES, CHUNK):
            writer.write(*(nginx_line(n) for n in range(start, start + CHUNK)))
            while not received or received[-1] != start + CHUNK - 1:
                message = json.loads(reader.recv(timeout=30))
                skipped_by_reader += message.get("skipped", 0)
                received += numbers(message.get("lines", []))
        writer.close()

    assert received == list(range(50, 50 + LINES))
    assert skipped_by_reader == 0
    # Every line the stalled client missed is announced: lines + skipped = lines written.
    lines, skipped = read_everything(stalled, last=50 + LINES - 1)
    assert skipped > 0
    assert len(lines) + skipped == LINES
    assert lines == sorted(set(lines))  # in order, none twice
    stalled.close()


def read_everything(client: RawWebSocket, last: int) -> tuple[list[int], int]:
    lines: list[int] = []
    skipped = 0
    while not lines or lines[-1] != last:
        message = client.receive(timeout=30)
        assert message is not None, f"closed with {client.close_code} after {len(lines)} lines"
        skipped += message.get("skipped", 0)
        lines += numbers(message.get("lines", []))
    return lines, skipped


def test_a_client_that_stays_stalled_is_closed_with_4008_and_then_cut_off(strict_server):
    server, log = strict_server
    protocols = subprotocols(server)
    late_reader = RawWebSocket(tail_url(server), protocols, receive_buffer=4096)
    never_reader = RawWebSocket(tail_url(server), protocols, receive_buffer=4096)
    written = 50

    def closed_for_stalling() -> bool:
        nonlocal written
        write_lines(log, written, 5000)  # keeps both stalled: they read nothing
        written += 5000
        return f"closing with {STALLED_CLOSE_CODE} the WebSocket of 127.0.0.1:{late_reader.local_port} " in server.log()

    wait_until(closed_for_stalling, timeout=60, interval=0.2, message="daphne to close the stalled socket")

    # The close frame waits behind what was unsent; a client that reads now gets to it.
    while late_reader.receive(timeout=30) is not None:
        pass
    assert late_reader.close_code == STALLED_CLOSE_CODE

    # One that never reads is cut off: daphne holds its connection, and buffers, no more.
    daphne = psutil.Process(server.process.pid)
    wait_until(
        lambda: never_reader.local_port not in {c.raddr.port for c in daphne.net_connections("tcp") if c.raddr},
        timeout=30,
        message="daphne to drop the connection of the client that never read",
    )
    late_reader.close()
    never_reader.close()

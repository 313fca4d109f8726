"""Tiny real servers on loopback that stand in for a Netdata we cannot make misbehave:
one replaying recorded Netdata answers, one answering junk, one that never answers."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "netdata"

# (status, content type, body) for one request, given its path and query.
Answer = tuple[int, str, bytes]
Responder = Callable[[str, dict[str, str]], Answer]


def recorded(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def recorded_netdata(path: str, query: dict[str, str]) -> Answer:
    """Netdata 1.37 as captured on a VM that has no chart for "/" (see fixtures/)."""
    chart = query.get("chart", "")
    if path == "/api/v1/data" and chart in {"system.cpu", "system.ram", "system.io", "system.net"}:
        return 200, "application/json", recorded(f"v1-data-{chart}-5m-60pts.json")
    return 404, "text/plain", recorded("v1-data-disk_space._-missing-in-vm.txt")


def recorded_netdata_with_root_disk(path: str, query: dict[str, str]) -> Answer:
    """As recorded_netdata, with the recorded /var/log chart standing in for "/"."""
    if path == "/api/v1/data" and query.get("chart") == "disk_space._":
        return 200, "application/json", recorded("v1-data-disk_space._var_log-5m-60pts.json")
    return recorded_netdata(path, query)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops connections when a test opens more at
    # once (the five chart fetches plus stragglers): the client then sees a timeout.
    request_queue_size = 128


@contextlib.contextmanager
def http_server(responder: Responder, before_answer: Callable[[], None] | None = None) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            if before_answer is not None:
                before_answer()
            status, content_type, body = responder(parts.path, query)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def silent_server(first_words: bytes = b"") -> Iterator[str]:
    """Accepts connections, sends `first_words` (by default nothing) and then hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                connection = listener.accept()[0]
                accepted.append(connection)
                if first_words:
                    connection.recv(65536)  # the request
                    connection.sendall(first_words)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def late(seconds: float) -> Callable[[], None]:
    """A before_answer hook: answer only after `seconds`."""
    return lambda: time.sleep(seconds)

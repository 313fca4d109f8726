"""A WebSocket client that reads only when told to: the client that stopped reading.

A plain blocking socket, with a small receive buffer set before it connects, framed by
websockets' sans-I/O ClientProtocol (the library does the handshake and the framing;
we only decide when bytes are read). After the handshake nothing is read until the
caller asks, so the server sees exactly what a stalled browser or a hostile client
shows it: a TCP window that closes and stays closed.
"""

from __future__ import annotations

import json
import socket
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

READ_SIZE = 65536


class RawWebSocket:
    def __init__(self, url: str, subprotocols: tuple[str, ...] = (), receive_buffer: int = 4096, timeout: float = 10):
        parts = urlsplit(url)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connect(): the window the kernel advertises is set at the handshake.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.socket.settimeout(timeout)
        self.socket.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        self.local_port: int = self.socket.getsockname()[1]
        self.protocol = ClientProtocol(
            parse_uri(url), subprotocols=[Subprotocol(name) for name in subprotocols], max_size=None
        )
        self._answered = False  # the handshake's response arrived
        self._texts: deque[str] = deque()
        self._fragments: list[bytes] = []
        self.closed = False  # the server's close frame arrived, or the connection ended
        self.close_code: int | None = None
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        deadline = time.monotonic() + timeout
        while self.protocol.handshake_exc is None and not self._answered:
            if time.monotonic() > deadline or not self._read(deadline - time.monotonic()):
                raise AssertionError("the server did not answer the WebSocket handshake")
        if self.protocol.handshake_exc is not None:
            raise AssertionError(f"handshake refused: {self.protocol.handshake_exc!r}")

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:  # b"" means "half-close": never needed here
                try:
                    self.socket.sendall(data)
                except OSError:
                    return  # the server has gone; what it sent can still be read

    def _read(self, timeout: float) -> bool:
        """Read once (up to `timeout` s) and take in what came; False on timeout or end."""
        self.socket.settimeout(max(timeout, 0.001))
        try:
            data = self.socket.recv(READ_SIZE)
        except TimeoutError:
            return False
        except ConnectionError:
            data = b""
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
            self.closed = True
        for event in self.protocol.events_received():
            self._take(event)
        self._flush()  # pongs and the close answer, as a client must send them
        return bool(data)

    def _take(self, event: Response | Frame) -> None:
        if isinstance(event, Response):
            self._answered = True
            return
        if event.opcode == Opcode.CLOSE:
            self.closed = True
            # Read from the frame: the protocol's close_code waits for the TCP close as well.
            self.close_code = self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
        elif event.opcode in (Opcode.TEXT, Opcode.CONT):
            self._fragments.append(event.data)
            if event.fin:
                self._texts.append(b"".join(self._fragments).decode())
                self._fragments = []

    def receive(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next JSON message, or None once the server closed (see close_code)."""
        deadline = time.monotonic() + timeout
        while not self._texts:
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message within {timeout} s")
            self._read(remaining)
        return json.loads(self._texts.popleft())

    def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    def close(self) -> None:
        self.socket.close()

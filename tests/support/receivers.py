"""Real receivers for the alerts' messages: an SMTP server (aiosmtpd) and an HTTP endpoint
for Apprise's json:// URL, both on free loopback ports, keeping what they were sent."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.servers import free_port


@dataclass
class Mailbox:
    """What the SMTP server accepted: one parsed message per DATA."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)  # time.time() of each acceptance (bench)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(message["Subject"]).strip() for message in self.messages]

    def bodies(self) -> list[str]:
        with self.lock:
            return [str(message.get_content()) for message in self.messages]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.subjects()
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} mails within {timeout} s, wanted {count}: {self.subjects()}")


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1: accepts every message, as a box's postfix would."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with mailbox.lock:
                data = envelope.original_content or envelope.content
                # The default policy unfolds and decodes headers, as a mail client shows them.
                mailbox.messages.append(email.message_from_bytes(data, policy=email.policy.default))  # type: ignore[arg-type]
                mailbox.accepted_at.append(time.time())
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Hook:
    """What the HTTP endpoint was sent: one JSON body per POST (Apprise's json:// format:
    {version, title, message, type, attachments})."""

    port: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    status: int = 200

    @property
    def url(self) -> str:
        """The Apprise URL that posts here."""
        return f"json://127.0.0.1:{self.port}/hook"

    def titles(self) -> list[str]:
        with self.lock:
            return [str(post.get("title")) for post in self.posts]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.posts) >= count:
                return self.titles()
            time.sleep(0.05)
        raise AssertionError(f"{len(self.posts)} pushes within {timeout} s, wanted {count}: {self.titles()}")


@contextlib.contextmanager
def webhook_receiver(answer: Callable[[], int] | None = None) -> Iterator[Hook]:
    """A threaded HTTP server on a free loopback port keeping each POSTed JSON body."""
    hook = Hook(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = answer() if answer is not None else hook.status
            if status == 200:
                with hook.lock:
                    hook.posts.append(json.loads(body))
                    hook.paths.append(self.path)
                    hook.received_at.append(time.time())
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", hook.port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()

"""Wait until a TCP port on this host accepts connections, for a bounded time.

The systemd units run it as ExecStartPost: daphne is started (Type=exec) some seconds
before it listens, and until ExecStartPost returns the unit is "activating", so
`systemctl start wpdash` (and `enable --now`, `restart`) returns once the dashboard
answers, and a health check right after it (README, "Production") never meets
"Connection refused". Exit 1 after --timeout: the unit then fails to start, as it should.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

INTERVAL = 0.1  # seconds between attempts
ATTEMPT_TIMEOUT = 1.0  # one connect; loopback answers at once, or refuses


class Command(BaseCommand):
    help = "Wait until HOST:PORT accepts a TCP connection (exit 0), or fail after --timeout seconds (exit 1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1, where the units bind daphne")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds; default 30")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port, timeout = options["host"], options["port"], options["timeout"]
        if not 0 < port < 65536 or not 0 < timeout <= 600:
            raise CommandError("--port must be 1..65535 and --timeout 0..600 seconds.")
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=ATTEMPT_TIMEOUT):
                return  # accepted; nothing is sent, the connection is closed at once
            if time.monotonic() >= deadline:
                raise CommandError(f"Nothing accepts connections on {host}:{port} after {timeout:g} s.")
            time.sleep(INTERVAL)

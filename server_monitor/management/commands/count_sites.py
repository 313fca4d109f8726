"""Count the sites' access logs into the figures the page and the API show, until stopped.

The counting belongs in the one long-running process beside daphne (`manage.py
watch`, which starts the same SiteCounter); this command runs it alone, for a
server without the watcher and for trying it out. One counter per data directory:
a second one exits at once (an exclusive lock on WPDASH_DATA_DIR/sites-counter.lock),
since two would each rebuild and add the same lines.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from server_monitor.workflows.sites.counting import SiteCounter


class Command(BaseCommand):
    help = "Follow every enabled site's access log and keep its per-minute figures (until SIGTERM or Ctrl-C)."

    def handle(self, *args: Any, **options: Any) -> None:
        lock_path = os.path.join(settings.DATA_DIR, "sites-counter.lock")
        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CommandError(f"Another counter already runs for this data directory ({lock_path}).") from None
            self.stdout.write(f"Counting the sites of {settings.WPDASH_SITES_DIR} (Ctrl-C stops).")
            asyncio.run(self._count())
        finally:
            os.close(lock)  # the lock goes with it

    async def _count(self) -> None:
        counter = SiteCounter()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, counter.stop)
        await counter.run()
        self.stdout.write("Stopped; every count is written.")

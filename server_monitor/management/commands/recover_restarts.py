"""Mark restarts whose server process died mid-run as interrupted.

bin/run calls this before serving. It only touches rows whose runner process is
gone from this host, so it is safe while other server processes keep running.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from server_monitor.workflows.runners import recover_interrupted


class Command(BaseCommand):
    help = "Mark pending/running restarts whose server process is gone as interrupted."

    def handle(self, *args: Any, **options: Any) -> None:
        count = recover_interrupted()
        if count:
            self.stdout.write(self.style.WARNING(f"Marked {count} interrupted restart(s); see the restart audit."))
        else:
            self.stdout.write("No interrupted restarts.")

"""Close restarts whose server process died mid-run: what the unit did, or interrupted.

bin/run calls this before serving. It only touches rows whose runner process is
gone from this host, and leaves a row alone while the restart command it started
(`sudo`/`systemctl`, in its own session) still runs, so it is safe while other
server processes keep running. See workflows.runners.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from server_monitor.workflows.runners import recover_interrupted


class Command(BaseCommand):
    help = "Close pending/running restarts whose server process is gone: the unit's outcome, or interrupted."

    def handle(self, *args: Any, **options: Any) -> None:
        recovery = recover_interrupted()
        if recovery.recorded:
            self.stdout.write(
                self.style.WARNING(f"Recorded {recovery.recorded} restart(s) from the unit's state; see the audit.")
            )
        if recovery.interrupted:
            self.stdout.write(
                self.style.WARNING(f"Marked {recovery.interrupted} interrupted restart(s); see the restart audit.")
            )
        if recovery.still_running:
            self.stdout.write(
                self.style.WARNING(
                    f"Left {recovery.still_running} restart(s) locked: still under way "
                    "(the restart command runs, or the unit is changing state)."
                )
            )
        if not (recovery.closed or recovery.still_running):
            self.stdout.write("No interrupted restarts.")

"""manage.py watch: the watcher (workflows.alerts.watcher), until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from server_monitor.workflows.alerts import outbox
from server_monitor.workflows.alerts.watcher import Watcher
from wpdash.env import EXIT_BAD_SETTING

SCHEMA_WAIT = 2.0  # seconds between looks while the dashboard's unit applies migrations


class Command(BaseCommand):
    help = (
        "Watch the box and tell: evaluate the alert rules, follow the logs for their patterns, send "
        "mail and push. Runs until stopped; of several, one acts (a database lease)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, help="seconds between two looks (default WPDASH_WATCH_SECONDS)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outbox.push_targets()  # a URL Apprise does not know stops here, in one line
        except ValueError as error:
            sys.stderr.write(f"{error}\n")
            raise SystemExit(EXIT_BAD_SETTING) from None
        interval = options.get("interval")
        if interval is not None and not 0.1 <= interval <= 60:
            raise CommandError("--interval must be from 0.1 to 60 seconds.")
        self._wait_for_schema()
        asyncio.run(self._run(Watcher(interval=interval)))

    def _wait_for_schema(self) -> None:
        """The dashboard's unit migrates; a watcher started beside it waits until it has."""
        said = False
        while True:
            try:
                executor = MigrationExecutor(connection)
                if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
                    return
                problem = "migrations are not applied yet (manage.py migrate)"
            except DatabaseError as error:
                problem = f"the database cannot be read: {error}"
            if not said:
                self.stderr.write(f"watch: waiting: {problem}")
                said = True
            connection.close()
            time.sleep(SCHEMA_WAIT)

    async def _run(self, watcher: Watcher) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await watcher.run(stop)

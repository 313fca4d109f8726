"""Tell the operator, in words, what keeps wpdash from working on this host.

Exit code 0 when every check passes, 1 otherwise (for scripts and install guides).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from server_monitor.workflows.doctor import run_checks


class Command(BaseCommand):
    help = "Check systemd, sudo rules, log permissions, Netdata and the database."

    def handle(self, *args: Any, **options: Any) -> None:
        findings = run_checks()
        for finding in findings:
            mark = self.style.SUCCESS("ok  ") if finding.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {finding.check:<9} {finding.message}")
        failed = sum(not finding.ok for finding in findings)
        if failed:
            raise CommandError(f"{failed} of {len(findings)} checks failed.", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"All {len(findings)} checks passed."))

"""Set-up checks in words: what keeps the dashboard from working on this host.

Used by `manage.py doctor` (exit 1 when something is wrong) and shown to admins on
the status page. Each check asks the adapter that owns the outside system, so the
answer is what the dashboard itself would meet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from server_monitor.adapters import systemd
from server_monitor.adapters.journal import reads
from server_monitor.adapters.logs.paths import OpenFolder
from server_monitor.errors import DomainError
from server_monitor.workflows import metrics
from server_monitor.workflows.logs import sources

CACHE_KEY = "wpdash:doctor"
CACHE_SECONDS = 60  # sudo -l runs once per unit: not on every page view


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str


def check_database() -> list[Finding]:
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return [Finding("database", False, f"The database does not answer: {error}.")]
    if pending:
        return [Finding("database", False, f"{len(pending)} migrations are not applied: run `manage.py migrate`.")]
    return [Finding("database", True, f"The {connection.vendor} database answers and is migrated.")]


def check_services() -> list[Finding]:
    try:
        installed = systemd.list_statuses()
    except DomainError as error:
        return [Finding("systemd", False, f"Services cannot be shown or restarted: {error.detail.rstrip('.')}.")]
    findings = [
        Finding(
            "systemd",
            True,
            f"systemd answers; {len(installed)} of {len(systemd.allowlist())} allowlisted units are installed.",
        )
    ]
    if not settings.WPDASH_SUDO:
        if os.geteuid() != 0:
            findings.append(
                Finding("sudo", False, "WPDASH_SUDO is off but this process is not root: restarts will be refused.")
            )
        return findings
    refused = [service.name for service in installed if systemd.sudo_allows_restart(service.name) is False]
    if refused:
        findings.append(
            Finding(
                "sudo",
                False,
                f"sudo does not allow restarting {', '.join(refused)} without a password: install the rules with "
                "`manage.py sudoers | sudo tee /etc/sudoers.d/wpdash` and check them with `visudo -c`.",
            )
        )
    elif installed:
        findings.append(Finding("sudo", True, "sudo allows restarting every installed allowlisted unit."))
    return findings


def check_logs() -> list[Finding]:
    """Each configured source, and the folders on its path that others could change; the
    units' own journals are one check (check_journal)."""
    findings = []
    for source in sources.settings_sources():
        status = source.status()
        if status.available:
            findings.append(Finding("logs", True, f"{status.name}: {_shown_path(status.path)} is readable."))
        else:
            findings.append(Finding("logs", False, f"{status.name}: {status.reason}"))
        findings += [_open_folder_finding(source.name, folder) for folder in source.open_folders()]
    return findings


def _shown_path(path: str) -> str:
    configured = sources.configured_as(path)
    return path if configured is None else f"{path} (the target of {configured}, resolved at start-up)"


def _open_folder_finding(name: str, folder: OpenFolder) -> Finding:
    return Finding(
        "logs",
        False,
        f"{name}: the folder {folder.folder} ({folder.owner}:{folder.group}, mode {folder.mode:04o}) can be changed "
        f"by {' and '.join(folder.who)}, not only by root and the log's owner: they could put another file under "
        f"the log's name. Make it root's and not writable by others (`chown root {folder.folder} && chmod go-w "
        f"{folder.folder}`), or have the log written to a folder only root and its writer can change.",
    )


def check_journal() -> list[Finding]:
    """The journal every unit's log source and a failed restart's reason are read from.
    Asked only where systemd answers (run_checks): elsewhere there are no unit journals."""
    try:
        reads.end_cursor()
    except DomainError as error:
        return [Finding("journal", False, f"{error.detail.rstrip('.')}. Unit logs and restart reasons are not shown.")]
    return [Finding("journal", True, "The systemd journal is readable: every unit's log can be shown.")]


def check_netdata() -> list[Finding]:
    if settings.WPDASH_METRICS_SOURCE == "local":
        return [Finding("netdata", True, "Metrics come from local sampling (WPDASH_METRICS_SOURCE=local).")]
    problem = metrics.netdata_problem()
    if problem is None:
        return [Finding("netdata", True, f"Netdata answers at {metrics.shown_netdata_url()}.")]
    fallback = " Metrics fall back to local sampling." if settings.WPDASH_METRICS_SOURCE == "auto" else ""
    return [Finding("netdata", False, f"{problem.rstrip('.')}.{fallback}")]


def run_checks() -> list[Finding]:
    services = check_services()
    systemd_answers = services[0].ok  # its first finding is whether systemd answers at all
    journal_findings = check_journal() if systemd_answers else []
    return [*check_database(), *services, *check_logs(), *journal_findings, *check_netdata()]


def cached_problems() -> list[Finding]:
    """The failing findings, computed at most once a minute per cache."""
    problems: list[Finding] | None = cache.get(CACHE_KEY)
    if problems is None:
        problems = [finding for finding in run_checks() if not finding.ok]
        cache.set(CACHE_KEY, problems, CACHE_SECONDS)
    return problems

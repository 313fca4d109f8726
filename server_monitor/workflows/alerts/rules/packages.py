"""Pending security updates (apt's own state, no network) and "reboot required"."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings

from server_monitor.adapters import apt
from server_monitor.errors import DomainError
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.base import WARNING, Finding, Rule, register

LISTED = 50  # packages named in the evidence


@register
class SecurityUpdates(Rule):
    """Security updates apt could install now, from the lists it already has (adapters.apt)."""

    name = "security-updates"
    every = 900.0  # the lists change when apt update runs (daily); the simulation costs a second or two
    alone = True

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        try:
            updates = [update for update in apt.pending_updates() if update.security]
        except DomainError:
            return None
        if not updates:
            return []
        listed = [f"{u.package} {u.installed or '(new)'} → {u.candidate} ({u.origins})" for u in updates[:LISTED]]
        summary = f"{len(updates)} security update{'s' if len(updates) != 1 else ''} pending"
        return [Finding("apt", WARNING, summary, {"count": len(updates), "packages": listed})]


@register
class RebootRequired(Rule):
    """The package scripts asked for a reboot (WPDASH_REBOOT_REQUIRED_FILE)."""

    name = "reboot-required"
    every = 60.0

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        packages = apt.reboot_required()
        if packages is None:
            return []
        named = f" for {', '.join(packages[:10])}" if packages else ""
        flag = settings.WPDASH_REBOOT_REQUIRED_FILE
        return [Finding(flag, WARNING, f"a reboot is required{named}", {"file": flag, "packages": packages})]

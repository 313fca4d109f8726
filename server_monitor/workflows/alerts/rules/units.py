"""Units of the allowlist: failed, or active once and no longer; and the watchdog giving up."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings

from server_monitor.adapters.journal import reads as journal
from server_monitor.errors import DomainError
from server_monitor.workflows.alerts import autorestart
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.base import CRITICAL, WARNING, Finding, Rule, register

JOURNAL_LINES = 20
# A unit on its way (back) up: neither a new problem nor a recovery yet.
BETWEEN = {"activating", "reloading", "deactivating"}


@register
class UnitFailed(Rule):
    """A unit that is `failed`, or that this watcher saw active and is now inactive (stopped
    or crashed with Restart=no); resolved once it is active again. A unit inactive since
    before the watcher started is not news: a unit installed and kept off is normal."""

    name = "unit-failed"

    def __init__(self) -> None:
        self.seen_active: set[str] = set()

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        try:
            statuses = facts.statuses()
        except DomainError:
            return None
        found = []
        for status in statuses:
            name, state = status.name, status.active_state
            if status.active:
                self.seen_active.add(name)
            evidence = {"unit": status.unit, "active_state": state, "sub_state": status.sub_state}
            if state == "failed":
                found.append(Finding(name, CRITICAL, f"{name} has failed ({status.state})", evidence))
            elif state == "inactive" and (name in self.seen_active or name in firing):
                found.append(Finding(name, CRITICAL, f"{name} is no longer active ({status.state})", evidence))
            elif state in BETWEEN and name in firing:
                found.append(Finding(name, CRITICAL, f"{name} is not active yet ({status.state})", evidence))
        return found

    def enrich(self, finding: Finding) -> Finding:
        return Finding(
            finding.subject, finding.severity, finding.summary, {**finding.evidence, **unit_journal(finding)}
        )


def unit_journal(finding: Finding) -> dict[str, object]:
    """The unit's last journal lines: why it failed, in its own words."""
    unit = str(finding.evidence.get("unit") or finding.subject)
    try:
        return {"journal": journal.last_entries(unit, JOURNAL_LINES).lines}
    except DomainError as error:
        return {"journal_unavailable": error.detail}


@register
class AutorestartGaveUp(Rule):
    """WPDASH_AUTORESTART: a listed unit still failed after the watchdog's restarts (at most
    autorestart.LIMIT in autorestart.WINDOW). Monit's "unmonitor", made visible."""

    name = "autorestart-gave-up"

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        if not settings.WPDASH_AUTORESTART:
            return []
        try:
            statuses = facts.statuses()
        except DomainError:
            return None
        found = []
        for status in statuses:
            if status.name not in settings.WPDASH_AUTORESTART or status.active:
                continue
            attempts = autorestart.recent_attempts(status.name)
            if (status.active_state == "failed" and len(attempts) >= autorestart.LIMIT) or status.name in firing:
                minutes = int(autorestart.WINDOW.total_seconds() // 60)
                summary = (
                    f"gave up on {status.name}: {len(attempts)} restarts in {minutes} minutes did not bring it back"
                )
                evidence = {"unit": status.unit, "active_state": status.active_state, "restarts": attempts}
                found.append(Finding(status.name, CRITICAL, summary, evidence))
        return found

    def enrich(self, finding: Finding) -> Finding:
        return Finding(
            finding.subject, finding.severity, finding.summary, {**finding.evidence, **unit_journal(finding)}
        )


@register
class Watchdog(Rule):
    """Not an alert of its own: asks for the audited restart of each failed unit of
    WPDASH_AUTORESTART (workflows.alerts.autorestart), once per tick at most."""

    name = "autorestart"

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        if settings.WPDASH_AUTORESTART:
            try:
                autorestart.consider(facts.statuses())
            except DomainError:
                pass
        return []


__all__ = ["WARNING", "AutorestartGaveUp", "UnitFailed", "Watchdog"]

"""What a rule is, and the registry of them: a new rule is one small class with @register.

A rule looks at the box (through Facts, or an adapter of its own) and returns one
Finding per subject that is wrong now: the unit that failed, the certificate that
expires. workflows.alerts.episodes turns findings into episodes: a new subject opens
one, a subject no longer found resolves it once it has stayed away
WPDASH_ALERT_CLEAR_SECONDS. A rule that cannot tell now (systemd not answering)
returns None, and its firing episodes stay as they are: a blind spot is not a recovery.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings

from server_monitor.workflows.alerts.facts import Facts

WARNING = "warning"
CRITICAL = "critical"


@dataclass(frozen=True)
class Finding:
    subject: str
    severity: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


class Rule:
    """One rule. `name` is the alert's `rule`; `every` is how often it is evaluated (None:
    every WPDASH_WATCH_SECONDS); `alone`: it is slow (a child process, files) and runs in a
    thread of its own rather than with the tick's other rules."""

    name: ClassVar[str]
    every: ClassVar[float | None] = None
    alone: ClassVar[bool] = False

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        """The subjects wrong now; `firing`: the subjects whose episode fires (a rule that
        remembers, like "was active", needs to know after a hand-over). None: cannot tell."""
        raise NotImplementedError

    def enrich(self, finding: Finding) -> Finding:
        """More evidence, gathered only when an episode opens (a unit's journal)."""
        return finding

    @property
    def clear_seconds(self) -> float:
        return float(settings.WPDASH_ALERT_CLEAR_SECONDS)


REGISTRY: list[type[Rule]] = []


def register(rule: type[Rule]) -> type[Rule]:
    REGISTRY.append(rule)
    return rule


def build() -> list[Rule]:
    """A fresh instance of every rule not switched off (WPDASH_ALERT_OFF): a watcher that
    takes the lease starts with no memory of its own."""
    return [rule() for rule in REGISTRY if rule.name not in settings.WPDASH_ALERT_OFF]

"""The rules. Each module registers its rules on import; a new rule is one class with
@register (rules/base.py). The log-pattern rules are not here: they are woken by the
logs, not the interval (workflows.alerts.watcher, live_logs)."""

from server_monitor.workflows.alerts.rules import certificates, host, packages, sites, units
from server_monitor.workflows.alerts.rules.base import REGISTRY, Finding, Rule, build, register

__all__ = ["REGISTRY", "Finding", "Rule", "build", "certificates", "host", "packages", "register", "sites", "units"]

"""The host: disk "/" used and filling up, sustained CPU and RAM."""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings

from server_monitor.errors import DomainError
from server_monitor.workflows.alerts import disk_trend
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.base import CRITICAL, WARNING, Finding, Rule, register

ROOT = "/"


@register
class DiskFull(Rule):
    """`/` used ≥ WPDASH_ALERT_DISK_PERCENT (df's %: used / (used + available))."""

    name = "disk-full"

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        try:
            used = facts.metrics("5m")["disk"]["current"]
        except DomainError:
            return None
        if used is None:
            return None
        limit = settings.WPDASH_ALERT_DISK_PERCENT
        if used < limit:
            return []
        evidence = {"percent_used": used, "threshold_percent": limit}
        return [Finding(ROOT, CRITICAL, f"disk / is {used:.1f} % full (alert at {limit} %)", evidence)]


@register
class DiskFilling(Rule):
    """`/` full in less than WPDASH_ALERT_DISK_DAYS at the last hours' steady rate (disk_trend)."""

    name = "disk-filling"
    every = 60.0

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        days = settings.WPDASH_ALERT_DISK_DAYS
        if not days:
            return []
        forecast = disk_trend.current()
        if forecast is None or not forecast.known:
            return None
        if forecast.days_left is None or forecast.days_left >= days:
            return []
        evidence = {
            "percent_used": round(forecast.percent_used, 2),
            "percent_per_day": round(forecast.percent_per_day or 0.0, 3),
            "days_left": round(forecast.days_left, 2),
            "trend_hours": forecast.hours,
        }
        summary = (
            f"disk / will be full in about {forecast.days_left:.1f} days "
            f"(+{forecast.percent_per_day:.2f} %/day over the last {forecast.hours} h, "
            f"now {forecast.percent_used:.1f} %)"
        )
        return [Finding(ROOT, WARNING, summary, evidence)]


class Sustained(Rule):
    """A series of the 1h window (one point a minute) above a threshold for
    WPDASH_ALERT_SUSTAINED_MINUTES: fires when every point of that span is at or above
    it, and stays firing while their mean is (so it does not flap at the threshold)."""

    series: str
    label: str
    setting: str

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        try:
            points = facts.metrics("1h")[self.series]["points"]
        except DomainError:
            return None
        minutes = settings.WPDASH_ALERT_SUSTAINED_MINUTES
        limit = getattr(settings, self.setting)
        newest = points[-1]["timestamp"] if points else 0
        values = [p["value"] for p in points if p["timestamp"] > newest - minutes * 60 and p["value"] is not None]
        if len(values) < minutes * 0.8:
            return None  # too little history to say "sustained" either way
        mean = sum(values) / len(values)
        high = min(values) >= limit if self.label not in firing else mean >= limit
        if not high:
            return []
        evidence = {
            "mean_percent": round(mean, 1),
            "min_percent": round(min(values), 1),
            "threshold_percent": limit,
            "minutes": minutes,
        }
        summary = f"{self.label} at {mean:.0f} % on average for {minutes} minutes (alert at {limit} %)"
        return [Finding(self.label, WARNING, summary, evidence)]


@register
class CpuHigh(Sustained):
    name = "cpu-high"
    series, label, setting = "cpu", "CPU", "WPDASH_ALERT_CPU_PERCENT"


@register
class RamHigh(Sustained):
    name = "ram-high"
    series, label, setting = "ram", "RAM", "WPDASH_ALERT_RAM_PERCENT"

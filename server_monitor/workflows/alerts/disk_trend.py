"""When "/" will be full at the rate of the last hours: the figure beside the disk card and
the disk-filling rule.

Netdata's "out of disk space time" extrapolates the last hour, so a backup that writes
10 GiB and deletes them an hour later raises a false alarm twice a night. Here:

- the trend is the least-squares slope of the disk's % used over the last
  WPDASH_DISK_TREND_HOURS (6 h by default) of the 24h window's 10-minute points, from
  Netdata or the local sampler (workflows.metrics), so a burst of minutes weighs little;
- it counts only when it is consistently rising: the slope of each half of that span
  is at least a third of the whole's. A burst that stays (a one-off copy: a step), or
  one that went away again (a spike), makes one half flat or falling, and is no trend;
- at least half of the span must have points (a fresh local sampler has none yet).

days_left = (100 - % used now) / slope per day. Kept 60 s: the points are 10 minutes wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from server_monitor.caching import TTLCache
from server_monitor.errors import DomainError
from server_monitor.workflows import metrics

WINDOW = "24h"
CONSISTENCY = 1 / 3  # each half's slope must be at least this share of the whole's
_kept: TTLCache[str, DiskForecast] = TTLCache("disk-forecast", 60, maxsize=4)


@dataclass(frozen=True)
class DiskForecast:
    percent_used: float
    percent_per_day: float | None  # the trend; None without enough history
    days_left: float | None  # None unless consistently rising
    hours: int

    @property
    def known(self) -> bool:
        return self.percent_per_day is not None


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope, per second."""
    count = len(points)
    mean_t = sum(t for t, _ in points) / count
    mean_v = sum(v for _, v in points) / count
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread if spread else 0.0


def estimate(series: Sequence[tuple[int, float | None]], hours: int) -> DiskForecast | None:
    """The forecast from (timestamp, % used) points, oldest first; None when there is no value."""
    known = [(float(t), v) for t, v in series if v is not None]
    if not known:
        return None
    newest = known[-1][0]
    span = hours * 3600
    recent = [(t, v) for t, v in known if t > newest - span]
    now_used = recent[-1][1]
    if len(recent) < 6 or recent[-1][0] - recent[0][0] < span / 2:
        return DiskForecast(now_used, None, None, hours)
    slope = _slope(recent) * 86400
    middle = (recent[0][0] + recent[-1][0]) / 2
    halves = [[p for p in recent if p[0] <= middle], [p for p in recent if p[0] > middle]]
    rising = slope > 0 and all(len(half) >= 3 and _slope(half) * 86400 >= slope * CONSISTENCY for half in halves)
    days = (100.0 - now_used) / slope if rising else None
    return DiskForecast(now_used, slope, max(0.0, days) if days is not None else None, hours)


def current() -> DiskForecast | None:
    """The forecast for "/" now, or None when metrics cannot be had."""
    hours = settings.WPDASH_DISK_TREND_HOURS

    def compute() -> DiskForecast | None:
        try:
            points = metrics.get_metrics(WINDOW)["disk"]["points"]
        except DomainError:
            return None
        return estimate([(point["timestamp"], point["value"]) for point in points], hours)

    return _kept.get_or_compute(f"/:{hours}", compute)  # type: ignore[arg-type]

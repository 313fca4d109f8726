"""The one result shape every metrics source returns.

A result is ``{source, range, cpu, ram, disk, disk_io, network_in, network_out}``;
each series is ``{name, current, unit, points: [{timestamp, value}]}`` with points
oldest first. ``timestamp`` is Unix time in whole seconds (UTC): the end of the
interval whose average ``value`` is. ``value`` is ``None`` where the source has no
data (before it started, a gap): never a made-up zero. ``current`` is the newest
non-null value, or ``None`` when the window holds no data at all (workflows.metrics
makes it the newest value of the finest window for every range); ``average`` is the
mean of the window's values, ``None`` likewise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server_monitor.adapters.metrics.windows import Range
from server_monitor.errors import Unavailable


class MetricsUnavailable(Unavailable):
    """The chosen metrics source cannot answer (down, too slow, or answered nonsense)."""


# key -> (display name, unit). Units follow Netdata's own charts, so the numbers a
# reader sees here match what Netdata's dashboard shows for the same host.
SERIES: dict[str, tuple[str, str]] = {
    "cpu": ("CPU", "%"),
    "ram": ("RAM", "%"),
    "disk": ("Disk /", "%"),
    "disk_io": ("Disk I/O", "KiB/s"),
    "network_in": ("Network in", "kbit/s"),
    "network_out": ("Network out", "kbit/s"),
}
SOURCES = ("netdata", "local")

# Two decimals: finer than any sparkline or card shows, and it keeps the JSON small.
DECIMALS = 2

Point = tuple[int, "float | None"]


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def series(key: str, points: Iterable[Point]) -> dict[str, Any]:
    """One series in the result shape; `points` may come in any order."""
    ordered = sorted(points, key=lambda point: point[0])
    values = [(timestamp, rounded(value)) for timestamp, value in ordered]
    current = next((value for _, value in reversed(values) if value is not None), None)
    known = [value for _, value in values if value is not None]
    name, unit = SERIES[key]
    return {
        "name": name,
        "current": current,
        "average": rounded(sum(known) / len(known)) if known else None,
        "unit": unit,
        "points": [{"timestamp": timestamp, "value": value} for timestamp, value in values],
    }


def result(source: str, range_: Range, points: Mapping[str, Iterable[Point]]) -> dict[str, Any]:
    """The answer of one source; `filled_from_local` counts the points a Netdata answer took
    from local sampling where Netdata had none (workflows.metrics), 0 as made here."""
    shaped = {key: series(key, points[key]) for key in SERIES}
    return {"source": source, "range": range_.name, **shaped, "filled_from_local": 0}

"""The time windows 5m, 1h and 24h, and what each becomes for every metrics source.

A window is `points` intervals of `step` seconds ending now. For Netdata it becomes
the /api/v1/data query below (Netdata averages each interval itself, aligned to
multiples of the step); for local sampling it becomes `bucket_ends`, the same
aligned interval ends, so both sources label their points alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    name: str
    seconds: int
    points: int

    @property
    def step(self) -> int:
        """Seconds each point averages."""
        return self.seconds // self.points


RANGES: dict[str, Range] = {
    "5m": Range("5m", 300, 60),
    "1h": Range("1h", 3600, 60),
    "24h": Range("24h", 86400, 144),
}
DEFAULT_RANGE = "5m"


def get_range(name: str) -> Range:
    try:
        return RANGES[name]
    except KeyError:
        raise ValueError(f"unknown range {name!r}; use one of {', '.join(RANGES)}") from None


def netdata_query(range_: Range, before: int | None = None) -> dict[str, str | int]:
    """The /api/v1/data parameters of one chart's window (without `chart`).

    group=average: a sparkline point must be the interval's mean whatever a
    netdata.conf says. Never null2zero (a null is "no data", which a chart must not
    draw as 0 %), no unaligned (aligned windows are identical for everyone asking
    within one step, which is what makes the short cache effective).
    """
    params: dict[str, str | int] = {
        "after": -range_.seconds,
        "points": range_.points,
        "group": "average",
        "format": "json",
    }
    if before is not None:  # a fixed window (tests compare it with Netdata's own answer)
        params["before"] = before
    return params


def _first_end(range_: Range, now: float) -> int:
    step = range_.step
    return math.ceil(now / step) * step - (range_.points - 1) * step


def bucket_ends(range_: Range, now: float) -> list[int]:
    """The end of each of the window's intervals, oldest first, aligned like Netdata's.

    The newest interval is still filling: it is labelled with `now` (whole seconds).
    """
    first_end = _first_end(range_, now)
    return [min(first_end + index * range_.step, math.floor(now)) for index in range(range_.points)]


def bucket_index(range_: Range, now: float, moment: float) -> int | None:
    """Which interval of the window ending `now` holds `moment`; None when none does."""
    step = range_.step
    index = (math.ceil(moment / step) * step - _first_end(range_, now)) // step
    return index if 0 <= index < range_.points else None

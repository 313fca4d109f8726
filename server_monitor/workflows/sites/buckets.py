"""One site's counts over a span of time, in memory and as a SiteBucket row.

Every figure merges exactly, so minutes add up to ten minutes and rows to a window:
- requests, status classes, bytes, cache hits and cache-status lines, timed requests
  and unparsed lines are counts;
- response times are a sparse histogram {milliseconds: requests}. nginx writes
  $upstream_response_time in milliseconds, so the histogram loses nothing and a
  percentile of merged histograms is the percentile of the lines themselves;
- top lists (paths, paths answering 5xx, client addresses) are counts of every key
  while in memory (squeezed past SQUEEZE_AT keys), and each stored row keeps its
  KEPT_IN_ROW largest. What is left out is remembered as `cut`, the sum of the largest
  count dropped each time: a merged count is never more than the truth, and never
  short of it by more than the merged `cut`. When `cut` is 0 the list is exact.

The rules, in one place:
- cache hit ratio = HIT / lines carrying a cache status (CACHE_STATUSES); `-` (no cache
  involved: static files, the admin) does not count either way;
- percentiles are nearest-rank: the p-th percentile is the smallest time such that at
  least p % of the timed requests took no longer;
- a status class is the first digit (1xx … 5xx); anything else is "other".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

CACHE_STATUSES = frozenset({"HIT", "MISS", "BYPASS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED"})
MINUTE = 60
TEN_MINUTES = 600
SPANS = (MINUTE, TEN_MINUTES)
KEPT_IN_ROW = {MINUTE: 100, TEN_MINUTES: 200}
SQUEEZE_AT = 4096  # keys in memory per list and bucket before the smallest are dropped
SQUEEZE_TO = 1024
STATUS_FIELDS = ("status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx", "status_other")
COUNT_FIELDS = ("requests", *STATUS_FIELDS, "bytes_sent", "cache_hits", "cache_lines", "timed", "unparsed")
TOP_FIELDS = ("top_paths", "top_error_paths", "top_clients")


class Top:
    """Counts by key, bounded; `cut` is how far any count may be short (see the module)."""

    __slots__ = ("counts", "cut")

    def __init__(self, counts: dict[str, int] | None = None, cut: int = 0) -> None:
        self.counts: dict[str, int] = counts if counts is not None else {}
        self.cut = cut

    def add(self, key: str) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        if len(counts) > SQUEEZE_AT:
            self.squeeze(SQUEEZE_TO)

    def merge(self, other: Top) -> None:
        counts = self.counts
        for key, count in other.counts.items():
            counts[key] = counts.get(key, 0) + count
        self.cut += other.cut
        if len(counts) > SQUEEZE_AT:
            self.squeeze(SQUEEZE_TO)

    def squeeze(self, keep: int) -> None:
        if len(self.counts) <= keep:
            return
        ordered = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        self.cut += ordered[keep][1]
        self.counts = dict(ordered[:keep])

    def largest(self, count: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:count]

    def to_json(self, keep: int) -> str:
        copy = Top(dict(self.counts), self.cut)
        copy.squeeze(keep)
        return json.dumps({"items": copy.largest(keep), "cut": copy.cut}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Top:
        data = json.loads(text or "{}")
        return cls({str(key): int(count) for key, count in data.get("items", [])}, int(data.get("cut", 0)))


class Counts:
    """The figures of one site over one span."""

    __slots__ = (
        "bytes_sent",
        "cache_hits",
        "cache_lines",
        "clients",
        "error_paths",
        "paths",
        "requests",
        "statuses",
        "timed",
        "times",
        "unparsed",
    )

    def __init__(self) -> None:
        self.requests = 0
        self.statuses = [0, 0, 0, 0, 0, 0]  # 1xx … 5xx, other
        self.bytes_sent = 0
        self.cache_hits = 0
        self.cache_lines = 0
        self.timed = 0
        self.times: dict[int, int] = {}
        self.unparsed = 0
        self.paths = Top()
        self.error_paths = Top()
        self.clients = Top()

    def add(
        self, status: int, sent: int, milliseconds: int | None, cache: str | None, path: str | None, client: str | None
    ) -> None:
        """One parsed line."""
        self.requests += 1
        klass = status // 100
        self.statuses[klass - 1 if 1 <= klass <= 5 else 5] += 1
        self.bytes_sent += sent
        if milliseconds is not None:
            self.timed += 1
            times = self.times
            times[milliseconds] = times.get(milliseconds, 0) + 1
        if cache is not None and cache in CACHE_STATUSES:
            self.cache_lines += 1
            if cache == "HIT":
                self.cache_hits += 1
        if path is not None:
            self.paths.add(path)
            if klass == 5:
                self.error_paths.add(path)
        if client is not None:
            self.clients.add(client)

    def merge(self, other: Counts) -> None:
        self.requests += other.requests
        self.statuses = [a + b for a, b in zip(self.statuses, other.statuses, strict=True)]
        self.bytes_sent += other.bytes_sent
        self.cache_hits += other.cache_hits
        self.cache_lines += other.cache_lines
        self.timed += other.timed
        times = self.times
        for milliseconds, count in other.times.items():
            times[milliseconds] = times.get(milliseconds, 0) + count
        self.unparsed += other.unparsed
        self.paths.merge(other.paths)
        self.error_paths.merge(other.error_paths)
        self.clients.merge(other.clients)

    @property
    def empty(self) -> bool:
        return not self.requests and not self.unparsed

    # --- as a row ---------------------------------------------------------------

    def row_fields(self, span: int) -> dict[str, Any]:
        keep = KEPT_IN_ROW[span]
        fields: dict[str, Any] = {
            "requests": self.requests,
            **dict(zip(STATUS_FIELDS, self.statuses, strict=True)),
            "bytes_sent": self.bytes_sent,
            "cache_hits": self.cache_hits,
            "cache_lines": self.cache_lines,
            "timed": self.timed,
            "unparsed": self.unparsed,
            "times": json.dumps(sorted(self.times.items()), separators=(",", ":")),
            "top_paths": self.paths.to_json(keep),
            "top_error_paths": self.error_paths.to_json(keep),
            "top_clients": self.clients.to_json(keep),
        }
        return fields

    @classmethod
    def from_row(cls, row: Any, with_tops: bool = True) -> Counts:
        counts = cls()
        counts.requests = row.requests
        counts.statuses = [getattr(row, name) for name in STATUS_FIELDS]
        counts.bytes_sent = row.bytes_sent
        counts.cache_hits = row.cache_hits
        counts.cache_lines = row.cache_lines
        counts.timed = row.timed
        counts.unparsed = row.unparsed
        counts.times = {int(milliseconds): int(count) for milliseconds, count in json.loads(row.times or "[]")}
        if with_tops:
            counts.paths = Top.from_json(row.top_paths)
            counts.error_paths = Top.from_json(row.top_error_paths)
            counts.clients = Top.from_json(row.top_clients)
        return counts

    # --- figures ----------------------------------------------------------------

    def percentile(self, percent: int) -> int | None:
        """Nearest-rank percentile of the response times, in milliseconds; None without any."""
        return percentile(self.times.items(), self.timed, percent)

    @property
    def cache_hit_ratio(self) -> float | None:
        return self.cache_hits / self.cache_lines if self.cache_lines else None


def percentile(times: Iterable[tuple[int, int]], total: int, percent: int) -> int | None:
    """The smallest time t such that at least `percent` % of `total` requests took ≤ t
    (in integers: no float rounding of 0.95 * n decides a rank)."""
    if total <= 0:
        return None
    rank = max(1, (percent * total + 99) // 100)
    seen = 0
    for milliseconds, count in sorted(times):
        seen += count
        if seen >= rank:
            return milliseconds
    return None  # the counts add up to less than `total`: only with a damaged row

"""The sites' figures over a window, as the API and the page show them: the read side.

Web processes only read what the counter wrote (SiteBucket, SiteState) and what the
configuration says (discovery.py). A window is every bucket that overlaps the last
5 minutes, hour or 24 hours: minutes for 5m (6 of them) and 1h (61), ten minutes for
24h (145), so a window covers its range and at most one bucket more; rates divide by
the seconds it really covers. Answers are kept a few seconds (caching.TTLCache), so a
page of ten sites costs one read of the buckets per range and interval.

"Nothing to count" is null, never 0: a site never counted has null figures, a window
with no timed request a null p50/p95, with no cache-status line a null hit ratio. A
bucket that was counted and saw no request is 0.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from server_monitor import caching
from server_monitor.adapters import certificates
from server_monitor.adapters.nginx.sites import SITE_NAME_RE
from server_monitor.errors import NotAllowed, NotFound
from server_monitor.models import SiteBucket, SiteState
from server_monitor.workflows.sites import discovery, logfiles
from server_monitor.workflows.sites.buckets import MINUTE, TEN_MINUTES, Counts

RANGES = {"5m": (300, MINUTE), "1h": (3600, MINUTE), "24h": (86400, TEN_MINUTES)}
DEFAULT_RANGE = "5m"
CACHE_SECONDS = {"5m": 5.0, "1h": 10.0, "24h": 30.0}
TOP_SHOWN = 10
STALE_SECONDS = 60  # figures older than this: the counter is not running
# Worst first: these make a site "bad" or "warn" on the page.
BAD_5XX_SHARE, WARN_5XX_SHARE = 0.05, 0.01
BAD_CERTIFICATE_DAYS, WARN_CERTIFICATE_DAYS = 7, 21
WARN_P95_SECONDS = 2.0

_lists: dict[str, caching.TTLCache[str, list[SiteFigures]]] = {
    name: caching.TTLCache(f"sites-list-{name}", seconds, 4) for name, seconds in CACHE_SECONDS.items()
}
_details: dict[str, caching.TTLCache[str, SiteFigures]] = {
    name: caching.TTLCache(f"sites-detail-{name}", seconds, 256) for name, seconds in CACHE_SECONDS.items()
}
_certificates: caching.TTLCache[str, certificates.Certificate] = caching.TTLCache("sites-certificates", 600, 256)


class UnknownSite(NotAllowed):
    """Not a site name at all (400)."""


class SiteNotFound(NotFound):
    """A well-formed name that no enabled site has (404)."""


@dataclass(frozen=True)
class Window:
    range: str
    span: int
    first: int  # the start of its first bucket
    last: int  # the start of its last bucket (the one now falls in)
    now: float

    @property
    def starts(self) -> list[int]:
        return list(range(self.first, self.last + self.span, self.span))


def window(range_name: str, now: float | None = None) -> Window:
    seconds, span = RANGES[range_name]
    moment = time.time() if now is None else now
    last = int(moment) - int(moment) % span
    first = int(moment - seconds) - int(moment - seconds) % span
    return Window(range_name, span, first, last, moment)


@dataclass
class SiteFigures:
    site: discovery.Site
    window: Window
    available: bool
    reason: str | None
    counts: Counts | None  # None: never counted
    state: SiteState | None
    slots: dict[int, Counts] = field(default_factory=dict)
    certificate: certificates.Certificate | None = None

    # --- the contract's figures ----------------------------------------------------

    def figures(self) -> dict[str, Any]:
        counts = self.counts
        if counts is None:
            return dict.fromkeys(FIGURES)
        covered = self.covered_seconds()
        return {
            "requests": counts.requests,
            "responses_4xx": counts.statuses[3],
            "responses_5xx": counts.statuses[4],
            "bytes_sent": counts.bytes_sent,
            "p50_seconds": _seconds(counts.percentile(50)),
            "p95_seconds": _seconds(counts.percentile(95)),
            "cache_hit_ratio": counts.cache_hit_ratio,
            "unparsed": counts.unparsed,
            "requests_per_second": counts.requests / covered if covered else None,
            "timed_requests": counts.timed,
        }

    def covered_seconds(self) -> float:
        """The seconds of the window the counts cover (from the history's start, to now)."""
        start = self.window.first
        if self.state is not None and self.state.history_since is not None:
            start = max(start, self.state.history_since)
        return max(0.0, self.window.now - start)

    @property
    def share_5xx(self) -> float | None:
        return self.counts.statuses[4] / self.counts.requests if self.counts and self.counts.requests else None

    @property
    def share_4xx(self) -> float | None:
        return self.counts.statuses[3] / self.counts.requests if self.counts and self.counts.requests else None

    @property
    def p95_seconds(self) -> float | None:
        return _seconds(self.counts.percentile(95)) if self.counts else None

    @property
    def certificate_days_left(self) -> int | None:
        return self.certificate.days_left(datetime.now(UTC)) if self.certificate else None

    @property
    def stale(self) -> bool:
        """Counted once, but not for a while: the counter is not running."""
        until = self.state.counted_until if self.state is not None else None
        return until is not None and time.time() - until > STALE_SECONDS

    @property
    def severity(self) -> str:
        """bad, warn or ok: what puts a site first on the page."""
        share, days, p95 = self.share_5xx, self.certificate_days_left, self.p95_seconds
        if not self.available or (share or 0) >= BAD_5XX_SHARE or (days is not None and days <= BAD_CERTIFICATE_DAYS):
            return "bad"
        warn_days = days is not None and days <= WARN_CERTIFICATE_DAYS
        if (share or 0) >= WARN_5XX_SHARE or warn_days or (p95 or 0) >= WARN_P95_SECONDS or self.stale:
            return "warn"
        return "ok"

    def worst_first_key(self) -> tuple[int, float, float, str]:
        rank = {"bad": 0, "warn": 1, "ok": 2}[self.severity]
        return (rank, -(self.share_5xx or 0.0), -(self.p95_seconds or 0.0), self.site.name)

    # --- series ---------------------------------------------------------------------

    def slot_covered(self, start: int) -> bool:
        state = self.state
        if state is None or state.history_since is None or state.counted_until is None:
            return False
        return start + self.window.span > state.history_since and start <= state.counted_until

    def series(self) -> dict[str, dict[str, Any]]:
        """Per bucket, oldest first, each point's timestamp the end of its bucket (or now)."""
        span, now = self.window.span, self.window.now
        columns: dict[str, list[dict[str, Any]]] = {name: [] for name in SERIES}
        for start in self.window.starts:
            end = min(start + span, now)
            counts = self.slots.get(start) or (Counts() if self.slot_covered(start) else None)
            values = _slot_values(counts, max(end - start, 1.0))
            for name in SERIES:
                columns[name].append({"timestamp": int(end), "value": values[name]})
        window_values = self.figures()
        averages = {
            "requests_per_second": window_values["requests_per_second"],
            "share_4xx": self.share_4xx,
            "share_5xx": self.share_5xx,
            "p50_seconds": window_values["p50_seconds"],
            "p95_seconds": window_values["p95_seconds"],
            "cache_hit_ratio": window_values["cache_hit_ratio"],
            "bytes_sent": window_values["bytes_sent"],
        }
        return {
            name: {
                "name": label,
                "unit": unit,
                "current": next((p["value"] for p in reversed(columns[name]) if p["value"] is not None), None),
                "average": averages[name],
                "points": columns[name],
            }
            for name, (label, unit) in SERIES.items()
        }

    def unparsed_samples(self) -> list[str]:
        """The last lines the format did not describe (at most five, each cut at 300 characters)."""
        if self.state is None:
            return []
        try:
            samples = json.loads(self.state.unparsed_samples or "[]")
        except ValueError:
            return []
        return [str(sample) for sample in samples] if isinstance(samples, list) else []

    def top_lists(self) -> dict[str, Any]:
        counts = self.counts or Counts()
        return {
            "top_paths": [{"path": key, "requests": n} for key, n in counts.paths.largest(TOP_SHOWN)],
            "top_error_paths": [{"path": key, "responses_5xx": n} for key, n in counts.error_paths.largest(TOP_SHOWN)],
            "top_clients": [{"address": key, "requests": n} for key, n in counts.clients.largest(TOP_SHOWN)],
            "top_lists_cut": {
                "paths": counts.paths.cut,
                "error_paths": counts.error_paths.cut,
                "clients": counts.clients.cut,
            },
        }


FIGURES = (
    "requests",
    "responses_4xx",
    "responses_5xx",
    "bytes_sent",
    "p50_seconds",
    "p95_seconds",
    "cache_hit_ratio",
    "unparsed",
    "requests_per_second",
    "timed_requests",
)
SERIES = {
    "requests_per_second": ("Requests", "req/s"),
    "share_4xx": ("4xx share", "ratio"),
    "share_5xx": ("5xx share", "ratio"),
    "p50_seconds": ("p50 response time", "s"),
    "p95_seconds": ("p95 response time", "s"),
    "cache_hit_ratio": ("Cache hit ratio", "ratio"),
    "bytes_sent": ("Bytes sent", "B"),
}


def _seconds(milliseconds: int | None) -> float | None:
    return milliseconds / 1000 if milliseconds is not None else None


def _slot_values(counts: Counts | None, seconds: float) -> dict[str, float | None]:
    if counts is None:
        return dict.fromkeys(SERIES)
    requests = counts.requests
    return {
        "requests_per_second": requests / seconds,
        "share_4xx": counts.statuses[3] / requests if requests else None,
        "share_5xx": counts.statuses[4] / requests if requests else None,
        "p50_seconds": _seconds(counts.percentile(50)),
        "p95_seconds": _seconds(counts.percentile(95)),
        "cache_hit_ratio": counts.cache_hit_ratio,
        "bytes_sent": counts.bytes_sent,
    }


# --- reading ---------------------------------------------------------------------------


def check_name(name: object) -> discovery.Site:
    """The enabled site called `name`: UnknownSite (400) when it cannot be a site's name,
    SiteNotFound (404) when no enabled site has it. The name is never echoed back."""
    if not isinstance(name, str) or not SITE_NAME_RE.fullmatch(name):
        raise UnknownSite("Not a site name: a site is named as its file in WPDASH_SITES_DIR (letters, digits, . - _).")
    site = discovery.discover().get(name)
    if site is None:
        raise SiteNotFound("No enabled site has this name; GET /api/v1/server/sites lists them.")
    return site


def discovery_problem() -> str | None:
    """Why no site can be listed at all (the sites folder cannot be read), or None."""
    return discovery.discover().problem


def all_sites(range_name: str) -> list[SiteFigures]:
    """Every enabled site's figures over the window, in the order of their names."""
    return _lists[range_name].get_or_compute("all", lambda: _read(range_name, None, with_tops=False))


def one_site(name: object, range_name: str) -> SiteFigures:
    """One site's figures, series and top lists (UnknownSite / SiteNotFound)."""
    site = check_name(name)
    return _details[range_name].get_or_compute(site.name, lambda: _read(range_name, site, with_tops=True)[0])


@dataclass(frozen=True)
class Recent:
    """A site's figures over its last minutes, for the alert rules (a 5xx share or a p95
    above a threshold, sustained): the whole span and each minute of it, oldest first."""

    site: str
    requests: int | None  # None: not counted (the counter is not running, or cannot read the log)
    share_5xx: float | None
    p95_seconds: float | None
    minutes: tuple[tuple[int, int, float | None, float | None], ...]  # (start, requests, 5xx share, p95)


def recent_figures(minutes: int = 5) -> list[Recent]:
    """Every counted site's last `minutes` complete minutes (the one now falls in is still
    filling), uncached: the watcher asks once a minute."""
    now = time.time()
    last = int(now) - int(now) % MINUTE - MINUTE
    span = Window(f"{minutes}m", MINUTE, last - (minutes - 1) * MINUTE, last, float(last + MINUTE))
    answers = []
    for site in discovery.discover().sites:
        if site.log_format is None:
            continue
        found = _figures(site, span, with_tops=False)
        per_minute = []
        for start in span.starts:
            counts = found.slots.get(start) or Counts()
            share = counts.statuses[4] / counts.requests if counts.requests else None
            per_minute.append((start, counts.requests, share, _seconds(counts.percentile(95))))
        requests = found.counts.requests if found.counts is not None else None
        answers.append(Recent(site.name, requests, found.share_5xx, found.p95_seconds, tuple(per_minute)))
    return answers


def _read(range_name: str, only: discovery.Site | None, with_tops: bool) -> list[SiteFigures]:
    found = discovery.discover()
    chosen = [only] if only is not None else list(found.sites)
    current = window(range_name)
    return [_figures(site, current, with_tops) for site in chosen]


def _figures(site: discovery.Site, current: Window, with_tops: bool) -> SiteFigures:
    state = SiteState.objects.filter(site=site.name).first()
    rows = SiteBucket.objects.filter(
        site=site.name, span=current.span, start__gte=current.first, start__lte=current.last
    )
    if not with_tops:
        rows = rows.defer("top_paths", "top_error_paths", "top_clients")
    slots = {row.start: Counts.from_row(row, with_tops=with_tops) for row in rows}
    counts: Counts | None = None
    if state is not None and state.history_since is not None:
        counts = Counts()
        for slot in slots.values():
            counts.merge(slot)
    reason = site.problem
    if reason is None and site.access_log is not None:
        reason = logfiles.availability(site.access_log)
    if reason is None and state is not None and state.reason:
        reason = state.reason
    expiry = None
    if site.certificate is not None:
        path = site.certificate
        expiry = _certificates.get_or_compute(path, lambda: certificates.read_certificate(path))
    return SiteFigures(
        site,
        current,
        available=reason is None,
        reason=reason,
        counts=counts,
        state=state,
        slots=slots,
        certificate=expiry,
    )

"""The WordPress sites: a share of 5xx answers, or a p95 response time, too high for minutes.

The figures are the sites' counter's (workflows.sites, run by this same watcher), read
from the database minute by minute. A minute with fewer than WPDASH_ALERT_SITE_MIN_REQUESTS
requests says nothing (one failed request of two is not "50 % errors"); a site fires when
every minute of the last WPDASH_ALERT_SITE_MINUTES that says something is above the
threshold, and at least most of them do, and it stays firing while the span as a whole is
(as the host's sustained rules, so it does not flap at the threshold).
"""

from __future__ import annotations

from collections.abc import Collection

from django.conf import settings

from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.base import WARNING, Finding, Rule, register
from server_monitor.workflows.sites.figures import Recent, recent_figures


class SiteSustained(Rule):
    """A per-minute site figure above a threshold for WPDASH_ALERT_SITE_MINUTES."""

    every = 60.0  # the counter's buckets are minutes
    what: str  # in words, for the summary

    def figure(self, minute: tuple[int, int, float | None, float | None]) -> float | None:
        raise NotImplementedError

    def whole(self, recent: Recent) -> float | None:
        raise NotImplementedError

    def limit(self) -> float:
        raise NotImplementedError

    def shown(self, value: float) -> str:
        raise NotImplementedError

    def evaluate(self, facts: Facts, firing: Collection[str]) -> list[Finding] | None:
        minutes = settings.WPDASH_ALERT_SITE_MINUTES
        least = settings.WPDASH_ALERT_SITE_MIN_REQUESTS
        limit = self.limit()
        found = []
        for recent in recent_figures(minutes):
            if recent.requests is None:
                continue  # not counted: the sites' page says why
            telling = [
                value for minute in recent.minutes if minute[1] >= least and (value := self.figure(minute)) is not None
            ]
            overall = self.whole(recent)
            if len(telling) < minutes * 0.6 or overall is None:
                continue  # too little traffic these minutes to say
            high = min(telling) >= limit if recent.site not in firing else overall >= limit
            if not high:
                continue
            evidence = {
                "site": recent.site,
                "minutes": minutes,
                "threshold": limit,
                "value": round(overall, 4),
                "requests": recent.requests,
                "per_minute": [
                    {"start": start, "requests": requests, "share_5xx": share, "p95_seconds": p95}
                    for start, requests, share, p95 in recent.minutes
                ],
            }
            summary = (
                f"site {recent.site}: {self.what} {self.shown(overall)} over the last {minutes} minutes "
                f"({recent.requests} requests; alert at {self.shown(limit)})"
            )
            found.append(Finding(recent.site, WARNING, summary, evidence))
        return found


@register
class SiteErrors(SiteSustained):
    """WPDASH_ALERT_SITE_5XX_PERCENT of a site's answers were 5xx, minute after minute."""

    name = "site-errors"
    what = "5xx answers at"

    def figure(self, minute: tuple[int, int, float | None, float | None]) -> float | None:
        return minute[2]

    def whole(self, recent: Recent) -> float | None:
        return recent.share_5xx

    def limit(self) -> float:
        return settings.WPDASH_ALERT_SITE_5XX_PERCENT / 100

    def shown(self, value: float) -> str:
        return f"{value * 100:.1f} %"


@register
class SiteSlow(SiteSustained):
    """A site's p95 response time (PHP's, from $upstream_response_time) at or above
    WPDASH_ALERT_SITE_P95_MS, minute after minute."""

    name = "site-slow"
    what = "p95 response time at"

    def figure(self, minute: tuple[int, int, float | None, float | None]) -> float | None:
        return minute[3]

    def whole(self, recent: Recent) -> float | None:
        return recent.p95_seconds

    def limit(self) -> float:
        return settings.WPDASH_ALERT_SITE_P95_MS / 1000

    def shown(self, value: float) -> str:
        return f"{value * 1000:.0f} ms"

"""The sites' alert rules (issue 28, "if the alerts have landed"): a 5xx share or a p95
too high for minutes, from the counter's real buckets of a real access log."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from server_monitor.models import SiteState
from server_monitor.workflows.alerts.facts import Facts
from server_monitor.workflows.alerts.rules.sites import SiteErrors, SiteSlow
from tests.sites.conftest import running_counter, until
from tests.support.sites import write_lines

pytestmark = pytest.mark.django_db(transaction=True)


def rt_cache(site: str, when: float, status: int, upstream: str) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(when))
    return f'203.0.113.9 {upstream} MISS [{stamp}] {site} "GET / HTTP/2.0" {status} 512 "-" "curl/7.88.1"'


def minutes_of(site: str, per_minute: int, status_of, upstream: str, minutes: int = 8) -> list[str]:
    """`per_minute` lines in each of the last complete `minutes` minutes; status_of(i)."""
    now = time.time()
    this_minute = now - now % 60
    lines = []
    for minute in range(minutes, 0, -1):
        start = this_minute - minute * 60
        lines += [rt_cache(site, start + 1 + i * 50 / per_minute, status_of(i), upstream) for i in range(per_minute)]
    return lines


async def test_a_site_answering_5xx_or_slowly_minute_after_minute_fires_and_a_healthy_or_quiet_one_does_not(
    layout, settings
):
    settings.WPDASH_ALERT_SITE_MINUTES, settings.WPDASH_ALERT_SITE_MIN_REQUESTS = 5, 10
    settings.WPDASH_ALERT_SITE_5XX_PERCENT, settings.WPDASH_ALERT_SITE_P95_MS = 5, 3000
    traffic = {
        "broken.example": minutes_of("broken.example", 20, lambda i: 502 if i % 4 == 0 else 200, "0.120"),
        "healthy.example": minutes_of("healthy.example", 20, lambda i: 200, "0.080"),
        "slow.example": minutes_of("slow.example", 20, lambda i: 200, "4.500"),
        "quiet.example": minutes_of("quiet.example", 2, lambda i: 502, "9.000"),  # 2 a minute says nothing
    }
    for site, lines in traffic.items():
        layout.add_site(site)
        write_lines(layout.access_log(site), lines)

    async with running_counter():
        await until(lambda: SiteState.objects.filter(rebuilt_at__isnull=False).count() == 4, what="rebuilt")
        errors = await database_sync_to_async(SiteErrors().evaluate)(Facts(), set())
        slow = await database_sync_to_async(SiteSlow().evaluate)(Facts(), set())

    assert [finding.subject for finding in errors] == ["broken.example"]
    assert errors[0].evidence["value"] == 0.25
    assert "5xx answers at 25.0 %" in errors[0].summary
    assert [finding.subject for finding in slow] == ["slow.example"]
    assert "p95 response time at 4500 ms" in slow[0].summary


async def test_a_firing_site_stays_firing_while_the_span_is_above_even_if_one_minute_dips(layout, settings):
    settings.WPDASH_ALERT_SITE_MINUTES, settings.WPDASH_ALERT_SITE_MIN_REQUESTS = 5, 10
    settings.WPDASH_ALERT_SITE_5XX_PERCENT = 5
    lines = minutes_of("flaky.example", 20, lambda i: 502 if i % 4 == 0 else 200, "0.1", minutes=8)
    lines[-20:] = [line.replace('" 502 ', '" 200 ') for line in lines[-20:]]  # the last minute: no error
    layout.add_site("flaky.example")
    write_lines(layout.access_log("flaky.example"), lines)

    async with running_counter():
        await until(lambda: SiteState.objects.filter(rebuilt_at__isnull=False).exists(), what="rebuilt")
        fresh = await database_sync_to_async(SiteErrors().evaluate)(Facts(), set())
        firing = await database_sync_to_async(SiteErrors().evaluate)(Facts(), {"flaky.example"})

    assert fresh == []  # not every telling minute was above: it does not start firing
    assert [finding.subject for finding in firing] == ["flaky.example"]  # but a firing one stays

"""The counter's figures against an independent count of the same files, in the three formats,
across real rotations, restarts, malformed lines, an unreadable log and a site added while
it runs. The independent count below reads the files plainly, with none of the counter's code."""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from server_monitor.models import SiteBucket, SiteState
from tests.sites.conftest import running_counter, site_figures, until
from tests.support.logs import NginxLikeWriter, logrotate
from tests.support.sites import FORMATS, Traffic, write_lines

pytestmark = pytest.mark.django_db(transaction=True)

CACHE_STATUSES = {"HIT", "MISS", "BYPASS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED"}


# --- the independent count -------------------------------------------------------------


@dataclass
class Count:
    requests: int = 0
    classes: Counter = field(default_factory=Counter)
    sent: int = 0
    times: list[int] = field(default_factory=list)
    hits: int = 0
    cache_lines: int = 0
    unparsed: int = 0
    paths: Counter = field(default_factory=Counter)

    def percentile(self, percent: int) -> float | None:
        if not self.times:
            return None
        ordered = sorted(self.times)
        rank = math.ceil(percent * len(ordered) / 100)  # exact: percent and the count are integers
        return ordered[rank - 1] / 1000

    def expected(self) -> dict:
        return {
            "requests": self.requests,
            "responses_4xx": self.classes[4],
            "responses_5xx": self.classes[5],
            "bytes_sent": self.sent,
            "p50_seconds": self.percentile(50),
            "p95_seconds": self.percentile(95),
            "cache_hit_ratio": self.hits / self.cache_lines if self.cache_lines else None,
            "unparsed": self.unparsed,
        }


def fields_of(line: str, log_format: str) -> tuple[int, int, int, str, str, str] | None:
    """(time, status, bytes, upstream time, cache status, request) of one line, read by hand."""
    head, bracket, rest = line.partition(" [")
    if not bracket or rest[26:28] != "] ":
        return None
    try:
        when = int(datetime.strptime(rest[:26], "%d/%b/%Y:%H:%M:%S %z").timestamp())
    except ValueError:
        return None
    words = head.split(" ")
    if log_format == "combined":
        upstream, cache, after = "-", "-", rest[28:]
    else:
        upstream, cache = " ".join(words[1:-1]), words[-1]
        after = rest[28:].partition(" ")[2]  # the host comes first
    if not after.startswith('"'):
        return None
    request, quote, tail = after[1:].partition('" ')
    status, _, tail = tail.partition(" ")
    sent, _, tail = tail.partition(" ")
    if not quote or len(status) != 3 or not status.isdigit() or not sent.isdigit() or tail.count('"') != 4:
        return None
    return when, int(status), int(sent), upstream, cache, request


def count_by_hand(lines: list[str], log_format: str, since: int = 0) -> Count:
    """The figures of the lines stamped `since` or later. A line that is not of the format
    has no time of its own: it belongs to the next line that has one (or to now)."""
    count = Count()
    next_time = None
    for line in reversed(lines):
        fields = fields_of(line, log_format)
        if fields is None:
            count.unparsed += next_time is None or next_time >= since
            continue
        when, status, sent, upstream, cache, request = fields
        next_time = when
        if when < since:
            continue
        count.requests += 1
        count.classes[status // 100] += 1
        count.sent += sent
        if upstream != "-":
            count.times.append(sum(round(float(part) * 1000) for part in upstream.split(", ") if part != "-"))
        if cache in CACHE_STATUSES:
            count.cache_lines += 1
            count.hits += cache == "HIT"
        words = request.split(" ")
        if len(words) >= 2:
            count.paths[" ".join(words[1:-1] if len(words) > 2 else words[1:]).split("?")[0]] += 1
    return count


def figures_only(answer: dict) -> dict:
    return {key: answer[key] for key in Count().expected()}


def rows() -> int:
    return SiteBucket.objects.count()


# --- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("log_format", FORMATS)
async def test_the_counts_of_the_last_hours_match_an_independent_count(layout, log_format):
    site = f"{log_format.replace('_', '-')}.example"
    layout.add_site(site, log_format)
    log = layout.access_log(site)
    traffic = Traffic(site, log_format)
    now = time.time()
    # Before the counter starts (rebuilt), with quiet spells around the edges of the 1h
    # and 5m windows, so the windows hold the same lines whenever this test looks.
    traffic.between(now - 5 * 3600, now - 65 * 60, every=9, malformed_every=40)
    traffic.between(now - 55 * 60, now - 8 * 60, every=4, malformed_every=40)
    write_lines(log, traffic.lines)

    async with running_counter():
        await until(lambda: SiteState.objects.filter(site=site, rebuilt_at__isnull=False).exists(), what="rebuilt")
        rebuilt = await database_sync_to_async(site_figures)(site)
        writer = NginxLikeWriter(log)
        live = traffic.between(time.time() - 3 * 60, time.time(), every=1, malformed_every=25)
        writer.write(*live)
        writer.close()
        expected = count_by_hand(traffic.lines, log_format).expected()
        day = await until(
            lambda: (f := site_figures(site))["requests"] == expected["requests"] and f, what="live lines"
        )
        hour = await database_sync_to_async(site_figures)(site, "1h")
        five = await database_sync_to_async(site_figures)(site, "5m")

    before_live = count_by_hand(traffic.lines[: len(traffic.lines) - len(live)], log_format).expected()
    assert figures_only(rebuilt) == before_live
    assert figures_only(day) == expected
    assert figures_only(hour) == count_by_hand(traffic.lines, log_format, since=int(now) - 3600).expected()
    assert figures_only(five) == count_by_hand(live, log_format).expected()
    assert expected["unparsed"] > 0 and expected["responses_5xx"] > 0
    if log_format == "combined":
        assert (day["p50_seconds"], day["cache_hit_ratio"]) == (None, None)  # the format has neither
    else:
        assert day["p95_seconds"] is not None and day["cache_hit_ratio"] is not None


async def test_top_paths_are_exact_while_nothing_was_cut(layout):
    layout.add_site("example.com")
    traffic = Traffic("example.com", "rt_cache")
    traffic.between(time.time() - 3600, time.time() - 60, every=3)
    write_lines(layout.access_log("example.com"), traffic.lines)

    async with running_counter():
        day = await until(lambda: (f := site_figures("example.com"))["requests"] and f, what="counted")
        hour = await database_sync_to_async(site_figures)("example.com", "1h")  # minute rows, not ten-minute ones

    by_hand = count_by_hand(traffic.lines, "rt_cache").paths
    expected = dict(sorted(by_hand.items(), key=lambda item: (-item[1], item[0]))[:10])
    for answer in (day, hour):
        assert answer["top_lists_cut"]["paths"] == 0
        assert {item["path"]: item["requests"] for item in answer["top_paths"]} == expected


@pytest.mark.parametrize("mode", ["create", "copytruncate"])
async def test_every_line_is_counted_once_across_a_real_rotation(layout, mode):
    layout.add_site("example.com")
    log = layout.access_log("example.com")
    traffic = Traffic("example.com", "rt_cache")
    write_lines(log, traffic.between(time.time() - 1800, time.time() - 600, every=5))
    writer = NginxLikeWriter(log)

    async with running_counter():
        await until(lambda: SiteState.objects.filter(rebuilt_at__isnull=False).exists(), what="rebuilt")
        for round_number in range(6):
            writer.write(*traffic.between(time.time() - 60, time.time(), every=0.5))
            if round_number == 2:
                logrotate(log, mode)
                if mode == "create":
                    writer.write(*traffic.between(time.time() - 30, time.time(), every=1))  # still the old file
                    writer.reopen()  # nginx's USR1
        expected = count_by_hand(traffic.lines, "rt_cache").expected()
        answer = await until(
            lambda: (f := site_figures("example.com"))["requests"] == expected["requests"] and f, what="every line"
        )

    writer.close()
    assert figures_only(answer) == expected
    assert Path(f"{log}.1").exists()


async def test_a_restart_rebuilds_the_same_figures_and_counts_nothing_twice(layout):
    layout.add_site("example.com")
    log = layout.access_log("example.com")
    traffic = Traffic("example.com", "rt_cache")
    write_lines(log, traffic.between(time.time() - 6 * 3600, time.time() - 3 * 3600, every=6, malformed_every=30))
    logrotate(log, "create")  # yesterday's part is in access.log.1 now, as after a nightly rotation
    write_lines(log, traffic.between(time.time() - 3 * 3600, time.time() - 60, every=6, malformed_every=30))
    expected = count_by_hand(traffic.lines, "rt_cache").expected()

    async with running_counter():
        first = await until(lambda: (f := site_figures("example.com"))["requests"] and f, what="first run")
    first_rows = await database_sync_to_async(rows)()
    async with running_counter():
        again = first["rebuild"]["at"]
        await until(lambda: SiteState.objects.filter(rebuilt_at__gt=again).exists(), what="rebuilt again")
        second = await database_sync_to_async(site_figures)("example.com")

    assert figures_only(first) == figures_only(second) == expected
    assert await database_sync_to_async(rows)() == first_rows
    assert second["rebuild"]["stop"] == "logs" and second["rebuild"]["from"] <= int(time.time()) - 6 * 3600


async def test_the_rebuild_stops_at_its_budget_and_says_how_far_back_it_got(layout, settings):
    settings.WPDASH_SITES_REBUILD_BYTES = 1024 * 1024  # the smallest budget
    layout.add_site("example.com")
    traffic = Traffic("example.com", "rt_cache")
    write_lines(layout.access_log("example.com"), traffic.between(time.time() - 6 * 3600, time.time() - 60, every=1.2))
    assert layout.access_log("example.com").stat().st_size > 2 * 1024 * 1024

    async with running_counter():
        answer = await until(lambda: (f := site_figures("example.com"))["requests"] and f, what="rebuilt")

    rebuild = answer["rebuild"]
    assert rebuild["stop"] == "budget" and rebuild["bytes"] == 1024 * 1024
    assert answer["history_since"] == rebuild["from"] and rebuild["from"] % 600 == 0
    assert figures_only(answer) == count_by_hand(traffic.lines, "rt_cache", since=rebuild["from"]).expected() | {
        "unparsed": 0
    }


async def test_a_log_it_cannot_read_is_said_and_counted_once_it_can_be(layout, tmp_path):
    layout.add_site("example.com")
    log = layout.access_log("example.com")
    real = tmp_path / "elsewhere.log"
    traffic = Traffic("example.com", "rt_cache")
    write_lines(real, traffic.between(time.time() - 600, time.time() - 60, every=5))
    log.unlink()
    log.symlink_to(real)  # opened only as every log is: never through a link

    async with running_counter():
        state = await until(lambda: SiteState.objects.filter(reason__contains="symbolic link").first(), what="reason")
        listed = await database_sync_to_async(site_figures)("example.com")
        log.unlink()
        os.rename(real, log)
        answer = await until(lambda: (f := site_figures("example.com"))["requests"] and f, what="counted")

    assert "symbolic link" in state.reason
    assert (listed["available"], listed["requests"]) == (False, None)
    assert "symbolic link" in listed["reason"]
    assert answer["available"] is True
    assert figures_only(answer) == count_by_hand(traffic.lines, "rt_cache").expected()


async def test_a_site_enabled_while_it_runs_is_counted_without_a_restart(layout):
    layout.add_site("first.example")
    async with running_counter() as counter:
        await until(lambda: SiteState.objects.filter(site="first.example").exists(), what="first site")
        traffic = Traffic("later.example", "rt_cache_redis")
        write_lines(layout.access_log("later.example"), traffic.between(time.time() - 900, time.time(), every=2))
        layout.add_site("later.example", "rt_cache_redis")
        # The counter asks the configuration itself every discovery_seconds (0.2 s here, 15 s
        # in production): well within a minute, and not held up by the pages' 10 s discovery.
        await until(lambda: "later.example" in counter.followed, 5, "followed")
        followed = dict(counter.followed)
        answer = await until(lambda: (f := site_figures("later.example"))["requests"] and f, what="counted")

    assert set(followed) == {"first.example", "later.example"}
    assert figures_only(answer) == count_by_hand(traffic.lines, "rt_cache_redis").expected()


async def test_garbage_bytes_and_giant_lines_are_unparsed_and_shown_and_counting_goes_on(layout):
    layout.add_site("example.com")
    log = layout.access_log("example.com")
    traffic = Traffic("example.com", "rt_cache")
    writer = NginxLikeWriter(log)

    async with running_counter():
        await until(lambda: SiteState.objects.filter(rebuilt_at__isnull=False).exists(), what="rebuilt")
        writer.write(*traffic.between(time.time() - 30, time.time(), every=1))
        writer.write_raw(b"\xff\xfe\x00binary\x80 garbage\n" + b"x" * 40_000 + b"\n")
        writer.write(*traffic.between(time.time() - 20, time.time(), every=1))
        expected = count_by_hand(traffic.lines, "rt_cache").expected() | {"unparsed": 2}
        answer = await until(
            lambda: (f := site_figures("example.com"))["requests"] == expected["requests"] and f, what="after garbage"
        )

    writer.close()
    assert figures_only(answer) == expected
    assert any("binary" in sample for sample in answer["unparsed_samples"])

"""The rebuild after a restart, on real files and real rotations: where it stops, what it
replaces, and never a line twice when the log is rotated as the counter starts."""

from __future__ import annotations

import os
import threading
import time

import pytest

from server_monitor.adapters.nginx.log_format import LineParser
from server_monitor.workflows.sites import logfiles, rebuild
from server_monitor.workflows.sites.buckets import Counts
from tests.sites.test_site_counts import count_by_hand
from tests.support.logs import logrotate
from tests.support.sites import Traffic, write_lines

RT_CACHE = (
    '$remote_addr $upstream_response_time $upstream_cache_status [$time_local] $http_host "$request" $status '
    '$body_bytes_sent "$http_referer" "$http_user_agent"'
)
BUDGET = 64 * 1024 * 1024


@pytest.fixture
def log(tmp_path):
    folder = tmp_path / "nginx"
    folder.mkdir(mode=0o755)  # logrotate refuses group- or world-writable folders
    return folder / "example.com.access.log"


def rebuilt_from(log, budget: int = BUDGET) -> rebuild.Rebuilt:
    following = logfiles.start_following(str(log))
    try:
        return rebuild.rebuild(following, LineParser("rt_cache", RT_CACHE), budget)
    finally:
        following.close()


def total(buckets: dict[int, Counts]) -> Counts:
    merged = Counts()
    for counts in buckets.values():
        merged.merge(counts)
    return merged


def test_it_reads_back_through_plain_and_gzip_copies_and_stops_at_the_window(log):
    now = time.time()
    start = (int(now) - 86400) // 600 * 600  # the window's first ten minutes, counted by hand
    traffic = Traffic("example.com", "rt_cache")
    write_lines(log, traffic.between(now - 30 * 3600, start - 900, every=60))  # older than the window
    write_lines(log, traffic.between(start + 900, now - 12 * 3600, every=60))
    logrotate(log, "create", "compress")  # access.log.1.gz
    write_lines(log, traffic.between(now - 12 * 3600, now - 6 * 3600, every=60))
    logrotate(log, "create", "compress\n    delaycompress")  # access.log.1, the .gz becomes .2.gz
    write_lines(log, traffic.between(now - 6 * 3600, now - 60, every=60))
    assert sorted(path.name for path in log.parent.glob("*.log*")) == [
        "example.com.access.log",
        "example.com.access.log.1",
        "example.com.access.log.2.gz",
    ]

    rebuilt = rebuilt_from(log)

    assert (rebuilt.stop, rebuilt.bound) == ("window", start)
    counted = total(rebuilt.tens)
    by_hand = count_by_hand(traffic.lines, "rt_cache", since=start).expected()
    assert (counted.requests, counted.bytes_sent) == (by_hand["requests"], by_hand["bytes_sent"])
    assert counted.statuses[4] == by_hand["responses_5xx"]


def test_a_rotation_as_following_starts_never_counts_a_line_twice(log):
    traffic = Traffic("example.com", "rt_cache")
    write_lines(log, traffic.between(time.time() - 3600, time.time() - 60, every=5))
    following = logfiles.start_following(str(log))
    try:
        os.rename(log, f"{log}.1")  # logrotate's rename, right after the counter began to follow
        log.touch()
        rebuilt = rebuild.rebuild(following, LineParser("rt_cache", RT_CACHE), BUDGET)
    finally:
        following.close()

    assert total(rebuilt.tens).requests == count_by_hand(traffic.lines, "rt_cache").requests
    assert rebuilt.stop == "logs"


def test_a_gzip_copy_larger_than_what_is_left_of_the_budget_stops_it(log):
    traffic = Traffic("example.com", "rt_cache")
    old = traffic.between(time.time() - 20 * 3600, time.time() - 10 * 3600, every=1)
    write_lines(log, old)
    logrotate(log, "create", "compress")
    new = traffic.between(time.time() - 10 * 3600, time.time() - 60, every=8)
    write_lines(log, new)
    budget = log.stat().st_size + 1024  # the plain log and a little: not the copy's 8 MiB

    rebuilt = rebuilt_from(log, budget)

    assert rebuilt.stop == "budget"
    assert rebuilt.bound is not None and rebuilt.bound % 600 == 0
    kept = count_by_hand(traffic.lines, "rt_cache", since=rebuilt.bound).requests
    assert total(rebuilt.tens).requests == kept < len(new) + 1


def test_an_empty_log_without_copies_replaces_nothing(log):
    log.touch()

    rebuilt = rebuilt_from(log)

    assert (rebuilt.bound, rebuilt.tens, rebuilt.minutes) == (None, {}, {})


def test_reading_backwards_stops_at_the_first_line_before_the_window(log):
    now = time.time()
    start = (int(now) - 86400) // 600 * 600
    traffic = Traffic("example.com", "rt_cache")
    write_lines(log, traffic.between(now - 48 * 3600, start - 900, every=3))
    write_lines(log, traffic.between(start + 900, now - 60, every=3))

    rebuilt = rebuilt_from(log)

    assert (rebuilt.stop, rebuilt.bound) == ("window", start)
    assert rebuilt.bytes_read < log.stat().st_size * 0.7  # the day before the window is not read
    assert total(rebuilt.tens).requests == count_by_hand(traffic.lines, "rt_cache", since=start).requests


def test_a_stopping_counter_ends_the_rebuild_between_two_blocks(log):
    traffic = Traffic("example.com", "rt_cache")
    write_lines(log, traffic.between(time.time() - 3600, time.time() - 60, every=0.5))
    cancel = threading.Event()
    cancel.set()
    following = logfiles.start_following(str(log))
    try:
        with pytest.raises(rebuild.Cancelled):
            rebuild.rebuild(following, LineParser("rt_cache", RT_CACHE), BUDGET, cancel=cancel)
    finally:
        following.close()

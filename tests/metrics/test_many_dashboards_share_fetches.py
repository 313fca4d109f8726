"""Many open dashboards cost Netdata about one fetch per chart per cache interval."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from server_monitor.adapters.metrics import netdata as netdata_module
from server_monitor.adapters.metrics.cache import SingleFlightCache
from server_monitor.workflows import metrics
from tests.support.servers import wait_until

URL = "/api/v1/server/metrics"
CHARTS = set(netdata_module.CHARTS)


def test_100_concurrent_requests_cost_netdata_one_fetch_per_chart(netdata, settings, db, monkeypatch):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    settings.NETDATA_URL = netdata.url
    # All 100 must fall in one cache interval however slow this machine is: what is
    # under test is that they share fetches, not how fast they run.
    metrics.reset(cache_seconds=60.0)
    user = get_user_model().objects.create_user("dashboard", password=None)
    logged_before = netdata.data_requests()
    start = threading.Barrier(100)

    def one_dashboard(_: int) -> int:
        client = APIClient()
        client.force_authenticate(user)  # no session row: threads do not share the test database
        start.wait()
        return client.get(URL, {"range": "5m"}).status_code

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(one_dashboard, range(100)))

    assert statuses == [200] * 100
    assert metrics.netdata_client().fetches == Counter(dict.fromkeys(CHARTS, 1))

    def logged() -> Counter[str]:
        return netdata.data_requests() - logged_before

    wait_until(lambda: set(logged()) >= CHARTS, timeout=10, message="Netdata to log the fetches")
    assert logged() == Counter(dict.fromkeys(CHARTS, 1))  # Netdata's own access log agrees


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_now(function) -> None:
    function()


def test_a_value_is_reused_within_the_interval_and_fetched_again_after_it():
    clock = Clock()
    cache: SingleFlightCache[int] = SingleFlightCache(ttl=1.0, abandon_after=3.0, clock=clock)
    calls: list[float] = []

    def fetch() -> int:
        calls.append(clock.now)
        return len(calls)

    assert cache.get("cpu", fetch, run_now).result() == 1
    clock.now += 0.99
    assert cache.get("cpu", fetch, run_now).result() == 1
    clock.now += 0.02
    assert cache.get("cpu", fetch, run_now).result() == 2
    assert cache.get("ram", fetch, run_now).result() == 3  # keys are independent


def test_callers_arriving_during_a_fetch_wait_for_it_instead_of_fetching():
    cache: SingleFlightCache[str] = SingleFlightCache(ttl=1.0, abandon_after=30.0)
    release = threading.Event()
    calls = []

    def slow_fetch() -> str:
        calls.append(1)
        release.wait(10)
        return "answer"

    with ThreadPoolExecutor(max_workers=2) as runner:
        futures = [cache.get("cpu", slow_fetch, runner.submit) for _ in range(50)]
        release.set()
        results = [future.result(timeout=10) for future in futures]

    assert results == ["answer"] * 50
    assert calls == [1]


def test_a_failure_is_shared_for_the_interval_like_a_value():
    clock = Clock()
    cache: SingleFlightCache[object] = SingleFlightCache(ttl=1.0, abandon_after=3.0, clock=clock)
    calls = []

    def failing_fetch() -> object:
        calls.append(1)
        return metrics.MetricsUnavailable("Netdata is down")

    first = cache.get("cpu", failing_fetch, run_now).result()
    second = cache.get("cpu", failing_fetch, run_now).result()

    assert first is second
    assert calls == [1]


def test_a_fetch_stuck_past_the_deadline_is_replaced_by_a_new_one():
    clock = Clock()
    cache: SingleFlightCache[str] = SingleFlightCache(ttl=1.0, abandon_after=3.0, clock=clock)
    started: list[object] = []

    stuck = cache.get("cpu", lambda: "never", started.append)  # submitted, never run
    clock.now += 2.9
    assert cache.get("cpu", lambda: "never", started.append) is stuck
    clock.now += 0.2
    fresh = cache.get("cpu", lambda: "fresh", run_now)

    assert fresh is not stuck
    assert fresh.result() == "fresh"


def test_a_crashing_fetch_reaches_its_waiters_and_is_not_cached():
    cache: SingleFlightCache[str] = SingleFlightCache(ttl=60.0, abandon_after=3.0)

    def crash() -> str:
        raise RuntimeError("bug")

    pending: list = []
    future = cache.get("cpu", crash, pending.append)
    with pytest.raises(RuntimeError):
        pending[0]()

    with pytest.raises(RuntimeError, match="bug"):
        future.result(timeout=1)
    assert cache.get("cpu", lambda: "ok", run_now).result() == "ok"


def test_a_cached_window_is_shaped_once_and_no_range_changes_it(netdata, settings, db, monkeypatch):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    settings.NETDATA_URL = netdata.url
    metrics.reset(cache_seconds=60.0)
    shaped: list[str] = []
    shape = netdata_module.series.result

    def counting(source, range_, points):
        shaped.append(range_.name)
        return shape(source, range_, points)

    monkeypatch.setattr(netdata_module.series, "result", counting)

    five = metrics.get_metrics("5m")
    as_first_shaped = copy.deepcopy(five)
    hour = metrics.get_metrics("1h")  # takes its `current` values from the cached 5m answer
    again = metrics.get_metrics("5m")

    assert shaped == ["5m", "1h"]
    assert again == as_first_shaped
    assert {key: hour[key]["current"] for key in metrics.SERIES} == {
        key: five[key]["current"] for key in metrics.SERIES
    }


@pytest.mark.parametrize("range_name", ["5m", "1h", "24h"])
def test_while_the_charts_are_cached_every_request_gets_the_same_answer(netdata, settings, monkeypatch, range_name):
    """Shaped, and for 1h and 24h merged with the 5m card numbers, once per kept answer."""
    settings.WPDASH_METRICS_SOURCE = "netdata"
    settings.NETDATA_URL = netdata.url
    metrics.reset(cache_seconds=60.0)
    first = metrics.get_metrics(range_name)
    again = metrics.get_metrics(range_name)
    assert again is first
    metrics.reset(cache_seconds=60.0)  # the interval is over: charts fetched, shaped and merged anew
    fresh = metrics.get_metrics(range_name)
    assert fresh is not first  # new charts: shaped and merged anew
    assert metrics.get_metrics(range_name) is fresh

"""Against a real Netdata: our numbers are Netdata's own, for the same window.

The reference is computed here from Netdata's direct /api/v1/data answer with the
plainest possible arithmetic, independently of the adapter's code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from server_monitor import caching
from server_monitor.adapters.metrics.windows import RANGES, Range
from server_monitor.workflows import metrics
from tests.support.netdata import NetdataServer
from tests.support.servers import wait_until

URL = "/api/v1/server/metrics"
KEYS = ("cpu", "ram", "disk", "disk_io", "network_in", "network_out")
CHARTS = ("system.cpu", "system.ram", "system.io", "system.net", "disk_space._")


@pytest.fixture
def netdata_source(settings, netdata: NetdataServer) -> NetdataServer:
    settings.WPDASH_METRICS_SOURCE = "netdata"
    settings.NETDATA_URL = netdata.url
    return netdata


def direct_answers(netdata: NetdataServer, range_: Range, **window: int) -> dict[str, Any]:
    answers = {}
    for chart in CHARTS:
        if chart == "disk_space._" and not netdata.has_chart(chart):
            answers[chart] = None
            continue
        answers[chart] = netdata.data(chart, after=-range_.seconds, points=range_.points, group="average", **window)
    return answers


def column(answer: dict[str, Any], label: str) -> dict[int, float | None]:
    index = answer["labels"].index(label)
    return {row[0]: row[index] for row in answer["data"]}


def percent(part: float | None, whole: float | None) -> float | None:
    # A total of 0 happens in Netdata's first, still-empty group: that is "no data".
    return None if part is None or not whole else 100 * part / whole


def reference(answers: dict[str, Any]) -> dict[str, dict[int, float | None]]:
    """What each series must be, straight from Netdata's rows."""
    expected: dict[str, dict[int, float | None]] = {}
    cpu = answers["system.cpu"]
    expected["cpu"] = {
        row[0]: None if all(v is None for v in row[1:]) else sum(v for v in row[1:] if v is not None)
        for row in cpu["data"]
    }
    ram = answers["system.ram"]
    used = ram["labels"].index("used")
    expected["ram"] = {row[0]: None if None in row else percent(row[used], sum(row[1:])) for row in ram["data"]}
    reads, writes = column(answers["system.io"], "in"), column(answers["system.io"], "out")
    expected["disk_io"] = {t: None if reads[t] is None else reads[t] - writes[t] for t in reads}  # out is negative
    expected["network_in"] = column(answers["system.net"], "received")
    sent = column(answers["system.net"], "sent")
    expected["network_out"] = {t: None if value is None else -value for t, value in sent.items()}
    if answers["disk_space._"] is not None:
        disk_used, avail = column(answers["disk_space._"], "used"), column(answers["disk_space._"], "avail")
        expected["disk"] = {
            t: None if avail[t] is None else percent(disk_used[t], (disk_used[t] or 0) + avail[t]) for t in disk_used
        }
    return expected


def assert_matches(ours: dict[str, Any], expected: dict[str, dict[int, float | None]]) -> None:
    for key, by_time in expected.items():
        points = ours[key]["points"]
        assert [point["timestamp"] for point in points] == sorted(by_time), key
        for point in points:
            want = by_time[point["timestamp"]]
            if want is None:
                assert point["value"] is None, (key, point)
            else:
                assert point["value"] == pytest.approx(want, abs=0.0051), (key, point)  # 2-decimal rounding
    if "disk" not in expected:  # this host's Netdata has no chart for "/": measured locally
        usage = psutil.disk_usage("/")
        assert ours["disk"]["current"] == pytest.approx(100 * usage.used / (usage.used + usage.free), abs=0.5)


def window_with_data(netdata: NetdataServer, range_: Range) -> int:
    """A past second (fully collected, so every query of it gets the same rows) whose
    window already holds CPU data: a fresh Netdata needs a few seconds for that."""
    found: list[int] = []

    def has_data() -> bool:
        before = int(time.time()) - 2
        rows = netdata.data("system.cpu", after=-range_.seconds, before=before, points=range_.points)["data"]
        found.append(before)
        return any(row[1] is not None for row in rows)

    wait_until(has_data, timeout=20, interval=0.5, message=f"CPU data in Netdata's {range_.name} window")
    return found[-1]


def bracketed(netdata: NetdataServer, range_: Range, ours: Callable[[], Any], **window: int) -> tuple[Any, Any]:
    """Our answer, with Netdata's direct answers for the same window just before and
    just after it; retried until those two agree, so ours saw the very same data
    (a window moves every 5 s, and Netdata may still revise its newest second)."""
    for _ in range(10):
        first = direct_answers(netdata, range_, **window)
        caching.clear_all()
        answer = ours()
        if direct_answers(netdata, range_, **window) == first:
            return answer, first
    pytest.fail("Netdata's answer changed during every attempt")


@pytest.mark.parametrize("range_name", list(RANGES))
def test_our_numbers_equal_netdatas_own_for_a_fixed_window(netdata_source, range_name):
    range_ = RANGES[range_name]
    before = window_with_data(netdata_source, range_)

    def local_disk(range_: Range) -> list[Any]:
        return metrics.sampler().points(range_)["disk"]

    ours, direct = bracketed(
        netdata_source, range_, lambda: metrics.netdata_client().metrics(range_, local_disk, before), before=before
    )

    assert ours["source"] == "netdata"
    assert_matches(ours, reference(direct))
    assert sum(point["value"] is not None for point in ours["cpu"]["points"]) >= 1


def test_the_endpoint_answers_what_netdata_answers_at_that_moment(netdata_source, viewer_client):
    response, direct = bracketed(netdata_source, RANGES["5m"], lambda: viewer_client.get(URL, {"range": "5m"}))

    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "netdata"
    assert body["range"] == "5m"
    assert_matches(body, reference(direct))


def test_points_are_oldest_first_and_current_is_the_newest_point(netdata_source, viewer_client):
    answers: list[dict[str, Any]] = []

    def newest_point_has_data() -> bool:
        caching.clear_all()
        answers.append(viewer_client.get(URL, {"range": "5m"}).json())
        return all(answers[-1][key]["points"][-1]["value"] is not None for key in KEYS)

    wait_until(newest_point_has_data, timeout=20, interval=0.5, message="data in the newest 5m points")
    body = answers[-1]

    for key in KEYS:
        points = body[key]["points"]
        stamps = [point["timestamp"] for point in points]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), key
        assert body[key]["current"] == points[-1]["value"], key
    assert len(body["cpu"]["points"]) <= RANGES["5m"].points

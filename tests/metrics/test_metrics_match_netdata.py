"""Against a real Netdata: our numbers are Netdata's own, for the same window.

The reference is computed here from Netdata's direct /api/v1/data answer with the
plainest possible arithmetic, independently of the adapter's code.
"""

from __future__ import annotations

import time
from typing import Any

import psutil
import pytest

from server_monitor import metrics
from server_monitor.metrics.shape import RANGES, Range
from tests.metrics.netdata_server import NetdataServer

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
    expected["ram"] = {row[0]: None if row[used] is None else 100 * row[used] / sum(row[1:]) for row in ram["data"]}
    reads, writes = column(answers["system.io"], "in"), column(answers["system.io"], "out")
    expected["disk_io"] = {t: None if reads[t] is None else reads[t] - writes[t] for t in reads}  # out is negative
    expected["network_in"] = column(answers["system.net"], "received")
    sent = column(answers["system.net"], "sent")
    expected["network_out"] = {t: None if value is None else -value for t, value in sent.items()}
    if answers["disk_space._"] is not None:
        disk_used, avail = column(answers["disk_space._"], "used"), column(answers["disk_space._"], "avail")
        expected["disk"] = {
            t: None if disk_used[t] is None else 100 * disk_used[t] / (disk_used[t] + avail[t]) for t in disk_used
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


@pytest.mark.parametrize("range_name", list(RANGES))
def test_our_numbers_equal_netdatas_own_for_a_fixed_window(netdata_source, range_name):
    range_ = RANGES[range_name]
    before = int(time.time()) - 2  # a past second: fully collected, so both queries see the same data

    ours = metrics.netdata_client().metrics(range_, lambda range_: metrics.sampler().points(range_)["disk"], before)
    expected = reference(direct_answers(netdata_source, range_, before=before))

    assert ours["source"] == "netdata"
    assert_matches(ours, expected)
    assert sum(point["value"] is not None for point in ours["cpu"]["points"]) >= 1


def test_the_endpoint_answers_what_netdata_answers_at_that_moment(netdata_source, viewer_client):
    range_ = RANGES["5m"]
    for _ in range(10):
        first = direct_answers(netdata_source, range_)
        metrics.netdata_client().cache.clear()
        response = viewer_client.get(URL, {"range": "5m"})
        second = direct_answers(netdata_source, range_)
        if first == second:  # the aligned window did not move while we asked
            break
    else:
        pytest.fail("Netdata's window moved during every attempt")

    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "netdata"
    assert body["range"] == "5m"
    assert_matches(body, reference(first))


def test_points_are_oldest_first_and_current_is_the_newest_point(netdata_source, viewer_client):
    body = viewer_client.get(URL, {"range": "5m"}).json()

    for key in KEYS:
        points = body[key]["points"]
        stamps = [point["timestamp"] for point in points]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), key
        newest = next(point["value"] for point in reversed(points) if point["value"] is not None)
        assert body[key]["current"] == newest, key
    # Netdata has been collecting all along: the newest point holds data.
    assert body["cpu"]["points"][-1]["value"] == body["cpu"]["current"]
    assert len(body["cpu"]["points"]) <= RANGES["5m"].points

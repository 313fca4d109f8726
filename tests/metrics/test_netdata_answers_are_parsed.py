"""The series math on real, recorded Netdata 1.37 answers (tests/fixtures/netdata/)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server_monitor.adapters.metrics import netdata, series
from server_monitor.adapters.metrics.series import MetricsUnavailable
from tests.support.fake_netdata import recorded


def answer(chart: str) -> dict[str, Any]:
    return json.loads(recorded(f"v1-data-{chart}-5m-60pts.json"))


def chart_series(key: str, chart: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    data = netdata.parse_data(answer(chart) if payload is None else payload, chart)
    maths = {
        "cpu": netdata.cpu_points,
        "ram": netdata.ram_points,
        "disk_io": netdata.io_points,
        "network_in": lambda data: netdata.net_points(data, "received"),
        "network_out": lambda data: netdata.net_points(data, "sent"),
        "disk": netdata.disk_points,
    }
    return series.series(key, maths[key](data))


def test_newest_first_rows_come_out_oldest_first():
    cpu = chart_series("cpu", "system.cpu")
    stamps = [point["timestamp"] for point in cpu["points"]]

    assert len(stamps) == 60
    assert stamps == sorted(stamps)
    assert stamps[0] == 1795316460
    assert stamps[-1] == 1795316755


def test_cpu_is_the_sum_of_the_busy_dimensions():
    cpu = chart_series("cpu", "system.cpu")

    # Newest row: softirq, user, system, nice, iowait (guest*, steal, irq are 0).
    assert cpu["current"] == round(0.2088787 + 15.0338367 + 11.8195912 + 1.2582325 + 0.104712, 2) == 28.43
    assert cpu["points"][-2]["value"] == round(0.4205189 + 5.2567186 + 1.1579354, 2)
    assert cpu["unit"] == "%"


def test_cpu_is_100_minus_idle_when_netdata_shows_idle():
    payload = {"labels": ["time", "user", "idle"], "data": [[20, 10.0, 75.5], [10, 5.0, None]]}

    cpu = chart_series("cpu", "system.cpu", payload)

    assert [point["value"] for point in cpu["points"]] == [None, 24.5]


def test_ram_is_used_over_the_sum_of_all_dimensions():
    ram = chart_series("ram", "system.ram")

    # free, used, cached, buffers add up to MemTotal.
    expected = 100 * 247.87028 / (1577.0977 + 247.87028 + 133.96406 + 6.0289064)
    assert ram["current"] == round(expected, 2) == 12.61
    assert ram["points"][-1]["timestamp"] == 1795316755


def test_disk_io_adds_reads_to_the_absolute_negative_writes():
    disk_io = chart_series("disk_io", "system.io")
    by_time = {point["timestamp"]: point["value"] for point in disk_io["points"]}

    assert disk_io["current"] == round(11.578956 + 72.31378, 2) == 83.89
    assert by_time[1795316740] == round(13.8127062 + 4018.3705632, 2)
    assert by_time[1795316730] == 21.36  # out was 0 there
    assert disk_io["unit"] == "KiB/s"


def test_network_out_is_the_absolute_value_of_the_negative_sent_dimension():
    network_in = chart_series("network_in", "system.net")
    network_out = chart_series("network_out", "system.net")

    assert network_in["current"] == 36.11
    assert network_out["current"] == 55.75
    assert all(point["value"] is None or point["value"] >= 0 for point in network_out["points"])
    assert network_out["unit"] == "kbit/s"


def test_disk_is_used_over_used_plus_available_as_df_prints_it():
    payload = json.loads(recorded("v1-data-disk_space._var_log-5m-60pts.json"))

    disk = chart_series("disk", "disk_space._", payload)

    # Newest row: avail 6.148235, used 1.2129631, reserved for root 0.4156227 GiB.
    assert disk["current"] == round(100 * 1.2129631 / (1.2129631 + 6.148235), 2) == 16.48


def test_seconds_before_netdata_started_stay_null_not_zero():
    for key, chart in [("cpu", "system.cpu"), ("ram", "system.ram"), ("disk_io", "system.io")]:
        series = chart_series(key, chart)
        values = [point["value"] for point in series["points"]]

        assert values[:48] == [None] * 48, key
        assert None not in values[-6:], key


def test_current_is_the_newest_non_null_value():
    payload = answer("system.cpu")
    payload["data"][0] = [payload["data"][0][0]] + [None] * 9  # the newest row lost

    cpu = chart_series("cpu", "system.cpu", payload)

    assert cpu["points"][-1]["value"] is None
    assert cpu["current"] == round(0.4205189 + 5.2567186 + 1.1579354, 2)


def test_an_empty_window_has_no_points_and_no_current_value():
    payload = {"labels": ["time", "received", "sent"], "data": []}

    network_in = chart_series("network_in", "system.net", payload)

    assert network_in["points"] == []
    assert network_in["current"] is None


def test_a_window_of_only_nulls_has_no_current_value():
    payload = {"labels": ["time", "in", "out"], "data": [[10, None, None], [5, None, None]]}

    disk_io = chart_series("disk_io", "system.io", payload)

    assert [point["value"] for point in disk_io["points"]] == [None, None]
    assert disk_io["current"] is None


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"data": []},
        {"labels": ["when", "in", "out"], "data": []},
        {"labels": ["time", "in"], "data": []},  # no "out"
        {"labels": ["time", "in", "out"], "data": [[1, 2]]},
        {"labels": ["time", "in", "out"], "data": [[1, "2", 3]]},
        {"labels": ["time", "in", "out"], "data": [[1, True, 3]]},
        {"labels": ["time", "in", "out"], "data": {"rows": []}},
    ],
)
def test_an_unexpected_shape_is_refused_with_a_reason(payload):
    with pytest.raises(MetricsUnavailable, match="unexpected shape"):
        netdata.parse_data(payload, "system.io")

"""The psutil source: the in-process history, counters turned into rates, the windows.

The sampler is driven directly (its sample() with our own clock) instead of waiting
for its thread, so these tests are exact and take no time.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading

import pytest

from server_monitor.adapters.metrics.sampler import RAW_SAMPLES, LocalSampler, Reading
from server_monitor.adapters.metrics.windows import RANGES
from server_monitor.workflows import metrics

T0 = 1_800_000_000.0  # a multiple of 600: windows line up with it
BASE = Reading(
    cpu_total=1000.0,
    cpu_idle=800.0,
    ram_percent=40.0,
    disk_percent=55.0,
    disk_bytes=10_000_000,
    net_received=5_000_000,
    net_sent=7_000_000,
)


class ScriptedHost:
    """Stands in for psutil with counters that grow by a fixed amount per reading."""

    def __init__(self, **step: float) -> None:
        self.reading = BASE
        self.step = step
        self.readings = 0

    def __call__(self) -> Reading:
        if self.readings:
            self.reading = dataclasses.replace(
                self.reading, **{name: getattr(self.reading, name) + delta for name, delta in self.step.items()}
            )
        self.readings += 1
        return self.reading


def sampled(host: ScriptedHost, count: int, every: float = 5.0, start: float = T0 + 2.5) -> LocalSampler:
    sampler = LocalSampler(reader=host)
    for index in range(count):
        sampler.sample(now=start + index * every)
    return sampler


def values(points: list[tuple[int, float | None]]) -> list[float | None]:
    return [value for _, value in points]


def test_counters_become_rates_in_netdatas_units():
    # Every 5 s: 10 CPU-seconds of which 7.5 idle, 512000 bytes of disk I/O,
    # 62500 bytes received and 125000 sent.
    host = ScriptedHost(cpu_total=10.0, cpu_idle=7.5, disk_bytes=512_000, net_received=62_500, net_sent=125_000)
    sampler = sampled(host, 2)

    points = sampler.points(RANGES["5m"], now=T0 + 10)

    assert points["cpu"][-1][1] == 25.0  # % busy
    assert points["disk_io"][-1][1] == 100.0  # 512000 B / 5 s / 1024 = KiB/s
    assert points["network_in"][-1][1] == 100.0  # 62500 B / 5 s * 8 / 1000 = kbit/s
    assert points["network_out"][-1][1] == 200.0
    assert points["ram"][-1][1] == 40.0
    assert points["disk"][-1][1] == 55.0


def test_the_first_sample_has_levels_but_no_rates_yet():
    first = LocalSampler(reader=ScriptedHost()).sample(now=T0)

    cpu, ram, disk, disk_io, network_in, network_out = first
    assert (ram, disk) == (40.0, 55.0)
    assert (cpu, disk_io, network_in, network_out) == (None, None, None, None)


def test_a_counter_reset_is_a_gap_not_a_negative_rate():
    host = ScriptedHost(net_received=-1_000)  # e.g. an interface that came back
    sampler = sampled(host, 2)

    assert sampler.points(RANGES["5m"], now=T0 + 10)["network_in"][-1][1] is None


def test_history_accumulates_one_point_per_sample_oldest_first():
    sampler = sampled(ScriptedHost(cpu_total=10.0, cpu_idle=5.0), 12)  # one minute

    cpu = sampler.points(RANGES["5m"], now=T0 + 60)["cpu"]

    assert len(cpu) == 60
    assert [t for t, _ in cpu] == sorted(t for t, _ in cpu)
    assert values(cpu)[:48] == [None] * 48  # before the process started
    assert values(cpu)[48:] == [None] + [50.0] * 11  # the first sample has no rate
    assert cpu[-1][0] == T0 + 60


def test_the_1h_window_holds_a_full_hour_at_one_point_a_minute():
    host = ScriptedHost(cpu_total=10.0, cpu_idle=9.0)
    sampler = sampled(host, 2 * 720)  # two hours of 5-second samples

    cpu = sampler.points(RANGES["1h"], now=T0 + 7200)["cpu"]

    assert len(cpu) == 60
    assert values(cpu) == [pytest.approx(10.0)] * 60
    assert {b - a for (a, _), (b, _) in itertools.pairwise(cpu)} == {60}


def test_the_24h_window_goes_back_to_the_process_start_from_minute_averages():
    host = ScriptedHost(cpu_total=10.0, cpu_idle=7.0)
    sampler = sampled(host, 2 * 720)  # two hours: more than the raw history keeps

    cpu = sampler.points(RANGES["24h"], now=T0 + 7200)["cpu"]

    assert len(cpu) == 144
    assert values(cpu)[:-12] == [None] * 132  # 22 hours before the process started
    assert values(cpu)[-12:] == [pytest.approx(30.0)] * 12  # two hours, 10 minutes a point
    assert len(sampler._raw) == RAW_SAMPLES  # raw samples stay bounded to an hour


def test_real_psutil_readings_fill_the_history(settings):
    sampler = LocalSampler()  # the real host, read through psutil
    for index in range(3):
        sampler.sample(now=T0 + 2.5 + 5 * index)

    points = sampler.points(RANGES["5m"], now=T0 + 15)

    for key in ("ram", "disk"):
        assert all(0 < value <= 100 for value in values(points[key])[-3:]), key


def test_the_sampler_thread_starts_on_first_use_and_samples_at_once():
    assert not any(thread.name == "wpdash-metrics-sampler" for thread in threading.enumerate())

    sampler = metrics.sampler()

    assert any(thread.name == "wpdash-metrics-sampler" for thread in threading.enumerate())
    assert metrics.sampler() is sampler
    assert values(sampler.points(RANGES["5m"])["ram"])[-1] is not None

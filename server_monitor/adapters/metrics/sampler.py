"""Local sampling with psutil, for hosts without Netdata.

psutil only knows "now", so an in-process sampler keeps the history: a daemon
thread, started on first use, takes a sample every SAMPLE_SECONDS. It keeps one hour
of raw samples (the 5m and 1h windows) and 24 hours of one-minute averages (the
24h window). History starts when the process does: right after a restart the
windows are mostly null, and each dashboard process keeps its own.

The definitions follow Netdata's charts so both sources mean the same thing:
cpu = 100 - idle % over the interval (iowait counts as busy, as in system.cpu);
ram = used / total %, used excluding buffers and page cache (psutil's ``used``,
Netdata's ``used``); disk = used / (used + available) % of / (as df prints it);
disk_io = bytes read + written per second in KiB/s; network = bytes per second of
the physical interfaces (not lo, bridges or veths, like system.net) in kbit/s.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil

from server_monitor.adapters.metrics.series import SERIES, Point
from server_monitor.adapters.metrics.windows import Range, bucket_ends, bucket_index

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 5.0
RAW_SAMPLES = int(3600 / SAMPLE_SECONDS) + 2  # one hour, plus the partial ends
MINUTE_SAMPLES = 24 * 60 + 2  # one day of one-minute averages
VIRTUAL_NET = "/sys/devices/virtual/net"
ROOT = "/"

Values = tuple["float | None", ...]  # in SERIES order
Sample = tuple[float, Values]  # (Unix time, values)


@dataclass(frozen=True)
class Reading:
    """What the host says at one moment; counters are totals since boot."""

    cpu_total: float  # seconds
    cpu_idle: float
    ram_percent: float | None
    disk_percent: float | None
    disk_bytes: int | None  # read + written
    net_received: int | None  # bytes, physical interfaces
    net_sent: int | None


def _physical(interface: str) -> bool:
    # Linux lists software interfaces (lo, bridges, veths, tunnels) here; Netdata's
    # system.net leaves them out, and so do we.
    if os.path.isdir(VIRTUAL_NET):
        return not os.path.exists(os.path.join(VIRTUAL_NET, interface))
    return interface != "lo"


def read_host() -> Reading:
    times = psutil.cpu_times()
    # guest and guest_nice are already inside user and nice.
    busy = sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "iowait", "irq", "softirq", "steal"))
    memory = psutil.virtual_memory()
    try:
        disk = psutil.disk_usage(ROOT)
        disk_percent: float | None = 100.0 * disk.used / (disk.used + disk.free) if disk.used + disk.free else None
    except OSError:
        disk_percent = None
    io = psutil.disk_io_counters()  # None where the kernel exposes no disks (some containers)
    nics = {name: counters for name, counters in psutil.net_io_counters(pernic=True).items() if _physical(name)}
    return Reading(
        cpu_total=busy + times.idle,
        cpu_idle=times.idle,
        ram_percent=100.0 * memory.used / memory.total if memory.total else None,
        disk_percent=disk_percent,
        disk_bytes=None if io is None else io.read_bytes + io.write_bytes,
        net_received=sum(counters.bytes_recv for counters in nics.values()) if nics else None,
        net_sent=sum(counters.bytes_sent for counters in nics.values()) if nics else None,
    )


def _rate(before: int | None, after: int | None, seconds: float) -> float | None:
    if before is None or after is None or after < before:  # a counter reset is no data
        return None
    return (after - before) / seconds


def _mean(samples: Sequence[Sample]) -> Sample:
    columns: list[float | None] = []
    for index in range(len(SERIES)):
        present = [value for _, values in samples if (value := values[index]) is not None]
        columns.append(sum(present) / len(present) if present else None)
    return samples[-1][0], tuple(columns)


class LocalSampler:
    def __init__(self, reader: Callable[[], Reading] = read_host, interval: float = SAMPLE_SECONDS) -> None:
        self.reader = reader
        self.interval = interval
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._raw: deque[Sample] = deque(maxlen=RAW_SAMPLES)
        self._minutes: deque[Sample] = deque(maxlen=MINUTE_SAMPLES)
        self._this_minute: list[Sample] = []
        self._previous: tuple[float, Reading] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def sample(self, now: float | None = None) -> Values:
        """Read the host once and append to the history (the thread calls this; tests
        call it directly with their own `now`)."""
        now = time.time() if now is None else now
        reading = self.reader()
        cpu = disk_io = net_in = net_out = None
        with self._lock:
            previous = self._previous
            if previous is not None and now > previous[0]:
                seconds, last = now - previous[0], previous[1]
                spent = reading.cpu_total - last.cpu_total
                if spent > 0:
                    cpu = min(100.0, max(0.0, 100.0 * (1.0 - (reading.cpu_idle - last.cpu_idle) / spent)))
                io = _rate(last.disk_bytes, reading.disk_bytes, seconds)
                received = _rate(last.net_received, reading.net_received, seconds)
                sent = _rate(last.net_sent, reading.net_sent, seconds)
                disk_io = None if io is None else io / 1024  # KiB/s
                net_in = None if received is None else received * 8 / 1000  # kbit/s, as Netdata counts
                net_out = None if sent is None else sent * 8 / 1000
            values: Values = (cpu, reading.ram_percent, reading.disk_percent, disk_io, net_in, net_out)
            self._previous = (now, reading)
            self._append((now, values))
        return values

    def _append(self, sample: Sample) -> None:
        if self._this_minute and math.floor(self._this_minute[-1][0] / 60) != math.floor(sample[0] / 60):
            self._minutes.append(_mean(self._this_minute))
            self._this_minute = []
        self._this_minute.append(sample)
        self._raw.append(sample)

    def points(self, range_: Range, now: float | None = None) -> dict[str, list[Point]]:
        """The window ending now, averaged into `range_.points` points of `range_.step`
        seconds, aligned like Netdata's (each point is labelled with the end of its
        interval; the newest, still filling, with `now`). Empty intervals are null."""
        now = time.time() if now is None else now
        with self._lock:
            if range_.seconds <= 3600:
                samples = list(self._raw)
            else:
                samples = [*self._minutes, *self._this_minute]
        count = range_.points
        stamps = bucket_ends(range_, now)
        buckets: list[list[Sample]] = [[] for _ in range(count)]
        for sample in samples:
            index = bucket_index(range_, now, sample[0])
            if index is not None:
                buckets[index].append(sample)
        means = [_mean(bucket)[1] if bucket else (None,) * len(SERIES) for bucket in buckets]
        return {
            key: [(stamps[index], means[index][column]) for index in range(count)] for column, key in enumerate(SERIES)
        }

    def ensure_started(self) -> None:
        """Start the sampling thread once; the first sample is taken right here so the
        first answer already has ram and disk (rates need a second sample)."""
        if self._thread is not None:
            return
        with self._start_lock:  # concurrent first requests all wait for that first sample
            if self._thread is not None:
                return
            self._sample_safely()
            thread = threading.Thread(target=self._run, name="wpdash-metrics-sampler", daemon=True)
            thread.start()
            self._thread = thread

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _sample_safely(self) -> None:
        try:
            self.sample()
        except Exception:  # a failed read must not kill the thread; the gap shows as null
            logger.exception("local metrics sample failed")

    def _run(self) -> None:
        while True:
            # Sample mid-interval so scheduling jitter never puts two samples (or none)
            # into one 5-second point.
            now = time.time()
            delay = self.interval - (now % self.interval) + self.interval / 2
            if delay > self.interval:
                delay -= self.interval
            if delay < 1.0:  # right after the first sample: a rate over a few ms is noise
                delay += self.interval
            if self._stop.wait(delay):
                return
            self._sample_safely()

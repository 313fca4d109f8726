"""Netdata client: /api/v1/data over one pooled requests session.

Only /api/v1/data is used because every Netdata version answers it (1.37, which
Debian 12 ships, has no v2/v3). What its answers look like (see
tests/fixtures/netdata/): ``{"labels": ["time", dim…], "data": [[t, v…], …]}`` with
rows newest first, outgoing dimensions (system.net ``sent``, system.io ``out``)
negative, ``null`` for seconds before Netdata started, and ``points=N`` averaging
the window into N rows aligned to multiples of the row width.

The query of each window comes from adapters.metrics.windows. Left out on purpose:
``flip`` (rows are sorted by timestamp here, so either order parses) and ``abs``
(absolute values are taken here, so negatives are handled whether or not the option
is honoured).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from server_monitor import caching
from server_monitor.adapters.metrics import series
from server_monitor.adapters.metrics.cache import SingleFlightCache
from server_monitor.adapters.metrics.series import MetricsUnavailable, Point
from server_monitor.adapters.metrics.windows import Range, netdata_query

logger = logging.getLogger(__name__)

# Netdata runs on the same host and answers in milliseconds; a dashboard would
# rather show "unavailable" quickly than hang. Module attributes so tests can shrink them.
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
# The whole fetch (connect, answer, body) must finish within this; waiters give up then.
DEADLINE = CONNECT_TIMEOUT + READ_TIMEOUT
# About one Netdata update interval (update every = 1 s by default).
CACHE_SECONDS = 1.0
# Five charts per range, three ranges: every distinct fetch can run at once.
POOL_SIZE = 16
# A 144-point answer is a few KiB; anything near this is not Netdata talking.
MAX_BODY_BYTES = 1024 * 1024

ROOT_DISK_CHART = "disk_space._"
# chart -> dimensions the series math needs (by label; Netdata labels are names).
CHARTS: dict[str, tuple[str, ...]] = {
    "system.cpu": (),
    "system.ram": ("used",),
    "system.io": ("in", "out"),
    "system.net": ("received", "sent"),
    ROOT_DISK_CHART: ("used", "avail"),
}


@dataclass(frozen=True)
class ChartData:
    chart: str
    dims: tuple[str, ...]
    rows: tuple[tuple[int, tuple[float | None, ...]], ...]  # oldest first

    def column(self, dim: str) -> int:
        return self.dims.index(dim)


class NoSuchChart:
    """Netdata answered 404 for a chart that may legitimately be absent (disk_space._)."""


NO_SUCH_CHART = NoSuchChart()
Outcome = ChartData | NoSuchChart | MetricsUnavailable


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_data(payload: Any, chart: str) -> ChartData:
    """Validate one /api/v1/data?format=json answer; rows come back oldest first."""

    def bad(why: str) -> MetricsUnavailable:
        return MetricsUnavailable(f"Netdata answered {chart} in an unexpected shape: {why}")

    if not isinstance(payload, dict):
        raise bad("not a JSON object")
    labels, data = payload.get("labels"), payload.get("data")
    if not isinstance(labels, list) or not labels or labels[0] != "time":
        raise bad("no labels starting with 'time'")
    if not all(isinstance(label, str) for label in labels) or not isinstance(data, list):
        raise bad("labels or data of the wrong type")
    dims = tuple(labels[1:])
    missing = [dim for dim in CHARTS.get(chart, ()) if dim not in dims]
    if missing or not dims:
        raise bad(f"missing dimension(s) {', '.join(missing) or 'all'}")
    rows = []
    for row in data:
        if not isinstance(row, list) or len(row) != len(labels) or not _number(row[0]):
            raise bad("a row does not match the labels")
        values = row[1:]
        if not all(value is None or _number(value) for value in values):
            raise bad("a value is neither a number nor null")
        rows.append((int(row[0]), tuple(None if value is None else float(value) for value in values)))
    rows.sort(key=lambda row: row[0])
    return ChartData(chart=chart, dims=dims, rows=tuple(rows))


# --- series math: one function per series, on validated chart data ------------------


def cpu_points(data: ChartData) -> list[Point]:
    """Busy %: 100 - idle when Netdata shows idle, else the sum of the busy dimensions
    (system.cpu hides idle, so its visible dimensions are exactly the busy ones)."""
    if "idle" in data.dims:
        idle = data.column("idle")
        return [(t, _map(values[idle], lambda value: 100.0 - value)) for t, values in data.rows]
    points: list[Point] = []
    for t, values in data.rows:
        present = [value for value in values if value is not None]
        points.append((t, sum(present) if present else None))
    return points


def ram_points(data: ChartData) -> list[Point]:
    """Used / total %: system.ram's dimensions (free, used, cached, buffers) add up to MemTotal."""
    used = data.column("used")
    points: list[Point] = []
    for t, values in data.rows:
        total = sum(value for value in values if value is not None)
        share = values[used]
        complete = share is not None and None not in values and total > 0
        points.append((t, 100.0 * share / total if complete and share is not None else None))
    return points


def disk_points(data: ChartData) -> list[Point]:
    """Used / (used + avail) %, as df prints it (root's reserved blocks count as neither)."""
    used, avail = data.column("used"), data.column("avail")
    points: list[Point] = []
    for t, values in data.rows:
        u, a = values[used], values[avail]
        points.append((t, 100.0 * u / (u + a) if u is not None and a is not None and u + a > 0 else None))
    return points


def io_points(data: ChartData) -> list[Point]:
    """Read + written KiB/s; system.io's ``out`` is negative."""
    read, written = data.column("in"), data.column("out")
    points: list[Point] = []
    for t, values in data.rows:
        r, w = values[read], values[written]
        points.append((t, None if r is None or w is None else abs(r) + abs(w)))
    return points


def net_points(data: ChartData, dim: str) -> list[Point]:
    """kbit/s of one direction; system.net's ``sent`` is negative."""
    column = data.column(dim)
    return [(t, _map(values[column], abs)) for t, values in data.rows]


def _map(value: float | None, change: Callable[[float], float]) -> float | None:
    """`change(value)`, keeping a missing value missing."""
    return None if value is None else change(value)


# --- HTTP ----------------------------------------------------------------------------


def _new_session() -> requests.Session:
    session = requests.Session()
    # Netdata is on this host: no proxy from the environment applies, and skipping the
    # per-request proxy and ~/.netrc lookups keeps each call cheap.
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    return session


_ERRNO_RE = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _why(exc: requests.RequestException) -> str:
    """A short reason instead of urllib3's nested repr."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    # A timeout while reading the body arrives wrapped in a ConnectionError.
    if isinstance(exc, requests.ReadTimeout) or "Read timed out" in str(exc):
        return f"no answer within {READ_TIMEOUT:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer broke off"
    match = _ERRNO_RE.search(str(exc))
    return match.group(1).strip() if match else type(exc).__name__


def shown_url(url: str) -> str:
    """NETDATA_URL as error messages show it: without credentials (a Netdata behind a
    password-protected proxy) that signed-in viewers must not read."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"


def _read_body(response: requests.Response, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MetricsUnavailable(f"answered more than {MAX_BODY_BYTES} bytes")
        if time.monotonic() > deadline:
            raise MetricsUnavailable(f"did not finish answering within {DEADLINE:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


class NetdataClient:
    """One per process: the pooled session, the fetch pool and the short cache."""

    def __init__(self, cache_seconds: float = CACHE_SECONDS) -> None:
        self.session = _new_session()
        self.cache: SingleFlightCache[Outcome] = SingleFlightCache(ttl=cache_seconds, abandon_after=DEADLINE)
        caching.register("netdata charts", self.cache.clear)
        self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="wpdash-netdata")
        # HTTP requests sent, per chart: what the single-flight cache is meant to keep low.
        self.fetches: Counter[str] = Counter()
        self._fetches_lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    def fetch(self, base_url: str, chart: str, range_: Range, before: int | None = None) -> Outcome:
        """One GET of one chart; every failure comes back as a MetricsUnavailable value."""
        params = {"chart": chart, **netdata_query(range_, before)}
        with self._fetches_lock:
            self.fetches[chart] += 1
        netdata = f"Netdata at {shown_url(base_url)}"
        deadline = time.monotonic() + DEADLINE
        try:
            with self.session.get(
                f"{base_url}/api/v1/data", params=params, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True
            ) as response:
                status = response.status_code
                body = _read_body(response, deadline)
        except requests.RequestException as exc:
            return MetricsUnavailable(f"{netdata} is unavailable: {_why(exc)}")
        except MetricsUnavailable as exc:
            return MetricsUnavailable(f"{netdata} {exc.detail}")
        if status == 404 and chart == ROOT_DISK_CHART:
            return NO_SUCH_CHART  # no chart for "/" on some hosts: the caller measures / itself
        if status != 200:
            return MetricsUnavailable(f"{netdata} answered HTTP {status} for {chart}")
        try:
            return parse_data(json.loads(body), chart)
        except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            return MetricsUnavailable(f"{netdata} answered {chart} with something that is not JSON")
        except MetricsUnavailable as exc:
            return exc

    def charts(self, range_: Range, before: int | None = None) -> dict[str, ChartData]:
        """All charts of one window, fetched in parallel through the cache. A chart
        Netdata does not have (only the root disk may be missing) is left out."""
        base_url = settings.NETDATA_URL.rstrip("/")
        futures: dict[str, Future[Outcome]] = {
            chart: self.cache.get(
                (base_url, chart, range_.name, before),
                partial(self.fetch, base_url, chart, range_, before),
                self._pool.submit,
            )
            for chart in CHARTS
        }
        deadline = time.monotonic() + DEADLINE
        charts: dict[str, ChartData] = {}
        for chart, future in futures.items():
            try:
                outcome = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                raise MetricsUnavailable(
                    f"Netdata at {shown_url(base_url)} did not answer within {DEADLINE:g} s"
                ) from None
            if isinstance(outcome, MetricsUnavailable):
                # A fresh exception per waiter: many threads re-raising one object would
                # share and grow its traceback.
                raise MetricsUnavailable(outcome.detail)
            if isinstance(outcome, ChartData):
                charts[chart] = outcome
        return charts

    def metrics(
        self, range_: Range, local_disk: Callable[[Range], Sequence[Point]], before: int | None = None
    ) -> dict[str, Any]:
        """The result shape from Netdata; the root file system is measured locally
        (`local_disk`) when Netdata has no chart for it."""
        charts = self.charts(range_, before)
        disk = charts.get(ROOT_DISK_CHART)
        points: dict[str, Sequence[Point]] = {
            "cpu": cpu_points(charts["system.cpu"]),
            "ram": ram_points(charts["system.ram"]),
            "disk": disk_points(disk) if disk is not None else local_disk(range_),
            "disk_io": io_points(charts["system.io"]),
            "network_in": net_points(charts["system.net"], "received"),
            "network_out": net_points(charts["system.net"], "sent"),
        }
        return series.result("netdata", range_, points)

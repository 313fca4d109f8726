"""Server metrics for the API and the status page: which source answers (Netdata, or local sampling).

`get_metrics(range_name)` is the one entry point. WPDASH_METRICS_SOURCE picks the
source, read on every call:

- ``netdata``: Netdata only; MetricsUnavailable (HTTP 503) with the reason when it
  is down, too slow or answers nonsense.
- ``local``: the in-process psutil sampler (adapters.metrics.sampler).
- ``auto`` (default): Netdata when it answers, else local. A failed attempt marks
  Netdata down for DOWN_SECONDS, so while it is away requests go straight to the
  local source instead of each paying for a connection attempt or a timeout. The
  local sampler runs from the first request on, so a fallback has history.

Either way the result says which source answered in ``source``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings

from server_monitor import caching
from server_monitor.adapters.metrics.netdata import CACHE_SECONDS, NetdataClient, shown_url
from server_monitor.adapters.metrics.sampler import LocalSampler
from server_monitor.adapters.metrics.series import SERIES, SOURCES, MetricsUnavailable, Point, result, series
from server_monitor.adapters.metrics.windows import DEFAULT_RANGE, RANGES, Range, get_range

__all__ = [
    "DEFAULT_RANGE",
    "RANGES",
    "SERIES",
    "SOURCES",
    "MetricsUnavailable",
    "get_metrics",
    "local_metrics",
    "netdata_client",
    "netdata_problem",
    "sampler",
]

logger = logging.getLogger("server_monitor.metrics")

# The finest window: its newest point is every range's "current" value.
LATEST_RANGE = "5m"
# How long auto mode trusts a failed Netdata attempt before trying again.
DOWN_SECONDS = 15.0

_lock = threading.Lock()
_client: NetdataClient | None = None
_sampler: LocalSampler | None = None
_cache_seconds = CACHE_SECONDS
# The answer for (source setting, NETDATA_URL, range), made once per Netdata cache interval
# however many dashboards ask: the one place a shaped answer is kept.
answers: caching.TTLCache[tuple[str, str, str], dict[str, Any]] = caching.TTLCache(
    "metrics answers", CACHE_SECONDS, maxsize=32
)
# NETDATA_URL -> True while auto mode goes straight to local sampling after a failure.
down_marks: caching.TTLCache[str, bool] = caching.TTLCache("netdata down marks", DOWN_SECONDS, maxsize=8)
_known_down: set[str] = set()  # URLs whose outage was logged: one line when it begins, one when it ends


def netdata_client() -> NetdataClient:
    global _client
    with _lock:
        if _client is None:
            _client = NetdataClient(cache_seconds=_cache_seconds)
        return _client


def sampler() -> LocalSampler:
    """The process's local sampler, its thread started on first use."""
    global _sampler
    with _lock:
        if _sampler is None:
            _sampler = LocalSampler()
        instance = _sampler
    instance.ensure_started()
    return instance


def _local_disk(range_: Range) -> list[Point]:
    return sampler().points(range_)["disk"]


def local_metrics(range_: Range) -> dict[str, Any]:
    return result("local", range_, sampler().points(range_))


def get_metrics(range_name: str = DEFAULT_RANGE) -> dict[str, Any]:
    """{source, range, cpu, ram, disk, disk_io, network_in, network_out} for one window.

    Each series' ``current`` is the newest value of the finest window (LATEST_RANGE),
    whichever range is asked, so the big number of a card does not change with the
    range; ``average`` is the window's own mean. Raises ValueError for a range not in
    RANGES, and MetricsUnavailable when the source is ``netdata`` and Netdata cannot
    answer. The answer is shared with other requests for a cache interval: callers
    must not modify it.
    """
    range_ = get_range(range_name)
    key = (settings.WPDASH_METRICS_SOURCE, settings.NETDATA_URL, range_.name)
    return answers.get_or_compute(key, lambda: _answer(range_))


def _answer(range_: Range) -> dict[str, Any]:
    answer = _window(range_)
    if range_.name == LATEST_RANGE:
        return answer
    if answer["source"] == "local":  # no second try of a Netdata that just failed
        latest = local_metrics(get_range(LATEST_RANGE))
    else:
        try:
            latest = get_metrics(LATEST_RANGE)  # the kept 5m answer: open pages ask for it too
        except MetricsUnavailable:
            return answer  # the window's own newest value is still the best there is
    return {**answer, **{key: {**answer[key], "current": latest[key]["current"]} for key in SERIES}}


def _window(range_: Range) -> dict[str, Any]:
    source = settings.WPDASH_METRICS_SOURCE
    if source == "local":
        return local_metrics(range_)
    client = netdata_client()
    if source == "netdata":
        return client.metrics(range_, _local_disk)
    # Sample locally all along, so a fallback shows history instead of starting empty.
    sampler()
    url = settings.NETDATA_URL
    if down_marks.get(url):
        return local_metrics(range_)
    try:
        answer = client.metrics(range_, _local_disk)
    except MetricsUnavailable as exc:
        down_marks.set(url, True)
        with _lock:
            was_down = url in _known_down
            _known_down.add(url)
        if not was_down:  # log the change, not every retry of a long outage
            logger.warning("Netdata unavailable, using local metrics: %s", exc.detail)
        return local_metrics(range_)
    with _lock:
        recovered = url in _known_down
        _known_down.discard(url)
    if recovered:
        logger.info("Netdata at %s answers again", url)
    return filled_from_local(answer, range_)


def filled_from_local(answer: dict[str, Any], range_: Range) -> dict[str, Any]:
    """Netdata's answer, with the points it has no data for taken from local sampling.

    A Netdata that was away (or came back without its history) has nothing for the
    start of the window, while the sampler, running all along in auto mode, measured
    it: without this a sparkline would blank most of its points the moment Netdata
    answers again. Both sources mean the same by each series (adapters.metrics.sampler)
    and label their points alike (adapters.metrics.windows), so a missing point is
    taken from the local one whose interval ends nearest it, within a step. The answer
    says how many it took (`filled_from_local`, per window: the most of any series),
    and `current` and `average` are those of the merged points.
    """
    local = sampler().points(range_)
    merged: dict[str, Any] = {}
    filled = 0
    for key in SERIES:
        measured = [(stamp, value) for stamp, value in local[key] if value is not None]
        points: list[Point] = []
        taken = 0
        for point in answer[key]["points"]:
            stamp, value = point["timestamp"], point["value"]
            if value is None and measured:
                near_stamp, near_value = min(measured, key=lambda sample: abs(sample[0] - stamp))
                if abs(near_stamp - stamp) < range_.step:
                    value, taken = near_value, taken + 1
            points.append((stamp, value))
        merged[key] = series(key, points) if taken else answer[key]
        filled = max(filled, taken)
    return {**answer, **merged, "filled_from_local": filled}


def configured_source() -> str:
    """WPDASH_METRICS_SOURCE: auto, netdata or local (an answer's `source` is where it came from)."""
    return str(settings.WPDASH_METRICS_SOURCE)


def netdata_problem() -> str | None:
    """Why Netdata cannot serve the dashboard, in words, or None when it answers.

    Asks for the real 5m window, so it meets what the dashboard would meet.
    """
    try:
        netdata_client().metrics(get_range(DEFAULT_RANGE), _local_disk)
    except MetricsUnavailable as exc:
        return exc.detail
    return None


def shown_netdata_url() -> str:
    return shown_url(settings.NETDATA_URL)


def reset(cache_seconds: float = CACHE_SECONDS) -> None:
    """Forget clients, kept answers, the down marks and local history (for tests);
    `cache_seconds`: how long Netdata's charts and the answers made of them are kept
    from now on (a test that must see every request share one fetch asks for long)."""
    global _client, _sampler, _cache_seconds, answers
    with _lock:
        client, local = _client, _sampler
        _client = _sampler = None
        _cache_seconds = cache_seconds
        _known_down.clear()
    answers = caching.TTLCache("metrics answers", cache_seconds, maxsize=32)
    down_marks.forget()
    if client is not None:
        client.close()
    if local is not None:
        local.stop()

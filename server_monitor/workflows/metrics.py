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
import time
from typing import Any

from django.conf import settings

from server_monitor.adapters.metrics.netdata import NetdataClient, shown_url
from server_monitor.adapters.metrics.sampler import LocalSampler
from server_monitor.adapters.metrics.series import SERIES, SOURCES, MetricsUnavailable, Point, result
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
_down_until: dict[str, float] = {}  # NETDATA_URL -> monotonic time; present while down
# range -> (its window's answer, the 5m answer, their merge): while Netdata's cached
# answers are the same objects, so is the merge (kept by reference, compared with `is`).
_merged: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


def netdata_client() -> NetdataClient:
    global _client
    with _lock:
        if _client is None:
            _client = NetdataClient()
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
    answer. The answer may be shared with other requests: callers must not modify it.
    """
    range_ = get_range(range_name)
    answer = _window(range_)
    if range_.name == LATEST_RANGE:
        return answer
    latest_range = get_range(LATEST_RANGE)
    if answer["source"] == "local":  # no second try of a Netdata that just failed
        latest = local_metrics(latest_range)
    else:
        try:
            latest = netdata_client().metrics(latest_range, _local_disk)  # cached: open pages ask for it too
        except MetricsUnavailable:
            return answer  # the window's own newest value is still the best there is
    merged = _merged.get(range_.name)
    if merged is not None and merged[0] is answer and merged[1] is latest:
        return merged[2]  # the same cached Netdata answers: the same merge
    # New dicts: a Netdata answer is shared with other requests while its charts are cached.
    combined = {**answer, **{key: {**answer[key], "current": latest[key]["current"]} for key in SERIES}}
    _merged[range_.name] = (answer, latest, combined)
    return combined


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
    with _lock:
        down = time.monotonic() < _down_until.get(url, 0.0)
    if down:
        return local_metrics(range_)
    try:
        answer = client.metrics(range_, _local_disk)
    except MetricsUnavailable as exc:
        with _lock:
            was_down = url in _down_until
            _down_until[url] = time.monotonic() + DOWN_SECONDS
        if not was_down:  # log the change, not every retry of a long outage
            logger.warning("Netdata unavailable, using local metrics: %s", exc.detail)
        return local_metrics(range_)
    with _lock:
        recovered = _down_until.pop(url, None) is not None
    if recovered:
        logger.info("Netdata at %s answers again", url)
    return answer


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


def reset() -> None:
    """Forget clients, caches, the down mark and local history (for tests)."""
    global _client, _sampler
    with _lock:
        client, local = _client, _sampler
        _client = _sampler = None
        _down_until.clear()
        _merged.clear()
    if client is not None:
        client.close()
    if local is not None:
        local.stop()

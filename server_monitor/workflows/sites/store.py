"""The counter's writes: counts added to buckets, a rebuild replacing them, its state.

Only the counter calls these (one process: the acting `manage.py watch`, which holds
the watcher's lease), so a bucket has one writer and a read-modify-write of it is safe.
Each function is one transaction: a crash leaves the buckets as they were before it or
after it, never half of a flush. Blocking: the counter runs them in its database thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import transaction

from server_monitor.models import SiteBucket, SiteState
from server_monitor.workflows.sites.buckets import MINUTE, TEN_MINUTES, Counts
from server_monitor.workflows.sites.rebuild import Rebuilt, minute_rows_start, window_start
from server_monitor.workflows.sites.tally import ten_minutes

FUTURE_SECONDS = 3600  # a line stamped further ahead than this is not kept (a clock far off)
PRUNE_SLACK = TEN_MINUTES


def add_counts(
    site: str, log_path: str, minutes: dict[int, Counts], now: float, reason: str | None, samples: Iterable[str]
) -> None:
    """Add the counts of `minutes` (counted since the last call) to the site's buckets,
    and note that everything up to `now` is counted."""
    minute_floor, ten_floor = minute_rows_start(now), window_start(now)
    ceiling = now + FUTURE_SECONDS
    kept = {start: counts for start, counts in minutes.items() if ten_floor <= start <= ceiling}
    with transaction.atomic():
        for start, counts in kept.items():
            if start >= minute_floor:
                _merge_into(site, MINUTE, start, counts)
        for start, counts in ten_minutes(kept).items():
            _merge_into(site, TEN_MINUTES, start, counts)
        state, _ = SiteState.objects.get_or_create(site=site)
        state.log_path = log_path
        state.counted_until = now
        state.reason = reason or ""
        new_samples = list(samples)
        if new_samples:
            state.unparsed_samples = json.dumps((json.loads(state.unparsed_samples or "[]") + new_samples)[-5:])
        if state.history_since is None:
            state.history_since = int(now)  # never rebuilt (a log that was unreadable at first): from now on
        state.save()


def _merge_into(site: str, span: int, start: int, counts: Counts) -> None:
    row = SiteBucket.objects.filter(site=site, span=span, start=start).first()
    if row is None:
        SiteBucket.objects.create(site=site, span=span, start=start, **counts.row_fields(span))
        return
    merged = Counts.from_row(row)
    merged.merge(counts)
    for name, value in merged.row_fields(span).items():
        setattr(row, name, value)
    row.save()


def store_rebuild(site: str, log_path: str, rebuilt: Rebuilt, now: float) -> None:
    """Replace the site's buckets from `rebuilt.bound` on with the rebuild's, and say how far
    back the history is complete: from the bound, or from earlier when the counting
    before it reached the bound (no gap between)."""
    with transaction.atomic():
        state, _ = SiteState.objects.get_or_create(site=site)
        if rebuilt.bound is not None:
            SiteBucket.objects.filter(site=site, start__gte=rebuilt.bound).delete()
            rows = [
                SiteBucket(site=site, span=span, start=start, **counts.row_fields(span))
                for span, buckets in ((MINUTE, rebuilt.minutes), (TEN_MINUTES, rebuilt.tens))
                for start, counts in buckets.items()
                if not counts.empty
            ]
            SiteBucket.objects.bulk_create(rows, batch_size=200)
            continuous = state.counted_until is not None and state.counted_until >= rebuilt.bound
            earlier = state.history_since if continuous and state.history_since is not None else rebuilt.bound
            state.history_since = min(earlier, rebuilt.bound)
        elif state.history_since is None or state.counted_until is None:
            state.history_since = int(now)
        state.log_path = log_path
        state.counted_until = now
        state.rebuilt_at = now
        state.rebuilt_from = rebuilt.bound
        state.rebuild_bytes = rebuilt.bytes_read
        state.rebuild_lines = rebuilt.lines
        state.rebuild_seconds = rebuilt.seconds
        state.rebuild_stop = rebuilt.stop
        state.reason = rebuilt.note or ""
        if rebuilt.samples:
            state.unparsed_samples = json.dumps(rebuilt.samples[-5:])
        state.save()


def note_unreadable(site: str, log_path: str, reason: str) -> None:
    """The counter cannot read the site's log (yet): say why on the site."""
    with transaction.atomic():
        state, _ = SiteState.objects.get_or_create(site=site)
        if state.reason != reason or state.log_path != log_path:
            state.reason, state.log_path = reason, log_path
            state.save(update_fields=["reason", "log_path"])


def prune(now: float) -> int:
    """Drop the rows no window reads any more; the number dropped."""
    minute_floor = minute_rows_start(now) - PRUNE_SLACK
    ten_floor = window_start(now) - PRUNE_SLACK
    dropped, _ = SiteBucket.objects.filter(span=MINUTE, start__lt=minute_floor).delete()
    more, _ = SiteBucket.objects.filter(span=TEN_MINUTES, start__lt=ten_floor).delete()
    return dropped + more

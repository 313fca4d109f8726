"""Template helpers for the status page and the admin: sparklines, tones, human-readable numbers."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from server_monitor.workflows.alerts import messages
from server_monitor.workflows.logs.sources import journal_source_name

register = template.Library()

WIDTH, HEIGHT = 120.0, 32.0

# The colour of a state, the one place it is decided: systemd's ActiveState of a unit
# and a restart's status share the words where they mean the same. Anything else
# (activating, reloading, pending, running) is on its way: "warn". The word itself is
# always shown beside the colour.
TONES = {
    "active": "ok",
    "succeeded": "ok",
    "failed": "bad",
    "timed_out": "bad",
    "interrupted": "bad",
    "inactive": "muted",
    "rejected": "muted",
    "expired": "muted",
    "withdrawn": "muted",
}


@register.filter
def tone(state: str) -> str:
    """ok, warn, bad or muted for a unit's ActiveState or a restart's status."""
    return TONES.get(state, "warn")


# Sub-states that only repeat what the ActiveState says: "active (running)" is every
# running daemon, "inactive (dead)" every stopped unit. Others tell something the
# active state does not ("active (exited)": a one-shot that ran; "activating
# (auto-restart)": systemd restarts it after a crash), and are kept.
OBVIOUS_SUB_STATES = {("active", "running"), ("inactive", "dead")}


@register.filter
def state_word(service: Any) -> str:
    """A unit's state said once: "active", "failed", "activating (auto-restart)"."""
    active, sub = service.active_state, service.sub_state
    if not sub or sub == active or (active, sub) in OBVIOUS_SUB_STATES:
        return str(active)
    return f"{active} ({sub})"


def _segments(values: list[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive known values; a None (no data) breaks the line."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((index, float(value)))
    if current:
        runs.append(current)
    return runs


@register.simple_tag
def sparkline(points: Iterable[Mapping[str, Any]], label: str = "", ceiling: float | None = None) -> SafeString:
    """An inline SVG sparkline of `points` ({timestamp, value}, oldest first).

    Percentages pass ceiling=100 so a flat 3 % line looks low, not full height;
    other series scale to their own maximum. Gaps in the data stay gaps.
    """
    values = [point.get("value") for point in points]
    known = [value for value in values if value is not None]
    top = ceiling if ceiling is not None else max(known, default=0.0)
    top = top if top and top > 0 else 1.0
    step = WIDTH / max(len(values) - 1, 1)

    def xy(index: int, value: float) -> str:
        y = HEIGHT - (min(max(value, 0.0), top) / top) * (HEIGHT - 2) - 1
        return f"{index * step:.2f},{y:.2f}"

    line_parts, area_parts = [], []
    for run in _segments(values):
        coords = [xy(index, value) for index, value in run]
        line_parts.append("M" + " L".join(coords))
        first_x, last_x = run[0][0] * step, run[-1][0] * step
        area_parts.append(f"M{first_x:.2f},{HEIGHT} L" + " L".join(coords) + f" L{last_x:.2f},{HEIGHT} Z")
    if known:
        summary = f"{label}: low {min(known):.1f}, high {max(known):.1f}, {len(known)} points"
    else:
        summary = f"{label}: no data in this window"
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="{}">'
        '<title>{}</title><path class="area" d="{}"></path><path class="line" d="{}"></path></svg>',
        int(WIDTH),
        int(HEIGHT),
        summary,
        summary,
        " ".join(area_parts),
        " ".join(line_parts),
    )


@register.filter
def bytes_human(value: int | float | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # unreachable; keeps type checkers content


@register.filter
def duration_human(seconds: int | float | None) -> str:
    if seconds is None:
        return "—"
    remaining = int(seconds)
    days, remaining = divmod(remaining, 86400)
    hours, remaining = divmod(remaining, 3600)
    minutes, secs = divmod(remaining, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


@register.filter
def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


@register.filter
def journal_log(service: Any) -> str:
    """The log source name of a service card's journal (`journal:nginx`)."""
    return journal_source_name(service.name, service.unit)


@register.filter
def sentence(text: object) -> str:
    """`text` ending in exactly one full stop (error details may or may not bring their own)."""
    words = str(text).rstrip()
    return words if words.endswith((".", "!", "?")) else f"{words}."


@register.simple_tag
def history_note(points: Sequence[Mapping[str, Any]], now: float | None = None) -> str:
    """Where a sparkline's history begins, when that is after its window's start.

    Right after the dashboard (local sampling) or Netdata started, the 1h and 24h
    windows are mostly empty; a sliver of line on the right must not read as "quiet".
    Empty when the window is full from its first point.
    """
    first_known = next((index for index, point in enumerate(points) if point.get("value") is not None), None)
    if first_known is None:
        return "No history yet" if points else ""
    if first_known == 0:
        return ""
    age = max(0, int((time.time() if now is None else now) - points[first_known]["timestamp"]))
    return f"History begins {duration_human(age)} ago"


@register.filter
def percent(ratio: float | None, digits: int = 1) -> str:
    """A ratio (0 to 1) as a percentage: 0.0312 → 3.1 %."""
    if ratio is None:
        return "—"
    return f"{ratio * 100:.{digits}f} %"


@register.filter
def seconds_human(seconds: float | None) -> str:
    """A response time: 0.087 → 87 ms, 1.5 → 1.50 s."""
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


@register.filter
def unix_time(seconds: float | None) -> datetime | None:
    """Unix seconds as an aware datetime, for the `date` filter (which then uses the zone)."""
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None


@register.filter
def evidence_text(evidence: dict[str, Any]) -> str:
    """An alert's evidence as the messages word it (figures, then the lines, indented)."""
    return messages.evidence_text(evidence)

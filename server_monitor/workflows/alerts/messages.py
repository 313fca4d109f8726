"""The words of a message: what fired or resolved, the evidence, and a link to the page.

Plain text, the same for mail and push (a push service shortens it as it must).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from server_monitor.models import Alert, AlertMessage

MAX_EVIDENCE_CHARS = 6000  # a push service takes a few KiB; the page has it all


def title(alert: Alert, event: str) -> str:
    words: dict[str, str] = {AlertMessage.Event.FIRED: "FIRING", AlertMessage.Event.REMINDER: "STILL FIRING"}
    word = words.get(event, "RESOLVED")
    return f"[wpdash] {word} {alert.severity}: {alert.summary}"[:300]


def body(alert: Alert, event: str) -> str:
    zone = timezone.get_current_timezone()
    started = timezone.localtime(alert.started_at, zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [alert.summary, "", f"rule: {alert.rule}", f"subject: {alert.subject}", f"since: {started}"]
    if event == AlertMessage.Event.RESOLVED and alert.resolved_at is not None:
        lines.append(f"resolved: {timezone.localtime(alert.resolved_at, zone).strftime('%Y-%m-%d %H:%M:%S %Z')}")
    evidence = evidence_text(alert.evidence)
    if evidence:
        lines += ["", "Evidence:", evidence]
    lines += ["", f"Dashboard: {settings.WPDASH_PUBLIC_URL}/#alert-{alert.pk}"]
    return "\n".join(lines)


def evidence_text(evidence: dict[str, Any]) -> str:
    """The evidence as readable lines: figures first, then each list (journal, log lines) indented."""
    parts = []
    for key, value in evidence.items():
        if isinstance(value, list):
            parts.append(f"{key}:")
            parts += [f"  {item}" for item in value]
        else:
            parts.append(f"{key}: {value}")
    text = "\n".join(parts)
    return text if len(text) <= MAX_EVIDENCE_CHARS else text[: MAX_EVIDENCE_CHARS - 20] + "\n  …(cut)"

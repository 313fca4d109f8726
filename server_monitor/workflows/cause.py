"""Why a restart failed, in a few lines: the unit's own words from the journal its row keeps.

On a failed start systemd always writes the last lines ("nginx.service: Control process
exited, code=exited, status=1/FAILURE", "Failed with result 'exit-code'.", "Failed to start
nginx.service - …"), and they say that it failed, never why. The cause comes a few lines
up, from the unit's own process: nginx's config test (`[emerg] unknown directive …`),
php-fpm's pool parser (`ERROR: [/etc/php/8.2/fpm/pool.d/www.conf:491] unknown entry …`).
Priority does not tell them apart: php-fpm writes its ERROR lines at the journal's default
priority 6. So the failure message quotes the last lines *not* written by systemd, and
systemd's own only when the unit wrote none (it died without a word).
(shared/fixtures/journal/debian12-failed-restarts.txt shows both, from a real Debian 12.)

The column holds adapters.journal.entries' line format, one entry per line:
    2026-12-05 17:00:07 [err] nginx[604]: 2026/12/05 17:00:07 [emerg] 604#604: unknown directive …
A line that does not start that way continues the entry before it (a message with a
line break).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server_monitor.adapters.journal.entries import PRIORITY_NAMES

# What adapters.journal.entries.Entry.line writes: time, the priority for warning or worse, the
# identifier and PID, the message (tests/restarts/test_failure_cause.py pins the two together).
LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
    r"(?:\[(?P<priority>" + "|".join(PRIORITY_NAMES) + r")\] )?"
    r"(?P<identifier>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)$"
)
SYSTEMD = "systemd"  # the manager's SYSLOG_IDENTIFIER: systemd[1] for system units
OWN_LINES = 5  # php-fpm's failed start writes four lines of its own, the cause in the first
SYSTEMD_LINES = 3  # when the unit wrote nothing: systemd's last words (how it ended)
LINE_CHARS = 400  # per quoted line: the message stays readable; the row keeps every line whole


@dataclass
class _Entry:
    by_systemd: bool
    text: str  # without the time: "[err] nginx[604]: …"


def quoted_lines(journal_text: str) -> list[str]:
    """The lines of a kept journal that say why: the unit's own last OWN_LINES, else
    systemd's last SYSTEMD_LINES; each without its time and at most LINE_CHARS long."""
    entries: list[_Entry] = []
    for line in journal_text.splitlines():
        if not line.strip():
            continue
        match = LINE_RE.match(line)
        if match is None:
            if entries:  # the rest of a message that held a line break
                entries[-1].text += " " + line.strip()
            else:
                entries.append(_Entry(by_systemd=False, text=line.strip()))
            continue
        marker = f"[{match['priority']}] " if match["priority"] else ""
        source = f"{match['identifier']}[{match['pid']}]" if match["pid"] else match["identifier"]
        entries.append(_Entry(match["identifier"] == SYSTEMD, f"{marker}{source}: {match['message']}"))
    own = [entry for entry in entries if not entry.by_systemd]
    chosen = own[-OWN_LINES:] if own else entries[-SYSTEMD_LINES:]
    return [_bounded(entry.text) for entry in chosen]


def _bounded(text: str) -> str:
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"

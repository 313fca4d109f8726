"""The names wpdash takes from its settings and its requests: systemd units and log sources.

Plain rules with no outside system behind them, so that every layer can share them:
the settings readers (wpdash/env.py) refuse a bad name at start-up, and the adapters
check a name again before it reaches a command line (a setting changed in a test, or
an allowlist built elsewhere, must still never smuggle an option or a path in).
"""

from __future__ import annotations

import re

# systemd unit names: letters, digits and ":-_.\\@" (systemd.unit(5)); a leading "-" is
# refused too, so that a name can never be read as an option by systemctl or sudo.
UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]{0,255}$")
# Unit types systemctl recognises as a suffix; a bare name means NAME.service.
UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".target",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".timer",
    ".path",
    ".slice",
    ".scope",
)
# Log source names appear in URLs: a safe slug. The colon of JOURNAL_PREFIX cannot occur
# in one, so a configured name and a unit's journal (journal:NAME) never collide.
LOG_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
JOURNAL_PREFIX = "journal:"  # a log source that is a systemd unit's journal


def is_unit_name(name: object) -> bool:
    return isinstance(name, str) and UNIT_NAME_RE.fullmatch(name) is not None and ".." not in name


def unit_file_name(name: str) -> str:
    """systemd's name of a unit: nginx is nginx.service, ufw.timer stays ufw.timer."""
    return name if name.endswith(UNIT_SUFFIXES) else f"{name}.service"

"""The captured systemd outputs (tests/fixtures/systemd/, copied from shared/fixtures)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "systemd"
UPTIME_LINE = re.compile(r"^(\d+\.\d+) \d+\.\d+$")


@dataclass
class Capture:
    """One fixture file: the command's output, its exit codes, and /proc/uptime when recorded
    (a `37.21 15.59` line, first or last)."""

    text: str
    exits: list[int]
    uptime: float | None


def capture(name: str) -> Capture:
    lines = (FIXTURES / name).read_text().splitlines(keepends=True)
    uptimes = [float(match.group(1)) for line in lines if (match := UPTIME_LINE.match(line.strip()))]
    exits = [int(line.strip()[5:]) for line in lines if line.startswith("EXIT=")]
    output = "".join(line for line in lines if not line.startswith("EXIT=") and not UPTIME_LINE.match(line.strip()))
    return Capture(output, exits, uptimes[0] if uptimes else None)

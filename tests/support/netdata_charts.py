"""Netdata /api/v1/data answers made to order, for rules that need a host under load: the
shape Netdata 1.37 answers (tests/fixtures/netdata/), the values the test chooses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.support.fake_netdata import Answer

# chart -> its labels; cpu shows idle, ram adds up to 100, io and net as Netdata signs them.
LABELS = {
    "system.cpu": ["time", "user", "system", "idle"],
    "system.ram": ["time", "free", "used", "cached", "buffers"],
    "system.io": ["time", "in", "out"],
    "system.net": ["time", "received", "sent"],
    "disk_space._": ["time", "avail", "used", "reserved for root"],
}


def host(cpu: Callable[[int], float], ram: Callable[[int], float], disk: Callable[[int], float] = lambda t: 40.0):
    """A responder: busy CPU %, used RAM % and used disk % as functions of each row's time."""

    def respond(path: str, query: dict[str, str]) -> Answer:
        chart = query.get("chart", "")
        if path != "/api/v1/data" or chart not in LABELS:
            return 404, "text/plain", b"chart not found"
        points = int(query.get("points", 60))
        span = -int(query.get("after", -300))
        step = span // points
        now = int(time.time()) // step * step
        rows = []
        for index in range(points):  # newest first, as Netdata answers
            t = now - index * step
            if chart == "system.cpu":
                busy = cpu(t)
                rows.append([t, busy / 2, busy / 2, 100.0 - busy])
            elif chart == "system.ram":
                used = ram(t)
                rows.append([t, 100.0 - used - 10.0, used, 8.0, 2.0])
            elif chart == "disk_space._":
                used = disk(t)
                rows.append([t, 100.0 - used, used, 5.0])
            else:
                rows.append([t, 10.0, -5.0])
        return 200, "application/json", json.dumps({"labels": LABELS[chart], "data": rows}).encode()

    return respond

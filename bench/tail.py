"""Benchmark 1 — REST tail: GET logs/{type}?lines=50|500 on 1 KiB, 100 MiB and 1 GiB logs.

References, measured in the same run: the same request on the 100 MiB file (size
independence: the same answer from a file 10 times as big, goal ratio ≤ 1.5; the 1 KiB
file holds fewer lines than asked for, so beside it a bigger answer is compared too),
a naive tail that reads the whole file to keep
its last lines (goal: at least 100 times slower than ours at 1 GiB), and the floor,
a bare ASGI app on the same daphne (bench/floor_app.py) asked the same URL by the
same client (goal: ours at 1 KiB, lines=500 within 2 times the floor, and under the
peer's 6.6 ms).
"""

from __future__ import annotations

import collections
import random
import tempfile
from pathlib import Path

import requests

from bench.common import FLOOR_CASE, PASSWORD, Result, Row, environ_for_server, floor_server, time_calls
from tests.support.servers import live_server

SIZES = {"1kib": 1024, "100mib": 100 * 2**20, "1gib": 2**30}
REPETITIONS = 200
PEER_MS = 6.6  # the peer dashboard's median for its tail request


def nginx_line(rng: random.Random, index: int) -> str:
    ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    path = rng.choice(["/", "/wp-login.php", "/wp-admin/admin-ajax.php", "/feed/", f"/?p={index}", "/xmlrpc.php"])
    status = rng.choice([200, 200, 200, 301, 302, 404, 499, 502])
    agent = rng.choice(["Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1", "WordPress/6.4; https://example.com"])
    return (
        f'{ip} - - [22/Nov/2026:03:{index % 60:02d}:{index % 60:02d} +0000] "GET {path} HTTP/1.1" {status} '
        f'{rng.randint(0, 90000)} "-" "{agent}"\n'
    )


def generate(path: Path, size: int) -> None:
    """Write `size` bytes of nginx combined-format lines (a 1 MiB block repeated)."""
    rng = random.Random(7)
    block, index = [], 0
    while sum(map(len, block)) < min(size, 2**20):
        block.append(nginx_line(rng, index))
        index += 1
    data = "".join(block).encode()
    with path.open("wb") as handle:
        written = 0
        while written + len(data) <= size:
            handle.write(data)
            written += len(data)
        if written < size:
            rest = data[: size - written]
            handle.write(rest[: rest.rfind(b"\n") + 1] or rest)


def naive_tail(path: Path, lines: int) -> list[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return list(collections.deque(handle, maxlen=lines))


def main() -> Result:
    result = Result(
        name="tail",
        title="1. REST tail",
        method=(
            "GET /api/v1/server/logs/{type}?lines=N through a real daphne, JWT auth, one keep-alive "
            f"requests.Session, {REPETITIONS} requests per case after 3 warm-ups (time.perf_counter). Files are "
            "generated nginx combined-format logs. Naive reference: Python reading the whole file into a "
            "deque(maxlen=N), 5 runs, page cache warm. Floor: bench/floor_app.py (a bare ASGI app, no Django) on "
            "its own daphne started with wpdash's argv, the same session asking it the 1 KiB lines=500 URL "
            f"{REPETITIONS} times."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-tail-") as tmp:
        tmp_path = Path(tmp)
        files = {name: tmp_path / f"{name}.log" for name in SIZES}
        for name, size in SIZES.items():
            generate(files[name], size)
        logs = ",".join(f"{name}={path}" for name, path in files.items())
        with live_server(tmp_path, **environ_for_server(WPDASH_LOGS=logs)) as server:
            server.create_user("bench", PASSWORD)
            session = requests.Session()
            token = session.post(
                f"{server.url}/api/v1/auth/token/", json={"username": "bench", "password": PASSWORD}, timeout=10
            ).json()["access"]
            session.headers["Authorization"] = f"Bearer {token}"
            for lines in (50, 500):
                for name in SIZES:
                    url = f"{server.url}/api/v1/server/logs/{name}?lines={lines}"
                    response = session.get(url, timeout=30)
                    # The 1 KiB file holds fewer lines than asked for: then all of them come back.
                    expected = min(lines, files[name].read_bytes().count(b"\n")) if SIZES[name] < 2**20 else lines
                    got = len(response.json()["lines"]) if response.status_code == 200 else None
                    assert got == expected, (name, lines, expected, got, response.text[:200])
                    samples = time_calls(lambda url=url: session.get(url, timeout=30), repetitions=REPETITIONS)
                    result.rows.append(Row(f"ours, {name}, lines={lines}", samples))
            with floor_server(tmp_path) as floor:
                url = f"{floor.url}/api/v1/server/logs/1kib?lines=500"
                assert session.get(url, timeout=30).json() == {"status": "ok"}
                samples = time_calls(lambda: session.get(url, timeout=30), repetitions=REPETITIONS)
                result.rows.append(Row(FLOOR_CASE, samples))
        small = files["1kib"].read_bytes().count(b"\n")
        result.notes.append(f"the 1 KiB file holds {small} lines: that is its whole answer at lines=50 and 500")
        for lines in (50, 500):
            samples = time_calls(lambda lines=lines: naive_tail(files["1gib"], lines), repetitions=5, warmup=1)
            result.rows.append(Row(f"naive read-all, 1gib, lines={lines}", samples))
    for lines in (50, 500):
        result.ratio(
            f"1 GiB / 100 MiB, lines={lines} (the same answer)",
            f"ours, 1gib, lines={lines}",
            f"ours, 100mib, lines={lines}",
            "≤ 1.5",
        )
        result.ratio(f"1 GiB / 1 KiB, lines={lines}", f"ours, 1gib, lines={lines}", f"ours, 1kib, lines={lines}")
        result.ratio(
            f"naive / ours at 1 GiB, lines={lines}",
            f"naive read-all, 1gib, lines={lines}",
            f"ours, 1gib, lines={lines}",
            "≥ 100",
        )
    result.ratio("ours 1 KiB lines=500 / floor", "ours, 1kib, lines=500", FLOOR_CASE, "≤ 2")
    result.record(
        "ours 1 KiB lines=500, median ms", result.row("ours, 1kib, lines=500").median, f"< {PEER_MS} ms (the peer's)"
    )
    result.save()
    return result


if __name__ == "__main__":
    main()

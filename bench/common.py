"""Shared pieces of the benchmarks: timing, statistics, a daphne to measure, results.

Timings use time.perf_counter over many repetitions; every benchmark measures its
reference in the same run, on the same machine, so ratios are comparable even when
absolute numbers move with the machine's load.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "work" / "results"
sys.path.insert(0, str(REPO))  # tests.servers provides the daphne runner


@dataclass
class Row:
    """One measured case: latencies in milliseconds, plus free-form extra columns."""

    case: str
    samples_ms: list[float] = field(default_factory=list, repr=False)
    extra: dict[str, str] = field(default_factory=dict)
    # When a tool reports percentiles rather than samples (wrk), they stand in for them.
    reported: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        if "median" in self.reported:
            return self.reported["median"]
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def p99(self) -> float:
        if "p99" in self.reported:
            return self.reported["p99"]
        if not self.samples_ms:
            return float("nan")
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


@dataclass
class Result:
    """A benchmark's table: rows, each with its ratio against a named reference row."""

    name: str
    title: str
    method: str
    rows: list[Row] = field(default_factory=list)
    ratios: list[tuple[str, str, str, float | None]] = field(default_factory=list)  # label, row, reference, goal
    notes: list[str] = field(default_factory=list)

    def row(self, case: str) -> Row:
        return next(row for row in self.rows if row.case == case)

    def ratio(self, label: str, case: str, reference: str, goal: str, stat: str = "median") -> float:
        """getattr(row, stat) of case over reference's: stat is median (the default) or p99."""
        value = getattr(self.row(case), stat) / getattr(self.row(reference), stat)
        self.ratios.append((label, f"{value:.2f}", goal, value))
        return value

    def save(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        data = asdict(self)
        for row, saved in zip(self.rows, data["rows"], strict=True):
            saved["median"], saved["p99"] = row.median, row.p99
            saved["n"] = int(row.reported.get("n", len(row.samples_ms)))
            del saved["samples_ms"]
        path.write_text(json.dumps(data, indent=2))
        print(render(data))
        return path


def time_calls(function: Callable[[], object], repetitions: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    model = ""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model or cpu}, {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def render(data: dict) -> str:
    extra_columns: list[str] = []
    for row in data["rows"]:
        extra_columns += [key for key in row["extra"] if key not in extra_columns]
    lines = [f"## {data['title']}", "", data["method"], ""]
    header = ["case", "n", "median ms", "p99 ms", *extra_columns]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in data["rows"]:
        numbers = [f"{row['median']:.2f}", f"{row['p99']:.2f}"] if row["n"] else ["—", "—"]
        cells = [row["case"], str(row["n"]), *numbers, *(row["extra"].get(key, "") for key in extra_columns)]
        lines.append("| " + " | ".join(cells) + " |")
    if data["ratios"]:
        lines += ["", "| ratio | value | goal |", "|---|---|---|"]
        lines += [f"| {label} | {value} | {goal} |" for label, value, goal, _ in data["ratios"]]
    if data["notes"]:
        lines += [""] + [f"- {note}" for note in data["notes"]]
    return "\n".join(lines) + "\n"


def environ_for_server(**extra: str) -> dict[str, str]:
    return {"WPDASH_LOG_LEVEL": "warning", **extra}


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def write_results_md() -> Path:
    results = sorted(RESULTS_DIR.glob("*.json"))
    parts = [
        "# wpdash benchmark results",
        "",
        f"Machine: {machine()}. Written by `bench/run` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Each benchmark measures its reference in the same run. Regenerate with `bench/run`;",
        "run one alone with `.venv/bin/python -m bench.NAME`.",
        "",
    ]
    order = ["tail", "live_tail", "services", "metrics", "status_page", "api_load"]
    results.sort(key=lambda path: order.index(path.stem) if path.stem in order else len(order))
    for path in results:
        parts.append(render(json.loads(path.read_text())))
    target = BENCH_DIR / "RESULTS.md"
    target.write_text("\n".join(parts))
    return target


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}


def bench_seconds(default: float = 30.0) -> float:
    """Duration of the timed phases that run for a while (live tail, load): WPDASH_BENCH_SECONDS."""
    return float(os.environ.get("WPDASH_BENCH_SECONDS", default))


PASSWORD = "bench-password-123"


def bearer_token(server, username: str = "bench", password: str = PASSWORD) -> str:
    """A JWT access token from the real token endpoint."""
    import requests

    response = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text[:200]
    return response.json()["access"]


def start_netdata(workdir: Path):
    """A throwaway real Netdata (tests/metrics/netdata_server.py); fails loudly if missing."""
    from tests.support.netdata import netdata_binary
    from tests.support.netdata import start_netdata as start

    binary = netdata_binary()
    if binary is None:
        raise SystemExit("Netdata is not installed (Debian package netdata; bin/system-deps installs it)")
    return start(binary, workdir)


@contextlib.contextmanager
def full_stack(tmp_path: Path, **env: str) -> Iterator[tuple[Any, Any]]:
    """A daphne set up as an operator's box: a real Netdata, the stand-in systemctl with
    the default allowlist, a 100 MiB nginx log, and a user `bench`.

    Yields (server, stand-in systemd); Netdata is stopped afterwards.
    """
    from bench.tail import generate
    from tests.support.servers import live_server
    from tests.support.systemd import FakeSystemd

    netdata = start_netdata(tmp_path / "netdata")
    try:
        fake = FakeSystemd(tmp_path / "systemd")
        log = tmp_path / "access.log"
        generate(log, 100 * 2**20)
        settings = environ_for_server(
            WPDASH_METRICS_SOURCE="netdata",
            NETDATA_URL=netdata.url,
            WPDASH_SYSTEMCTL=str(fake.path),
            WPDASH_SUDO="off",
            WPDASH_LOGS=f"nginx-access={log}",
            **env,
        )
        with live_server(tmp_path, **settings) as server:
            server.create_user("bench", PASSWORD)
            yield server, fake
    finally:
        netdata.stop()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")

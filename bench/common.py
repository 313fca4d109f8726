"""Shared pieces of the benchmarks: timing, statistics, a daphne to measure, results.

Timings use time.perf_counter over many repetitions; every benchmark measures its
reference in the same run, on the same machine, so ratios are comparable even when
absolute numbers move with the machine's load. A benchmark's reference is the seed's
way of doing the same thing where there is one (issue 26: read the whole file for a
tail, resend a snapshot every 2 s for a live tail, ask Netdata on every request), else
the outside tool itself (tail -F, one bare systemctl show, a direct Netdata query).

Goals are absolute (ms, requests/s, % of a core, MiB, lines), and a ratio to the seed's
own implementation where an issue names one. The floor (floor_server: a bare ASGI app on
the same daphne, started the way wpdash is) is an informative row, daphne's own share
of a request: no goal is a ratio to it.

A goal is a string such as "≤ 1.5", "≥ 100", "< 50 ms" or "= 0": its operator and
number are checked against the value (verdict), anything after the number is a unit or
a reason, anything else ("—") is shown unchecked.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "work" / "results"
sys.path.insert(0, str(REPO))  # tests.servers provides the daphne runner
FLOOR_APP = "bench.floor_app:application"
FLOOR_CASE = "floor: bare ASGI app on the same daphne"  # the floor's row (informative, no goal)


@dataclass
class Row:
    """One measured case: latencies in milliseconds, plus free-form extra columns."""

    case: str
    samples_ms: list[float] = field(default_factory=list, repr=False)
    extra: dict[str, str] = field(default_factory=dict)
    # Numbers measured otherwise than as samples: percentiles a tool reports (wrk), which
    # then stand in for the samples', and others a ratio can use (requests/s, RSS MiB, CPU %).
    reported: dict[str, float] = field(default_factory=dict)

    def stat(self, name: str) -> float:
        """median, p99, or a number in `reported` such as "requests/s"."""
        return getattr(self, name) if name in ("median", "p99") else self.reported[name]

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
    """A benchmark's tables: its rows, then absolute figures and ratios, each with its goal."""

    name: str
    title: str
    method: str
    rows: list[Row] = field(default_factory=list)
    ratios: list[tuple[str, str, str, float]] = field(default_factory=list)  # label, shown value, goal, value
    notes: list[str] = field(default_factory=list)

    def row(self, case: str) -> Row:
        return next(row for row in self.rows if row.case == case)

    def ratio(self, label: str, case: str, reference: str | float, goal: str = "—", stat: str = "median") -> float:
        """Row `case`'s stat (Row.stat) over row `reference`'s, or over a number (an old figure)."""
        base = reference if isinstance(reference, int | float) else self.row(reference).stat(stat)
        return self.record(label, self.row(case).stat(stat) / base, goal)

    def record(self, label: str, value: float, goal: str = "—", shown: str | None = None) -> float:
        """One line of the ratio table: a value (a ratio, or an absolute figure the label names) and its goal."""
        self.ratios.append((label, f"{value:.2f}" if shown is None else shown, goal, value))
        return value

    def save(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        data = asdict(self)
        data["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
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


GOAL_RE = re.compile(r"^\s*(≤|≥|<|>|=)\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)")
COMPARE = {"≤": operator.le, "≥": operator.ge, "<": operator.lt, ">": operator.gt, "=": operator.eq}


def verdict(goal: str, value: float | None) -> str:
    """met or missed, for a goal made of an operator and a number ("≤ 2", "< 6.6 ms"); else ""."""
    match = GOAL_RE.match(goal)
    if match is None or value is None:
        return ""
    return "met" if COMPARE[match.group(1)](value, float(match.group(2).replace(",", ""))) else "missed"


def render(data: dict) -> str:
    extra_columns: list[str] = []
    for row in data["rows"]:
        extra_columns += [key for key in row["extra"] if key not in extra_columns]
    measured = data.get("measured", "")
    lines = [f"## {data['title']}", "", *([f"Measured {measured}."] if measured else []), data["method"], ""]
    timed = any(row["n"] for row in data["rows"])  # no latency columns for a table of other figures
    header = ["case", *(["n", "median ms", "p99 ms"] if timed else []), *extra_columns]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in data["rows"]:
        numbers = [f"{row['median']:.2f}", f"{row['p99']:.2f}"] if row["n"] else ["—", "—"]
        latency = [str(row["n"]), *numbers] if timed else []
        cells = [row["case"], *latency, *(row["extra"].get(key, "") for key in extra_columns)]
        lines.append("| " + " | ".join(cells) + " |")
    if data["ratios"]:
        lines += ["", "| figure or ratio | value | goal | verdict |", "|---|---|---|---|"]
        lines += [
            f"| {label} | {value} | {goal} | {verdict(goal, number)} |" for label, value, goal, number in data["ratios"]
        ]
    if data["notes"]:
        lines += [""] + [f"- {note}" for note in data["notes"]]
    return "\n".join(lines) + "\n"


def environ_for_server(**extra: str) -> dict[str, str]:
    return {"WPDASH_LOG_LEVEL": "warning", **extra}


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


ORDER = [
    "tail",
    "live_tail",
    "services",
    "metrics",
    "status_page",
    "api_load",
    "footprint",
    "stalled_clients",
    "alerts",
    "sites",
]
SECTION_MARK = re.compile(r"^<!-- bench\.(\w+) -->$", re.MULTILINE)


def kept_sections(text: str) -> dict[str, str]:
    """The sections of an earlier RESULTS.md, by benchmark name (each starts with its mark)."""
    marks = list(SECTION_MARK.finditer(text))
    ends = [mark.start() for mark in marks[1:]] + [len(text)]
    return {mark.group(1): text[mark.start() : end].rstrip() + "\n" for mark, end in zip(marks, ends, strict=True)}


def write_results_md() -> Path:
    """RESULTS.md from this run's results; a benchmark not run this time keeps its earlier section,
    which says when it was measured, so a subset run (WPDASH_BENCHMARKS) loses nothing."""
    target = BENCH_DIR / "RESULTS.md"
    sections = kept_sections(target.read_text()) if target.exists() else {}
    for path in RESULTS_DIR.glob("*.json"):
        data = json.loads(path.read_text())
        sections[path.stem] = f"<!-- bench.{path.stem} -->\n{render(data)}"
    parts = [
        "# wpdash benchmark results",
        "",
        f"Machine: {machine()}. Each section says when it was measured; `bench/run` rewrites the",
        "sections of the benchmarks it runs and keeps the others. Each benchmark measures its reference in",
        "the same run. Run one alone with `.venv/bin/python -m bench.NAME`, or a few with",
        '`WPDASH_BENCHMARKS="tail sites" bench/run`.',
        "",
    ]
    names = sorted(sections, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))
    parts += [sections[name] for name in names]
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


class Stack(NamedTuple):
    server: Any  # tests.support.servers.LiveServer
    systemd: Any  # tests.support.systemd.FakeSystemd, the stand-in systemctl
    netdata: Any  # tests.support.netdata.NetdataServer
    log: Path  # the nginx log, configured as nginx-access


@contextlib.contextmanager
def full_stack(tmp_path: Path, **env: str) -> Iterator[Stack]:
    """A daphne set up as an operator's box: a real Netdata, the stand-in systemctl with
    the default allowlist, a 100 MiB nginx log, and a user `bench`.

    Yields the Stack; Netdata is stopped afterwards.
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
            yield Stack(server, fake, netdata, log)
    finally:
        netdata.stop()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class FloorServer:
    """The floor (bench/floor_app.py) in its own daphne process."""

    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def floor_server(tmp_path: Path) -> Iterator[FloorServer]:
    """The floor app on a free port, run exactly as tests.support.servers.LiveServer runs
    wpdash (same interpreter's daphne, same options, bind and environment); answering
    when yielded, stopped afterwards."""
    import requests

    from tests.support.servers import DAPHNE_OPTIONS, free_port, wait_until

    port = free_port()
    log_path = tmp_path / "floor-daphne.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", *DAPHNE_OPTIONS, "-b", "127.0.0.1", "-p", str(port), FLOOR_APP],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **environ_for_server()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = FloorServer(port, process)

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the floor's daphne exited:\n{log_path.read_text(errors='replace')}")
        try:
            return requests.get(f"{server.url}/", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout=30, interval=0.1, message="the floor's daphne to answer")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

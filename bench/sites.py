"""Benchmark 9 — sites: wpdash's counts against GoAccess, rebuild speed, following cost, page time.

1. One generated rt_cache log of WPDASH_BENCH_SITES_BYTES (default 1 GiB) over the last
   20 hours, read by GoAccess 1.7 (Debian's `goaccess`, with the matching --log-format)
   and by wpdash's rebuild (the code that runs after a restart, in-process, its budget
   larger than the file): total requests, requests per status class, bytes sent and
   lines not understood must be identical; lines per second compared (goal: at least
   half of GoAccess's).
2. Ten sites written at a total of 1,000 requests per second (WPDASH_BENCH_SECONDS,
   default 30) while `manage.py watch` follows them: its CPU time (rules included) over the
   phase, in % of one core (goal ≤ 10 %), and every line counted.
3. A site's page (GET /sites/NAME) and its API answer through a real daphne, warm
   (goal: median ≤ 20 ms).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import requests

from bench.common import PASSWORD, REPO, Result, Row, bench_seconds, cpu_seconds, environ_for_server, time_calls
from tests.support.servers import live_server, wait_until

GOACCESS = shutil.which("goaccess") or "/usr/bin/goaccess"
# rt_cache: the response-time column may be a comma list ("0.004, 0.003"), which GoAccess's %T
# cannot read, so it skips up to the "[" with %^; the figures compared need none of it.
GOACCESS_FORMAT = '%h %^[%d:%t %^] %v "%r" %s %b "%R" "%u"'
RT_CACHE = (
    '$remote_addr $upstream_response_time $upstream_cache_status [$time_local] $http_host "$request" $status '
    '$body_bytes_sent "$http_referer" "$http_user_agent"'
)
SITES = 10
RATE = 1000  # lines per second, all sites together
REPETITIONS = 200


def log_bytes() -> int:
    return int(os.environ.get("WPDASH_BENCH_SITES_BYTES", 2**30))


class Lines:
    """rt_cache lines as WordOps writes them: cache hits and static files without an upstream
    time, comma lists of times, IPv6 clients, a request line that is not a request."""

    def __init__(self, site: str, seed: int) -> None:
        self.random = random.Random(seed)
        r = self.random
        paths = ["/", "/checkout/", "/wp-login.php", "/wp-admin/admin-ajax.php", "/feed/", "/shop/?add-to-cart=42"]
        paths += [f"/2026/11/post-{n}/" for n in range(200)] + ["/wp-content/uploads/2026/11/photo.jpg"]
        agents = ['"-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"', '"https://example.com/" "-"']
        agents += ['"-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"']
        statuses = [200] * 30 + [301, 302, 304, 403, 404, 404, 499, 500, 502, 503, 504]
        self.tails = []  # what follows the time: host, request, status, bytes, referer and agent
        self.heads = []  # client, upstream time and cache status
        for index in range(4000):
            path = r.choice(paths)
            request = f"GET {path} HTTP/2.0" if index % 500 else "\\x16\\x03\\x01\\x02\\x00\\x01\\x00"
            status = r.choice(statuses) if index % 500 else 400
            sent = 0 if status == 304 else r.randint(0, 120_000)
            self.tails.append(f'{site} "{request}" {status} {sent} {r.choice(agents)}\n')
        for index in range(4000):
            client = f"203.0.113.{r.randint(1, 254)}" if index % 5 else f"2001:db8::{r.randint(1, 65535):x}"
            cache = r.choice(["HIT", "HIT", "MISS", "BYPASS", "EXPIRED", "-"])
            if cache in ("HIT", "-"):
                upstream = "-"
            elif index % 40 == 0:
                upstream = f"0.{r.randint(0, 999):03d}, 0.{r.randint(0, 999):03d}"
            else:
                upstream = f"{r.randint(0, 2)}.{r.randint(0, 999):03d}"
            self.heads.append(f"{client} {upstream} {cache} [")

    def make(self, count: int, when: float) -> str:
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(when)) + "] "
        heads, tails, pick = self.heads, self.tails, self.random.getrandbits
        return "".join(heads[pick(12) % 4000] + stamp + tails[pick(12) % 4000] for _ in range(count))


def generate(path: Path, size: int, hours: float = 20.0, malformed_every: int = 1_000_000) -> int:
    """`size` bytes of one site's rt_cache log over the last `hours`; the lines written."""
    lines = Lines("example.com", 9)
    average = len(lines.make(1000, time.time())) / 1000
    total = int(size / average)
    start = time.time() - hours * 3600
    step = hours * 3600 / total
    written = 0
    with path.open("w") as handle:
        while written < total:
            batch = min(10_000, total - written)
            handle.write(lines.make(batch, start + written * step))
            written += batch
            if written % malformed_every < batch:
                handle.write("a line that is not of the format\n")
                written += 1
    return written


def goaccess(path: Path, work: Path) -> tuple[dict, float]:
    output = work / "goaccess.json"
    started = time.perf_counter()
    subprocess.run(
        [
            GOACCESS,
            str(path),
            f"--log-format={GOACCESS_FORMAT}",
            "--date-format=%d/%b/%Y",
            "--time-format=%T",
            "--no-progress",
            "-o",
            str(output),
        ],
        check=True,
        capture_output=True,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    report = json.loads(output.read_text())
    classes = Counter()
    for group in report["status_codes"]["data"]:
        classes[group["data"][0]] += group["hits"]["count"]
    general = report["general"]
    figures = {
        "requests": general["valid_requests"],
        "unparsed": general["failed_requests"],
        "bytes": general["bandwidth"],
        **{f"{digit}xx": classes[digit] for digit in "12345"},
    }
    return figures, seconds


def wpdash_rebuild(path: Path, size: int) -> tuple[dict, float, int]:
    """The counter's rebuild of the file, in this process, as after a restart."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wpdash.settings")
    django.setup()
    from server_monitor.adapters.nginx.log_format import LineParser
    from server_monitor.workflows.sites import logfiles, rebuild
    from server_monitor.workflows.sites.buckets import Counts

    following = logfiles.start_following(str(path))
    try:
        started = time.perf_counter()
        rebuilt = rebuild.rebuild(following, LineParser("rt_cache", RT_CACHE), size + 2**20)
        seconds = time.perf_counter() - started
    finally:
        following.close()
    total = Counts()
    for counts in rebuilt.tens.values():
        total.merge(counts)
    figures = {
        "requests": total.requests,
        "unparsed": total.unparsed,
        "bytes": total.bytes_sent,
        **{f"{digit}xx": total.statuses[int(digit) - 1] for digit in "12345"},
    }
    return figures, seconds, rebuilt.lines


def nginx_layout(root: Path) -> dict[str, str]:
    """Ten WordOps sites; the settings that point at them."""
    enabled, logs = root / "sites-enabled", root / "log"
    enabled.mkdir(parents=True)
    logs.mkdir()
    (root / "nginx.conf").write_text(f"http {{\n log_format rt_cache '{RT_CACHE}';\n}}\n")
    for number in range(SITES):
        name = f"site{number}.example"
        (enabled / name).write_text(
            f"server {{\n server_name {name};\n access_log {logs}/{name}.access.log rt_cache;\n"
            f" error_log {logs}/{name}.error.log;\n}}\n"
        )
        (logs / f"{name}.access.log").touch()
    return {"WPDASH_SITES_DIR": str(enabled), "WPDASH_NGINX_CONF": str(root / "nginx.conf")}


def write_traffic(logs: Path, seconds: float) -> int:
    """RATE lines a second spread over the sites, in 10 ms steps, as nginx appends them."""
    writers = [Lines(f"site{n}.example", n) for n in range(SITES)]
    files = [os.open(logs / f"site{n}.example.access.log", os.O_WRONLY | os.O_APPEND) for n in range(SITES)]
    written, started = 0, time.monotonic()
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * RATE)
            while written < due:
                site = written % SITES
                os.write(files[site], writers[site].make(1, time.time()).encode())
                written += 1
            time.sleep(0.01)
    finally:
        for fd in files:
            os.close(fd)
    return written


def main() -> Result:
    size = log_bytes()
    result = Result(
        name="sites",
        title="10. Sites: counts against GoAccess, rebuild, following, page",
        method=(
            f"A generated {size / 2**30:.2f} GiB rt_cache log (20 h of one site: cache hits and static files "
            "without a time, comma lists, IPv6 clients, TLS hellos) read once by GoAccess 1.7 "
            f"(`{GOACCESS_FORMAT}`, JSON output) and once by wpdash's rebuild in-process (page cache warm for "
            f"both: GoAccess reads it first). Then {SITES} sites written at {RATE} lines/s in all for "
            f"{bench_seconds():.0f} s while `manage.py watch` (the site counter and the alert rules) "
            "follows them (its CPU time from psutil over the writing), then GET /sites/NAME and "
            "/api/v1/server/sites/NAME?range=1h through daphne, "
            f"{REPETITIONS} times each after 3 warm-ups, one keep-alive session."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-sites-") as tmp:
        work = Path(tmp)
        log = work / "example.com.access.log"
        lines = generate(log, size)
        theirs, their_seconds = goaccess(log, work)
        ours, our_seconds, our_lines = wpdash_rebuild(log, log.stat().st_size)
        log.unlink()
        result.rows.append(
            Row("GoAccess 1.7", extra={"seconds": f"{their_seconds:.1f}", "lines/s": f"{lines / their_seconds:,.0f}"})
        )
        result.rows.append(
            Row("wpdash rebuild", extra={"seconds": f"{our_seconds:.1f}", "lines/s": f"{our_lines / our_seconds:,.0f}"})
        )
        for key in theirs:
            both = {"GoAccess": f"{theirs[key]:,}", "wpdash": f"{ours[key]:,}"}
            result.rows.append(Row(f"figure: {key}", extra=both))
        differing = [key for key in theirs if theirs[key] != ours[key]]
        result.record("figures that differ from GoAccess's", len(differing), "= 0", shown=", ".join(differing) or "0")
        result.record("rebuild lines/s over GoAccess's", (our_lines / our_seconds) / (lines / their_seconds), "≥ 0.5")
        follow_and_page(work, result)
    result.save()
    return result


def follow_and_page(work: Path, result: Result) -> None:
    sites_env = nginx_layout(work / "nginx")
    with live_server(work, **environ_for_server(**sites_env)) as server:
        server.create_user("bench", PASSWORD)
        counter = subprocess.Popen(
            [sys.executable, "manage.py", "watch"],
            cwd=REPO,
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process = psutil.Process(counter.pid)
            time.sleep(3)  # discovery and the (empty) rebuilds
            before, started = cpu_seconds(process), time.monotonic()
            written = write_traffic(work / "nginx" / "log", bench_seconds())
            spent, elapsed = cpu_seconds(process) - before, time.monotonic() - started
            session = requests.Session()
            session.post(f"{server.url}/accounts/login/", data={"username": "bench", "password": PASSWORD})
            signed_in = server.session("bench", PASSWORD)

            def counted() -> bool:
                answer = signed_in.get(f"{server.url}/api/v1/server/sites?range=5m", timeout=10).json()
                return sum(site["requests"] or 0 for site in answer) >= written

            wait_until(counted, timeout=60, interval=0.5, message="every line counted")
        finally:
            counter.terminate()
            counter.wait(30)
        percent = 100 * spent / elapsed
        result.rows.append(
            Row(
                f"the watcher (rules and site counter) following {SITES} sites at {RATE} lines/s",
                extra={"seconds": f"{elapsed:.0f}", "lines": f"{written:,}", "CPU % of a core": f"{percent:.1f}"},
            )
        )
        result.record("watcher CPU (its rules included), % of one core", percent, "≤ 10")
        page = f"{server.url}/sites/site3.example?range=1h"
        api = f"{server.url}/api/v1/server/sites/site3.example?range=1h"
        for case, url in (("site page warm (GET /sites/NAME)", page), ("site API warm (GET …/sites/NAME)", api)):
            first = time.perf_counter()
            assert signed_in.get(url, timeout=10).status_code == 200
            cold = (time.perf_counter() - first) * 1000
            samples = time_calls(lambda url=url: signed_in.get(url, timeout=10).raise_for_status(), REPETITIONS)
            result.rows.append(Row(case, samples, extra={"first request ms": f"{cold:.1f}"}))
        result.record("site page warm median, ms", result.rows[-2].median, "≤ 20")


if __name__ == "__main__":
    main()

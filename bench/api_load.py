"""Benchmark 6 — API under load: requests/s and p99 at 50 concurrent clients through daphne.

GET services (stand-in systemctl), logs/{type}?lines=50 (a generated nginx log) and
metrics?range=5m (a throwaway real Netdata), each for a while with `wrk`. Reference, in
the same run and the same way: GET /healthz (the fixed cost of a request). Goals, in
requests/s (issue 15): logs at least 435 and metrics at least 420, 3 times the 145 and
140 measured on 2026-11-22. The floor, a bare ASGI app on the same daphne
(bench/floor_app.py), is shown as daphne's own ceiling, with no goal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from bench.common import FLOOR_CASE, Result, Row, bearer_token, floor_server, full_stack

CONNECTIONS = 50
THREADS = 2
HEALTHZ = "reference: GET /healthz"
LOGS = "GET logs/nginx-access?lines=50"
METRICS = "GET metrics?range=5m"
OLD_RATES = {LOGS: ("logs", 145), METRICS: ("metrics", 140)}  # requests/s, bench/RESULTS.md of 2026-11-22
RATE_FACTOR_GOAL = 3  # issue 15: at least this times the old requests/s
REPORT = """\
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50\\": %d, \\"p99\\": %d, \\"max\\": %d, "
    .. "\\"status\\": %d, \\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
"""


def wrk(url: str, token: str | None, seconds: float, script: Path) -> dict:
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    report = json.loads(line.removeprefix("WRKJSON "))
    errors = {key: report[key] for key in ("status", "connect", "read", "write", "timeout") if report[key]}
    assert report["requests"] > 0 and not errors, f"wrk against {url}: {errors or 'no requests'}\n{output}"
    return report


def main() -> Result:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk; bin/system-deps installs it)")
    seconds = float(os.environ.get("WPDASH_BENCH_LOAD_SECONDS", "10"))
    result = Result(
        name="api_load",
        title="6. API under load",
        method=(
            f"wrk 4.1 (-t{THREADS} -c{CONNECTIONS} -d{seconds:g}s, WPDASH_BENCH_LOAD_SECONDS; a Lua done() hook "
            "reports requests, p50/p99 and errors) against one daphne process, JWT in an Authorization header; "
            "each endpoint checked once for 200 and the right body before its run, and the run fails on any "
            "non-2xx, timeout or socket error. services: stand-in systemctl (one Python process a request), default "
            "allowlist; logs: a 100 MiB generated nginx log, lines=50; metrics: range=5m against a throwaway real "
            "Netdata (1 s shared cache). Reference: GET /healthz the same way. Floor (informative, no goal): "
            "bench/floor_app.py (a bare ASGI app, no Django) on its own daphne started with wpdash's argv, its "
            "/healthz the same way. "
            "Median and p99 are wrk's; the old requests/s are bench/RESULTS.md's of 2026-11-22."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-load-") as tmp:
        tmp_path = Path(tmp)
        script = tmp_path / "report.lua"
        script.write_text(REPORT)
        with full_stack(tmp_path, WPDASH_JWT_ACCESS_MINUTES="60") as stack, floor_server(tmp_path) as floor:
            server = stack.server
            token = bearer_token(server)
            api = f"{server.url}/api/v1/server"
            cases = [
                (FLOOR_CASE, f"{floor.url}/healthz", None),
                (HEALTHZ, f"{server.url}/healthz", None),
                ("GET services", f"{api}/services", token),
                (LOGS, f"{api}/logs/nginx-access?lines=50", token),
                (METRICS, f"{api}/metrics?range=5m", token),
            ]
            for case, url, auth in cases:
                check(url, auth)
                result.rows.append(measure(case, url, auth, seconds, script))
    for row in result.rows[2:]:
        result.ratio(f"{row.case}: p99 / healthz p99", row.case, HEALTHZ, stat="p99")
    for case, (name, rate) in OLD_RATES.items():
        measured = result.row(case).stat("requests/s")
        goal = f"≥ {RATE_FACTOR_GOAL * rate} req/s ({RATE_FACTOR_GOAL}x {rate} of 2026-11-22)"
        result.record(f"{name}: requests/s", measured, goal, shown=f"{measured:.0f}")
    result.save()
    return result


def check(url: str, token: str | None) -> None:
    """One request before the run: 200 and the body the endpoint should give."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(url, headers=headers, timeout=30)
    assert response.status_code == 200, (url, response.text[:300])
    if "logs/" in url:
        assert len(response.json()["lines"]) == 50, response.text[:300]
    elif "metrics" in url:
        assert response.json()["source"] == "netdata", response.text[:300]
    elif "services" in url:
        assert len(response.json()) >= 4, response.text[:300]


def measure(case: str, url: str, token: str | None, seconds: float, script: Path) -> Row:
    report = wrk(url, token, seconds, script)
    rate = report["requests"] / (report["duration_us"] / 1e6)
    extra = {"requests/s": f"{rate:.0f}", "requests": str(report["requests"])}
    print(f"{case}: {extra} p50 {report['p50'] / 1000:.1f} ms p99 {report['p99'] / 1000:.1f} ms", flush=True)
    reported = {"median": report["p50"] / 1000, "p99": report["p99"] / 1000, "n": report["requests"]}
    return Row(case, extra=extra, reported={**reported, "requests/s": rate})


if __name__ == "__main__":
    main()

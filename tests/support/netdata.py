"""A throwaway real Netdata for tests: own config, own dirs, loopback, a free port.

It keeps its database in RAM and writes its caches, logs and lock files under a
temporary directory, so it neither clashes with a Netdata the host may run nor
leaves state behind. Only the collectors the dashboard reads run (proc: cpu, ram,
io, net; diskspace: /), which keeps start-up to about a second.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support.servers import free_port, wait_until

NETDATA_BINARY_CANDIDATES = ("netdata", "/usr/sbin/netdata")
SERIES_CHARTS = ("system.cpu", "system.ram", "system.io", "system.net")
ROOT_DISK_CHART = "disk_space._"  # absent where Netdata sees no file system at /

NETDATA_CONF = """\
[global]
    run as user = {user}
    hostname = wpdash-test
[db]
    mode = ram
    update every = 1
    retention = 3600
[directories]
    cache = {dir}/cache
    lib = {dir}/lib
    log = {dir}/log
    lock = {dir}/lock
[logs]
    access = {dir}/log/access.log
    error = {dir}/log/error.log
    debug = /dev/null
    health = /dev/null
[health]
    enabled = no
[ml]
    enabled = no
[cloud]
    enabled = no
[registry]
    enabled = no
[plugins]
    enable running new plugins = no
    apps = no
    cgroups = no
    cups = no
    python.d = no
    charts.d = no
    go.d = no
    ebpf = no
    perf = no
    slabinfo = no
    nfacct = no
    timex = no
    idlejitter = no
    statsd = no
    tc = no
    fping = no
    ioping = no
"""

# The access log names each request: ... 'DATA' (...) 200 '/api/v1/data?chart=system.cpu&...'
_DATA_REQUEST_RE = re.compile(r"'/api/v1/data\?(?:[^']*&)?chart=([^&']+)")


def netdata_binary() -> str | None:
    for candidate in NETDATA_BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass
class NetdataServer:
    workdir: Path
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "log" / "access.log"

    def data(self, chart: str, **params: Any) -> dict[str, Any]:
        """Netdata's own answer, asked directly (the reference our numbers must match)."""
        response = requests.get(
            f"{self.url}/api/v1/data", params={"chart": chart, "format": "json", **params}, timeout=5
        )
        response.raise_for_status()
        return response.json()

    def has_chart(self, chart: str) -> bool:
        response = requests.get(f"{self.url}/api/v1/data", params={"chart": chart, "after": -1}, timeout=5)
        return response.status_code == 200

    def data_requests(self) -> Counter[str]:
        """/api/v1/data requests per chart, as Netdata's own access log records them."""
        if not self.access_log.exists():
            return Counter()
        text = self.access_log.read_text(errors="replace")
        return Counter(match.group(1) for match in _DATA_REQUEST_RE.finditer(text))

    def log(self) -> str:
        parts = []
        for name in ("stdout.log", "log/error.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_netdata(binary: str, workdir: Path, with_data: bool = True) -> NetdataServer:
    """Start Netdata and wait until the dashboard's charts exist and, `with_data`,
    until the 5-minute view has a point of data (Netdata shows only complete
    5-second groups there: about 6 s after start)."""
    for sub in ("cache", "lib", "log", "lock"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    config = workdir / "netdata.conf"
    config.write_text(NETDATA_CONF.format(user=getpass.getuser(), dir=workdir))
    port = free_port()
    with (workdir / "stdout.log").open("ab") as output:
        process = subprocess.Popen(
            [binary, "-D", "-c", str(config), "-P", str(workdir / "netdata.pid"), "-i", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            # No anonymous statistics from a test run.
            env={**os.environ, "DO_NOT_TRACK": "1", "DISABLE_TELEMETRY": "1"},
        )
    server = NetdataServer(workdir=workdir, port=port, process=process)

    def has_data() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"netdata exited with {process.returncode}:\n{server.log()}")
        try:
            for chart in SERIES_CHARTS:
                data = server.data(chart, after=-300, points=60)["data"]
                # Every dimension of one row: a loaded machine fills a chart's
                # dimensions (and the disk_space plugin its chart) a little apart.
                if with_data and not any(None not in row for row in data):
                    return False
            if with_data and server.has_chart(ROOT_DISK_CHART):
                data = server.data(ROOT_DISK_CHART, after=-300, points=60)["data"]
                return any(None not in row for row in data)
        except requests.RequestException:  # not listening yet, or 404 before the chart exists
            return False
        return True

    try:
        wait_until(has_data, timeout=30, interval=0.2, message="netdata to collect a few seconds of data")
    except BaseException:
        server.stop()
        raise
    return server


def metrics_with_values(client: Any, *keys: str, range_name: str = "5m") -> dict[str, Any]:
    """The API's metrics answer once Netdata has a `current` value for every one of `keys`.

    A Netdata started a moment ago, on a loaded machine, may still have no complete
    interval for a chart: then `current` is rightly null. Ask again (bounded) rather
    than read that as a failure; a value that never comes fails the caller's test.
    """
    from server_monitor.workflows import metrics

    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = client.get("/api/v1/server/metrics", {"range": range_name}).json()
        if all(body[key]["current"] is not None for key in keys) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)
        metrics.reset()  # nothing cached from the try before

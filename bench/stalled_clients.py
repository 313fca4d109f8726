"""Benchmark 8 — stalled clients: what 50 WebSockets that never read cost daphne.

50 clients open the live tail of one log, complete the handshake and then never read
again (a plain socket with a 4 KiB receive buffer, tests/support/raw_websocket.py),
while a writer process appends 8,000 lines/s to the log for 60 s
(WPDASH_BENCH_STALLED_SECONDS) and one normal client (the `websockets` library, in
its own process) reads every line, counting lost and duplicated ones by sequence
number. daphne's RSS (psutil) is sampled every 0.5 s: before the stalled clients
connect, during the load, and for 15 s after they have gone. Goals (the issue's
probe): RSS grows by at most 64 MiB and comes back toward its start; the normal client
loses nothing. Run it before and after a change to compare.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path

import psutil
import websockets

from bench.common import PASSWORD, Result, Row, bearer_token, cpu_seconds, environ_for_server
from tests.support.raw_websocket import RawWebSocket
from tests.support.servers import live_server

STALLED = 50
LINES_PER_SECOND = 8000
BATCH_SECONDS = 0.01
SAMPLE_SECONDS = 0.5
AFTER_SECONDS = 15.0  # how long RSS is watched once the stalled clients are gone
GRACE_SECONDS = 10.0  # the normal client gives up after this long without a message
RECEIVE_BUFFER = 4096
PADDING = "GET /wp-admin/admin-ajax.php HTTP/1.1 200 1234 bench-stalled-clients"


def load_seconds() -> float:
    return float(os.environ.get("WPDASH_BENCH_STALLED_SECONDS", 60))


def write_lines(path: str, total: int) -> None:
    """Append `total` numbered lines at LINES_PER_SECOND, a batch every BATCH_SECONDS."""
    per_batch = int(LINES_PER_SECOND * BATCH_SECONDS)
    with open(path, "a", encoding="utf-8") as handle:
        start = time.monotonic()
        sequence = 0
        while sequence < total:
            delay = start + sequence / LINES_PER_SECOND - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            count = min(per_batch, total - sequence)
            handle.write("".join(f"{number} {PADDING}\n" for number in range(sequence, sequence + count)))
            handle.flush()
            sequence += count


def normal_client(url: str, access: str, total: int, ready, queue) -> None:
    """Read every message; report lines lost, duplicated and announced as skipped."""

    async def run() -> dict[str, int]:
        protocols = ["wpdash", f"bearer.{access}"]
        async with websockets.connect(
            url, subprotocols=protocols, open_timeout=60, max_size=2**24, compression=None
        ) as ws:
            json.loads(await asyncio.wait_for(ws.recv(), 60))  # the last lines before the load
            ready.set()
            seen = bytearray(total)
            unique = duplicated = skipped = 0
            while unique < total:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), GRACE_SECONDS + 60 * (unique == 0)))
                except TimeoutError:
                    break
                skipped += message.get("skipped", 0)
                for line in message.get("lines", ()):
                    head = line[: line.find(" ")]
                    if not head.isdigit() or int(head) >= total:
                        continue  # a preamble line
                    if seen[int(head)]:
                        duplicated += 1
                    else:
                        seen[int(head)] = 1
                        unique += 1
            return {"lost": total - unique, "duplicated": duplicated, "skipped": skipped}

    queue.put(asyncio.run(run()))


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


class Sampler:
    """daphne's RSS every SAMPLE_SECONDS in a thread, each sample with its phase."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.phase = "before"
        self.samples: list[tuple[float, str, float]] = []
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.samples.append((time.monotonic() - self._started, self.phase, rss_mib(self.process)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def of(self, phase: str) -> list[float]:
        return [rss for _, name, rss in self.samples if name == phase]


def still_open(process: psutil.Process, ports: set[int]) -> int:
    """How many of the stalled clients' connections daphne still holds."""
    return sum(
        1
        for connection in process.net_connections(kind="tcp")
        if connection.raddr and connection.raddr.port in ports and connection.status == psutil.CONN_ESTABLISHED
    )


def main() -> Result:
    seconds = load_seconds()
    total = int(LINES_PER_SECOND * seconds)
    line_bytes = len(f"{total} {PADDING}\n")
    result = Result(
        name="stalled_clients",
        title="8. Stalled clients (memory)",
        method=(
            f"One daphne; {STALLED} WebSockets on one log complete the handshake (JWT subprotocol) and never read "
            f"again (plain sockets, SO_RCVBUF {RECEIVE_BUFFER} bytes, tests/support/raw_websocket.py), beside one "
            "normal client (Python `websockets`, own process) that counts every line by sequence number. A writer "
            f"process appends {LINES_PER_SECOND} lines/s ({line_bytes} bytes each at most) for {seconds:g} s "
            f"(WPDASH_BENCH_STALLED_SECONDS). daphne's RSS (psutil) every {SAMPLE_SECONDS} s: start = after the "
            f"normal client connected, before the stalled ones; then during the load; then for {AFTER_SECONDS:g} s "
            "after the stalled sockets are closed by their clients. Stall bound: the default."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-stalled-") as tmp:
        tmp_path = Path(tmp)
        log = tmp_path / "stalled.log"
        log.write_text("".join(f"preamble line {index}\n" for index in range(60)))
        env = environ_for_server(WPDASH_LOGS=f"stalled={log}", WPDASH_JWT_ACCESS_MINUTES="60")
        with live_server(tmp_path, **env) as server:
            server.create_user("bench", PASSWORD)
            access = bearer_token(server)
            url = f"{server.ws_url}/api/v1/server/logs/stalled/ws"
            daphne = psutil.Process(server.process.pid)
            context = multiprocessing.get_context("spawn")
            ready, queue = context.Event(), context.Queue()
            reader = context.Process(target=normal_client, args=(url, access, total, ready, queue))
            reader.start()
            assert ready.wait(120), "the normal client did not connect"
            time.sleep(1)
            sampler = Sampler(daphne)
            time.sleep(2)
            start = rss_mib(daphne)
            stalled = [RawWebSocket(url, ("wpdash", f"bearer.{access}"), RECEIVE_BUFFER) for _ in range(STALLED)]
            ports = {client.local_port for client in stalled}
            connected = rss_mib(daphne)
            sampler.phase = "load"
            cpu_before, wall_before = cpu_seconds(daphne), time.monotonic()
            writer = context.Process(target=write_lines, args=(str(log), total))
            writer.start()
            writer.join()
            cpu = (cpu_seconds(daphne) - cpu_before) / (time.monotonic() - wall_before)
            end_of_load = rss_mib(daphne)
            open_at_end = still_open(daphne, ports)
            sampler.phase = "after"
            for client in stalled:
                client.close()
            time.sleep(AFTER_SECONDS)
            sampler.stop()
            after = rss_mib(daphne)
            outcome = queue.get(timeout=GRACE_SECONDS + 120)
            reader.join(timeout=30)
    peak = max([*sampler.of("load"), *sampler.of("after"), end_of_load, after])
    rows = [
        ("start: normal client connected", start),
        (f"{STALLED} stalled clients connected", connected),
        (f"peak, during {seconds:g} s at {LINES_PER_SECOND} lines/s or after", peak),
        ("end of load", end_of_load),
        (f"{AFTER_SECONDS:g} s after the stalled clients went", after),
    ]
    for case, rss in rows:
        result.rows.append(Row(case, extra={"RSS MiB": f"{rss:.1f}"}, reported={"RSS MiB": rss}))
    result.rows.append(
        Row(
            "normal client beside them",
            extra={
                "lines written": str(total),
                "lost": str(outcome["lost"]),
                "duplicated": str(outcome["duplicated"]),
                "announced skipped": str(outcome["skipped"]),
                "daphne CPU": f"{cpu:.0%}",
                f"stalled sockets daphne still held at the end of load (of {STALLED})": str(open_at_end),
            },
        )
    )
    result.record("RSS growth, peak minus start, MiB", peak - start, "≤ 64", shown=f"{peak - start:.1f}")
    result.record("RSS after they went minus start, MiB", after - start, "≤ 64", shown=f"{after - start:.1f}")
    result.record("normal client: lines lost", outcome["lost"], "= 0", shown=str(outcome["lost"]))
    result.record("normal client: lines duplicated", outcome["duplicated"], "= 0", shown=str(outcome["duplicated"]))
    trace = ", ".join(
        f"{elapsed:.0f}: {rss:.0f}" for elapsed, _, rss in sampler.samples[:: max(1, int(5 / SAMPLE_SECONDS))]
    )
    result.notes.append(f"RSS samples every 5 s (s, MiB): {trace}")
    result.save()
    return result


if __name__ == "__main__":
    main()

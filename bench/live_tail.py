"""Benchmark 2 — live tail: 1, 50 and 200 WebSocket clients on one log through a real daphne.

A writer process appends 2,000 lines/s (a batch of 20 every 10 ms), each line carrying
its sequence number and its time.time() at write. Clients (the `websockets` library,
spread over a few processes so the client side is not the bottleneck) record, per
line, receipt time minus write time (same host clock), and per client which sequence
numbers arrived: lost = never arrived, duplicated = arrived more than once.
Reference, in the same run: `tail -F` (coreutils) on the same file, its stdout read
in a thread and timed the same way. Goals (GOALS): 1 client median ≤ 5 ms and p99
≤ 20 ms; 200 clients p99 ≤ 50 ms with 0 lost and 0 duplicated, and daphne's CPU
below 40 % of a core.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
import websockets

from bench.common import (
    PASSWORD,
    Result,
    Row,
    bearer_token,
    bench_seconds,
    cpu_seconds,
    environ_for_server,
    percentile,
    verdict,
)
from tests.support.servers import live_server

CLIENTS = tuple(int(n) for n in os.environ.get("WPDASH_BENCH_LIVE_CLIENTS", "1,50,200").split(","))
LINES_PER_SECOND = 2000
BATCH_SECONDS = 0.01
GRACE_SECONDS = 10.0  # after the writer stops, how long clients wait for stragglers
MAX_SAMPLES = 100_000  # latency samples kept per case (every k-th sequence number)
PADDING = "GET /wp-admin/admin-ajax.php HTTP/1.1 200 1234 bench-live-tail"
# Per number of clients: (what, Row.stat, goal); at LINES_PER_SECOND.
GOALS = {
    1: [("median ms", "median", "≤ 5"), ("p99 ms", "p99", "≤ 20")],
    200: [
        ("p99 ms", "p99", "≤ 50"),
        ("lines lost", "lost", "= 0"),
        ("lines duplicated", "duplicated", "= 0"),
        ("daphne CPU %", "daphne CPU %", "< 40"),
    ],
}


def clients_text(clients: int) -> str:
    return f"{clients} client{'s' if clients > 1 else ''}"


def case_name(clients: int) -> str:
    return f"ours, {clients_text(clients)}"


def parse(line: str) -> tuple[int, float] | None:
    parts = line.split(" ", 2)
    try:
        return int(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        return None  # a preamble line


def write_lines(path: str, total: int) -> None:
    """Append `total` lines at LINES_PER_SECOND, a batch every BATCH_SECONDS."""
    per_batch = int(LINES_PER_SECOND * BATCH_SECONDS)
    with open(path, "a", encoding="utf-8") as handle:
        start = time.monotonic()
        sequence = 0
        while sequence < total:
            delay = start + sequence / LINES_PER_SECOND - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            batch = []
            for _ in range(min(per_batch, total - sequence)):
                batch.append(f"{sequence} {time.time():.6f} {PADDING}\n")
                sequence += 1
            handle.write("".join(batch))
            handle.flush()


async def follow(url: str, access: str, total: int, stride: int, started: asyncio.Event, deadline: list[float]):
    protocols = ["wpdash", f"bearer.{access}"]
    async with websockets.connect(
        url, origin="http://127.0.0.1", subprotocols=protocols, open_timeout=120, max_size=2**24, compression=None
    ) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
        assert "lines" in first, first
        yield True  # connected, first message read
        await started.wait()
        seen = bytearray(total)
        duplicated = unique = 0
        latencies: list[float] = []
        worst = 0.0
        while unique < total:
            remaining = deadline[0] - time.time()
            if remaining <= 0:
                break
            try:
                message = await asyncio.wait_for(ws.recv(), timeout=remaining)
            except TimeoutError:
                break
            received = time.time()
            lines = json.loads(message).get("lines", ())
            for line in lines:  # the per-line work is kept small: it runs 400,000 times a second at 200 clients
                head = line[: line.find(" ")]
                if not head.isdigit() or int(head) >= total:
                    continue  # a preamble line
                sequence = int(head)
                if seen[sequence]:
                    duplicated += 1
                else:
                    seen[sequence] = 1
                    unique += 1
                if sequence % stride == 0:
                    latencies.append((received - float(line.split(" ", 2)[1])) * 1000)
            if lines and parse(lines[0]) is not None:  # the oldest line of a message is its latest arrival
                worst = max(worst, (received - parse(lines[0])[1]) * 1000)
        yield {"lost": total - unique, "duplicated": duplicated, "latencies": latencies, "max": worst}


def client_process(url, access, count, total, stride, seconds, barrier, queue) -> None:
    async def run() -> None:
        started = asyncio.Event()
        deadline = [float("inf")]
        clients = [follow(url, access, total, stride, started, deadline) for _ in range(count)]
        await asyncio.gather(*(anext(client) for client in clients))  # all connected, first message read
        await asyncio.get_running_loop().run_in_executor(None, barrier.wait, 300)
        deadline[0] = time.time() + seconds + GRACE_SECONDS
        started.set()
        outcomes = await asyncio.gather(*(anext(client) for client in clients))
        for client in clients:
            await client.aclose()
        cpu = psutil.Process().cpu_times()
        queue.put([{**outcome, "client_cpu": (cpu.user + cpu.system) / len(outcomes)} for outcome in outcomes])

    asyncio.run(run())


def tail_reference(path: Path, total: int, stride: int) -> tuple[subprocess.Popen, threading.Thread, dict]:
    process = subprocess.Popen(["tail", "-F", "-n", "0", str(path)], stdout=subprocess.PIPE)
    outcome: dict = {"latencies": [], "seen": 0}

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            received = time.time()
            parsed = parse(raw.decode(errors="replace"))
            if parsed is None:
                continue
            outcome["seen"] += 1
            if parsed[0] % stride == 0:
                outcome["latencies"].append((received - parsed[1]) * 1000)
            if outcome["seen"] >= total:
                break

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return process, thread, outcome


def run_case(server, access: str, path: Path, name: str, clients: int, seconds: float) -> tuple[Row, Row]:
    total = int(LINES_PER_SECOND * seconds)
    stride = max(1, total * clients // MAX_SAMPLES)
    processes = 1 if clients == 1 else min(4, max(2, clients // 50))
    shares = [clients // processes + (index < clients % processes) for index in range(processes)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    queue = context.Queue()
    url = f"{server.ws_url}/api/v1/server/logs/{name}/ws"
    workers = [
        context.Process(target=client_process, args=(url, access, share, total, stride, seconds, barrier, queue))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    tail, tail_thread, tail_outcome = tail_reference(path, total, max(1, total // MAX_SAMPLES))
    barrier.wait(timeout=300)  # every client connected and holds its first message
    time.sleep(0.5)  # tail -F has set up its watch by now
    daphne = psutil.Process(server.process.pid)
    cpu_before, wall_before = cpu_seconds(daphne), time.monotonic()
    writer = context.Process(target=write_lines, args=(str(path), total))
    writer.start()
    writer.join()
    cpu = (cpu_seconds(daphne) - cpu_before) / (time.monotonic() - wall_before)
    outcomes = [outcome for _ in workers for outcome in queue.get(timeout=seconds + GRACE_SECONDS + 120)]
    for worker in workers:
        worker.join(timeout=30)
    tail_thread.join(timeout=GRACE_SECONDS)
    tail.terminate()
    tail.wait()
    assert len(outcomes) == clients, f"{len(outcomes)} of {clients} clients reported"
    latencies = [latency for outcome in outcomes for latency in outcome["latencies"]]
    lost = sum(outcome["lost"] for outcome in outcomes)
    duplicated = sum(outcome["duplicated"] for outcome in outcomes)
    assert latencies or lost == total * clients, "no line arrived and none counted lost"
    ours = Row(
        case_name(clients),
        latencies,
        {
            "lines written": str(total),
            "lost (all clients)": str(lost),
            "clients losing lines": str(sum(outcome["lost"] > 0 for outcome in outcomes)),
            "duplicated": str(duplicated),
            "max ms": f"{max(outcome['max'] for outcome in outcomes):.0f}",
            "daphne CPU": f"{cpu:.0%}",
            "client CPU s": f"{sum(outcome['client_cpu'] for outcome in outcomes):.1f}",
        },
        reported={"lost": lost, "duplicated": duplicated, "daphne CPU %": cpu * 100},
    )
    reference = Row(
        f"tail -F, during {clients_text(clients)}",
        tail_outcome["latencies"],
        {"lines written": str(total), "lost (all clients)": str(total - tail_outcome["seen"])},
    )
    return ours, reference


def main() -> Result:
    seconds = bench_seconds()
    result = Result(
        name="live_tail",
        title="2. Live tail (WebSocket)",
        method=(
            "WS /api/v1/server/logs/{type}/ws through a real daphne, JWT via subprotocols; "
            f"{', '.join(map(str, CLIENTS))} clients (Python `websockets`, no compression, spread over 1 to 4 client "
            f"processes), each case on its own log file. A writer process appends {LINES_PER_SECOND} lines/s for "
            f"{seconds:g} s (WPDASH_BENCH_SECONDS), 20 lines every 10 ms, "
            "each with its sequence number and time.time() at write; latency = time.time() at receipt of the "
            "WebSocket message minus write time (same host clock), sampled every k-th sequence number (≤ "
            f"{MAX_SAMPLES} samples a case); lost/duplicated counted per client over every sequence number. "
            "Daphne CPU = psutil cpu_times delta / wall time while writing. Reference: `tail -F -n 0` on the same "
            "file during the same run, its stdout read line by line in a thread, timed the same way."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-live-") as tmp:
        tmp_path = Path(tmp)
        files = {f"live{clients}": tmp_path / f"live{clients}.log" for clients in CLIENTS}
        for path in files.values():
            path.write_text("".join(f"preamble line {index}\n" for index in range(60)))
        logs = ",".join(f"{name}={path}" for name, path in files.items())
        env = environ_for_server(WPDASH_LOGS=logs, WPDASH_JWT_ACCESS_MINUTES="60")
        with live_server(tmp_path, **env) as server:
            server.create_user("bench", PASSWORD)
            access = bearer_token(server)
            for clients in CLIENTS:
                name = f"live{clients}"
                ours, reference = run_case(server, access, files[name], name, clients, seconds)
                result.rows += [ours, reference]
                print(f"{ours.case}: p50 {ours.median:.1f} ms p99 {ours.p99:.1f} ms {ours.extra}", flush=True)
    for clients in CLIENTS:
        ours = result.rows[CLIENTS.index(clients) * 2]
        reference = result.rows[CLIENTS.index(clients) * 2 + 1]
        result.ratio(f"p99 ours / tail -F, {clients_text(clients)}", ours.case, reference.case, "—", stat="p99")
    check_goals(result)
    ours = result.rows[-2]
    result.notes.append(f"p99 = {percentile(ours.samples_ms, 0.99):.1f} ms over {len(ours.samples_ms)} samples")
    result.save()
    return result


def check_goals(result: Result) -> None:
    """Each goal a line of the ratio table, and a note per number of clients: met, or what missed."""
    for clients, goals in GOALS.items():
        if clients not in CLIENTS:
            result.notes.append(
                f"goals at {clients_text(clients)}: not checked, not measured (WPDASH_BENCH_LIVE_CLIENTS)"
            )
            continue
        row, missed = result.row(case_name(clients)), []
        for what, stat, goal in goals:
            value = row.stat(stat)
            shown = f"{value:.0f}" if stat in ("lost", "duplicated") else f"{value:.1f}"
            result.record(f"{clients_text(clients)}: {what}", value, goal, shown=shown)
            if verdict(goal, value) != "met":
                missed.append(f"{what} {shown}, goal {goal}")
        wanted = ", ".join(f"{what} {goal}" for what, _, goal in goals)
        state = "met" if not missed else "MISSED: " + "; ".join(missed)
        result.notes.append(f"goals at {clients_text(clients)}, {LINES_PER_SECOND} lines/s ({wanted}): {state}")


if __name__ == "__main__":
    main()

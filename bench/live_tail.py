"""Benchmark 2 — live tail: WebSocket clients on one log through a real daphne.

Cases (WPDASH_BENCH_LIVE_CLIENTS, "CLIENTS" or "CLIENTS@LINES_PER_SECOND" separated by
commas): 1 client at 200 lines/s, the rate of issue 26's side-by-side run against the
seed's own implementation; then 1, 50 and 200 clients at 2,000 lines/s. A writer process
appends the lines in a batch every 10 ms, each carrying its sequence number and its
time.time() at write. Clients (the `websockets` library, spread over a few processes so
the client side is not the bottleneck) record, per line, receipt time minus write time
(same host clock), and per client which sequence numbers arrived: lost = never arrived,
duplicated = arrived more than once.

References, in the same run and on the same file, timed the same way:
- the seed's way (its logs plan: "Poll every 2 seconds", sending the last 50 lines each
  time): a thread that every 2 s reads the whole file, keeps its last 50 lines and
  counts them as received then. It shows what resending a snapshot loses and how late
  what it keeps arrives (issue 26's run: the seed lost 85 % of lines at 200 lines/s,
  with a 152 ms median). One such reader stands for every client of the case.
- `tail -F` (coreutils), its stdout read in a thread: the kernel's and the file's share.
Goals (GOALS, issue 15's figures that issue 26 holds): at 2,000 lines/s, 1 client median
≤ 5 ms and p99 ≤ 20 ms; 200 clients p99 ≤ 50 ms with 0 lost and 0 duplicated, and
daphne's CPU below 40 % of a core; at 200 lines/s, 1 client median ≤ 5 ms, 0 lost and
0 duplicated (issue 26's run: wpdash lost none, at 0.5 ms).
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
from bench.tail import naive_tail
from tests.support.servers import live_server

LINES_PER_SECOND = 2000  # unless a case names its own rate
SEED_RATE = 200  # lines/s of issue 26's side-by-side run


def parse_cases(text: str) -> tuple[tuple[int, int], ...]:
    """Cases as (clients, lines written per second): "1@200,1,50" is ((1, 200), (1, 2000), (50, 2000))."""
    cases = []
    for item in text.split(","):
        clients, _, rate = item.strip().partition("@")
        cases.append((int(clients), int(rate or LINES_PER_SECOND)))
    return tuple(cases)


CASES = parse_cases(os.environ.get("WPDASH_BENCH_LIVE_CLIENTS", f"1@{SEED_RATE},1,50,200"))
BATCH_SECONDS = 0.01
SEED_POLL_SECONDS = 2.0  # the seed's live tail: every 2 s, the last SEED_LINES lines of the file
SEED_LINES = 50
GRACE_SECONDS = 10.0  # after the writer stops, how long clients wait for stragglers
MAX_SAMPLES = 100_000  # latency samples kept per case (every k-th sequence number)
PADDING = "GET /wp-admin/admin-ajax.php HTTP/1.1 200 1234 bench-live-tail"
# Per case (clients, lines/s): (what, Row.stat, goal).
GOALS = {
    (1, SEED_RATE): [
        ("median ms", "median", "≤ 5"),
        ("lines lost", "lost", "= 0"),
        ("lines duplicated", "duplicated", "= 0"),
    ],
    (1, LINES_PER_SECOND): [("median ms", "median", "≤ 5"), ("p99 ms", "p99", "≤ 20")],
    (200, LINES_PER_SECOND): [
        ("p99 ms", "p99", "≤ 50"),
        ("lines lost", "lost", "= 0"),
        ("lines duplicated", "duplicated", "= 0"),
        ("daphne CPU %", "daphne CPU %", "< 40"),
    ],
}


def clients_text(clients: int) -> str:
    return f"{clients} client{'s' if clients > 1 else ''}"


def case_text(clients: int, rate: int) -> str:
    return f"{clients_text(clients)}, {rate} lines/s"


def case_name(clients: int, rate: int) -> str:
    return f"ours, {case_text(clients, rate)}"


def parse(line: str) -> tuple[int, float] | None:
    parts = line.split(" ", 2)
    try:
        return int(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        return None  # a preamble line


def write_lines(path: str, total: int, rate: int) -> None:
    """Append `total` lines at `rate` a second, a batch every BATCH_SECONDS."""
    per_batch = max(1, int(rate * BATCH_SECONDS))
    with open(path, "a", encoding="utf-8") as handle:
        start = time.monotonic()
        sequence = 0
        while sequence < total:
            delay = start + sequence / rate - time.monotonic()
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


def seed_reference(path: Path, total: int, written: threading.Event) -> tuple[threading.Thread, dict]:
    """The seed's live tail for one client: every SEED_POLL_SECONDS, read the whole file and
    send its last SEED_LINES lines, received as soon as read. It keeps polling until one
    snapshot has been taken after the writer finished (`written`), as the seed's loop would."""
    outcome: dict = {"latencies": [], "seen": bytearray(total), "duplicated": 0}

    def poll() -> None:
        while True:
            time.sleep(SEED_POLL_SECONDS)
            last = written.is_set()
            snapshot = naive_tail(path, SEED_LINES)
            received = time.time()
            for line in snapshot:
                parsed = parse(line)
                if parsed is None or parsed[0] >= total:
                    continue  # a preamble line
                if outcome["seen"][parsed[0]]:
                    outcome["duplicated"] += 1
                else:
                    outcome["seen"][parsed[0]] = 1
                    outcome["latencies"].append((received - parsed[1]) * 1000)
            if last:
                return

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread, outcome


def run_case(
    server, access: str, path: Path, name: str, clients: int, rate: int, seconds: float
) -> tuple[Row, Row, Row]:
    total = int(rate * seconds)
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
    written = threading.Event()
    seed_thread, seed_outcome = seed_reference(path, total, written)
    writer = context.Process(target=write_lines, args=(str(path), total, rate))
    writer.start()
    writer.join()
    written.set()
    cpu = (cpu_seconds(daphne) - cpu_before) / (time.monotonic() - wall_before)
    outcomes = [outcome for _ in workers for outcome in queue.get(timeout=seconds + GRACE_SECONDS + 120)]
    for worker in workers:
        worker.join(timeout=30)
    tail_thread.join(timeout=GRACE_SECONDS)
    tail.terminate()
    tail.wait()
    seed_thread.join(timeout=2 * SEED_POLL_SECONDS + 30)
    assert not seed_thread.is_alive(), "the seed's way did not take its last snapshot"
    assert len(outcomes) == clients, f"{len(outcomes)} of {clients} clients reported"
    latencies = [latency for outcome in outcomes for latency in outcome["latencies"]]
    lost = sum(outcome["lost"] for outcome in outcomes)
    duplicated = sum(outcome["duplicated"] for outcome in outcomes)
    assert latencies or lost == total * clients, "no line arrived and none counted lost"
    ours = Row(
        case_name(clients, rate),
        latencies,
        {
            "lines written": str(total),
            "lost (all clients)": str(lost),
            "lost %": f"{lost / (total * clients):.1%}",
            "clients losing lines": str(sum(outcome["lost"] > 0 for outcome in outcomes)),
            "duplicated": str(duplicated),
            "max ms": f"{max(outcome['max'] for outcome in outcomes):.0f}",
            "daphne CPU": f"{cpu:.0%}",
            "client CPU s": f"{sum(outcome['client_cpu'] for outcome in outcomes):.1f}",
        },
        reported={"lost": lost, "duplicated": duplicated, "daphne CPU %": cpu * 100},
    )
    reference = Row(
        f"tail -F, during {case_text(clients, rate)}",
        tail_outcome["latencies"],
        {"lines written": str(total), "lost (all clients)": str(total - tail_outcome["seen"])},
    )
    seed_lost = total - sum(seed_outcome["seen"])
    seed = Row(
        f"seed's way (last {SEED_LINES} lines every {SEED_POLL_SECONDS:g} s), during {case_text(clients, rate)}",
        seed_outcome["latencies"],
        {
            "lines written": str(total),
            "lost (all clients)": f"{seed_lost} (one client)",
            "lost %": f"{seed_lost / total:.1%}",
            "duplicated": str(seed_outcome["duplicated"]),
        },
        reported={"lost %": seed_lost / total * 100},
    )
    return ours, reference, seed


def main() -> Result:
    seconds = bench_seconds()
    result = Result(
        name="live_tail",
        title="2. Live tail (WebSocket)",
        method=(
            "WS /api/v1/server/logs/{type}/ws through a real daphne, JWT via subprotocols; cases "
            f"{', '.join(case_text(*case) for case in CASES)} (WPDASH_BENCH_LIVE_CLIENTS; Python `websockets`, no "
            "compression, spread over 1 to 4 client processes), each case on its own log file. A writer process "
            f"appends the case's lines/s for {seconds:g} s (WPDASH_BENCH_SECONDS), a batch every 10 ms, "
            "each with its sequence number and time.time() at write; latency = time.time() at receipt of the "
            "WebSocket message minus write time (same host clock), sampled every k-th sequence number (≤ "
            f"{MAX_SAMPLES} samples a case); lost/duplicated counted per client over every sequence number. "
            "Daphne CPU = psutil cpu_times delta / wall time while writing. References on the same file during the "
            f"same run, timed the same way: the seed's way, a thread that every {SEED_POLL_SECONDS:g} s reads the "
            f"whole file and takes its last {SEED_LINES} lines as received (its logs plan's live tail; one reader "
            "for the case), and `tail -F -n 0`, its stdout read line by line in a thread."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-live-") as tmp:
        tmp_path = Path(tmp)
        files = {log_name(*case): tmp_path / f"{log_name(*case)}.log" for case in CASES}
        for path in files.values():
            path.write_text("".join(f"preamble line {index}\n" for index in range(60)))
        logs = ",".join(f"{name}={path}" for name, path in files.items())
        env = environ_for_server(WPDASH_LOGS=logs, WPDASH_JWT_ACCESS_MINUTES="60")
        with live_server(tmp_path, **env) as server:
            server.create_user("bench", PASSWORD)
            access = bearer_token(server)
            for clients, rate in CASES:
                name = log_name(clients, rate)
                ours, reference, seed = run_case(server, access, files[name], name, clients, rate, seconds)
                result.rows += [ours, reference, seed]
                print(f"{ours.case}: p50 {ours.median:.1f} ms p99 {ours.p99:.1f} ms {ours.extra}", flush=True)
                print(f"{seed.case}: p50 {seed.median:.1f} ms {seed.extra}", flush=True)
    for index, case in enumerate(CASES):
        ours, reference, seed = result.rows[3 * index : 3 * index + 3]
        result.ratio(f"p99 ours / tail -F, {case_text(*case)}", ours.case, reference.case, "—", stat="p99")
        result.ratio(f"median, seed's way / ours, {case_text(*case)}", seed.case, ours.case)
        result.record(f"seed's way, {case_text(*case)}: lines lost %", seed.stat("lost %"), shown=seed.extra["lost %"])
    check_goals(result)
    result.notes.append(
        f"issue 26's side-by-side run, at {SEED_RATE} lines/s: the seed's own implementation lost 85 % of lines with "
        "a 152 ms median; wpdash lost none, at 0.5 ms"
    )
    ours = result.rows[-3]
    result.notes.append(
        f"{ours.case}: p99 = {percentile(ours.samples_ms, 0.99):.1f} ms over {len(ours.samples_ms)} samples"
    )
    result.save()
    return result


def log_name(clients: int, rate: int) -> str:
    return f"live{clients}-{rate}"


def check_goals(result: Result) -> None:
    """Each goal a line of the ratio table, and a note per case: met, or what missed."""
    for (clients, rate), goals in GOALS.items():
        if (clients, rate) not in CASES:
            result.notes.append(
                f"goals at {case_text(clients, rate)}: not checked, not measured (WPDASH_BENCH_LIVE_CLIENTS)"
            )
            continue
        row, missed = result.row(case_name(clients, rate)), []
        for what, stat, goal in goals:
            value = row.stat(stat)
            shown = f"{value:.0f}" if stat in ("lost", "duplicated") else f"{value:.1f}"
            result.record(f"{case_text(clients, rate)}: {what}", value, goal, shown=shown)
            if verdict(goal, value) != "met":
                missed.append(f"{what} {shown}, goal {goal}")
        wanted = ", ".join(f"{what} {goal}" for what, _, goal in goals)
        state = "met" if not missed else "MISSED: " + "; ".join(missed)
        result.notes.append(f"goals at {case_text(clients, rate)} ({wanted}): {state}")


if __name__ == "__main__":
    main()

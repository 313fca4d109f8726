"""Benchmark 9 — alerts: how fast the watcher tells, and what it costs while nothing happens.

1. A unit turning `failed` (the stand-in systemctl's state) → the firing mail accepted by a
   real SMTP server (aiosmtpd), at the default interval (WPDASH_WATCH_SECONDS=5). Each
   sample fails one of ten units at a random moment of the watcher's cycle, waits for the
   mail, then turns it active again (WPDASH_ALERT_CLEAR_SECONDS=0: resolved at the next
   look). Goal: ≤ 10 s p99.
2. A matching line appended to a followed log → the push received by a real HTTP endpoint
   through Apprise's json:// URL. Each sample writes a line of its own pattern into one of
   six logs (10 patterns x 6 logs: every sample a new alert, none deduplicated). Goal: ≤ 5 s p99.
3. The watcher idle (no alert) on a box with 10 units and 6 logs (plus the 10 units'
   journals, as configured sources are): its own CPU (psutil cpu_times delta / wall time,
   children apart) and RSS sampled every 10 s for WPDASH_BENCH_WATCH_SECONDS (default 600;
   3600 for the issue's hour). Goals: ≤ 1 % of a core, ≤ 60 MiB RSS, flat.

Times are time.time() at the event and at the receiver's acceptance (same host clock).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import Result, Row, cpu_seconds, environ_for_server, percentile
from tests.support.journal import JournalDirectory, require_journal_tools
from tests.support.receivers import smtp_server, webhook_receiver
from tests.support.servers import REPO, live_database_url, run_manage, wait_until
from tests.support.systemd import FakeSystemd

UNITS_ADDED = {  # five more installed units: ten in all, as on a WordOps box with two PHP versions
    "php8.1-fpm.service": "php8.1-fpm",
    "postfix.service": "postfix",
    "fail2ban.service": "fail2ban",
    "ufw.service": "ufw",
    "php8.3-fpm.service": "php8.3-fpm",
}
UNIT_SAMPLES = int(os.environ.get("WPDASH_BENCH_ALERT_SAMPLES", 40))
LINE_SAMPLES = 60  # 10 patterns x 6 logs
SAMPLE_SECONDS = 10.0


def add_units(fake: FakeSystemd) -> list[str]:
    def change(state: dict) -> None:
        template = state["units"]["nginx.service"]
        for pid, (unit, _name) in enumerate(UNITS_ADDED.items(), 500):
            state["units"][unit] = {**template, "Id": unit, "Names": unit, "MainPID": str(pid)}

    fake._update(change)
    return list(fake.state()["units"])


def start_watcher(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "watch"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    wait_until(lambda: "acts (it holds the lease)" in log.read_text(errors="replace"), timeout=60, message="watcher")
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> Result:
    result = Result(
        name="alerts",
        title="9. Alerts (the watcher)",
        method=__doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
    )
    seconds = float(os.environ.get("WPDASH_BENCH_WATCH_SECONDS", 600))
    require_journal_tools()
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-alerts-") as tmp:
        tmp_path = Path(tmp)
        fake = FakeSystemd(tmp_path / "systemd")
        unit_ids = add_units(fake)
        logs = []
        for index in range(6):
            folder = tmp_path / f"logs{index}"
            folder.mkdir(mode=0o755)
            path = folder / "app.log"
            path.write_text("started\n")
            logs.append(path)
        journal = JournalDirectory(tmp_path / "journal")
        journal.load_fixture(require_journal_tools())
        data = tmp_path / "data"
        data.mkdir()
        with smtp_server() as mailbox, webhook_receiver() as hook:
            env = {
                **os.environ,
                **environ_for_server(
                    WPDASH_DATA_DIR=str(data),
                    DATABASE_URL=live_database_url(data),
                    WPDASH_SYSTEMCTL=str(fake.path),
                    WPDASH_SUDO="off",
                    WPDASH_SERVICES=",".join(unit.removesuffix(".service") for unit in unit_ids),
                    WPDASH_LOGS=",".join(f"app{index}={path}" for index, path in enumerate(logs)),
                    WPDASH_JOURNAL_DIRECTORY=str(journal.path),
                    WPDASH_METRICS_SOURCE="local",
                    EMAIL_URL=f"smtp://127.0.0.1:{mailbox.port}",
                    WPDASH_ALERT_EMAIL="ops@example.org",
                    WPDASH_ALERT_URLS=hook.url,
                    WPDASH_ALERT_CLEAR_SECONDS="0",
                    WPDASH_ALERT_PATTERNS=",".join(f"bench-p{n}=BENCH-PATTERN-{n}:" for n in range(10)),
                    WPDASH_CERT_DIR=str(tmp_path / "no-certificates"),
                    WPDASH_REBOOT_REQUIRED_FILE=str(tmp_path / "reboot-required"),
                    WPDASH_ALERT_OFF="security-updates",  # this machine's own packages are not the benchmark's
                    PYTHONUNBUFFERED="1",
                ),
            }
            migrated = run_manage(env, "migrate", "--noinput")
            assert migrated.returncode == 0, migrated.stderr
            watcher = start_watcher(env, tmp_path / "watch.log")
            try:
                idle(result, watcher, seconds)
                unit_delays(result, fake, unit_ids, mailbox)
                line_delays(result, logs, hook)
            finally:
                stop(watcher)
    result.save()
    return result


def idle(result: Result, watcher: subprocess.Popen, seconds: float) -> None:
    process = psutil.Process(watcher.pid)
    time.sleep(15)  # past start-up (imports, first looks, the followers' first reads)
    start_cpu, start_wall = cpu_seconds(process), time.monotonic()
    children_start = sum(cpu_seconds(child) for child in process.children(recursive=True))
    rss: list[float] = []
    deadline = start_wall + seconds
    while time.monotonic() < deadline:
        rss.append(process.memory_info().rss / 2**20)
        time.sleep(SAMPLE_SECONDS)
    rss.append(process.memory_info().rss / 2**20)
    wall = time.monotonic() - start_wall
    cpu = (cpu_seconds(process) - start_cpu) / wall * 100
    children = process.children(recursive=True)
    children_cpu = (sum(cpu_seconds(child) for child in children) - children_start) / wall * 100
    children_rss = sum(child.memory_info().rss for child in children) / 2**20
    half = len(rss) // 2
    drift = sum(rss[half:]) / len(rss[half:]) - sum(rss[:half]) / max(1, half)
    row = Row(
        case=f"watcher idle, 10 units, 6 logs, {wall:.0f} s",
        extra={
            "CPU % of a core": f"{cpu:.2f}",
            "RSS MiB first/max/last": f"{rss[0]:.1f} / {max(rss):.1f} / {rss[-1]:.1f}",
            "RSS drift MiB (2nd half - 1st)": f"{drift:+.2f}",
            "children (journalctl x10)": f"{len(children)} processes, {children_rss:.0f} MiB, {children_cpu:.2f} % CPU",
        },
        reported={"CPU %": cpu, "RSS MiB": max(rss), "drift": drift},
    )
    result.rows.append(row)
    result.record("idle watcher CPU, % of a core", cpu, "≤ 1")
    result.record("idle watcher RSS, max MiB", max(rss), "≤ 60")
    result.record("idle watcher RSS drift, MiB (second half - first half)", drift, "≤ 2")


def unit_delays(result: Result, fake: FakeSystemd, unit_ids: list[str], mailbox) -> None:
    samples = []
    rng = random.Random(27)
    for index in range(UNIT_SAMPLES):
        unit = unit_ids[index % len(unit_ids)]
        time.sleep(rng.uniform(0, 5))  # a random moment of the watcher's 5 s cycle
        count = len(mailbox.messages)
        broken_at = time.time()
        fake.set(unit, ActiveState="failed", SubState="failed", MainPID="0")
        mailbox.wait_for(count + 1, timeout=60)
        samples.append((mailbox.accepted_at[count] - broken_at) * 1000)
        fake.set(unit, ActiveState="active", SubState="running", MainPID=str(2000 + index))
        mailbox.wait_for(count + 2, timeout=60)  # its resolved mail, before the next sample
    result.rows.append(Row("unit failed → mail accepted (WPDASH_WATCH_SECONDS=5)", samples))
    result.record("unit failed → mail accepted, p99 s", percentile(samples, 0.99) / 1000, "≤ 10")


def line_delays(result: Result, logs: list[Path], hook) -> None:
    samples = []
    rng = random.Random(5)
    for index in range(LINE_SAMPLES):
        pattern, log = index % 10, logs[index // 10]
        time.sleep(rng.uniform(0.2, 1.5))
        count = len(hook.posts)
        written_at = time.time()
        with log.open("a") as handle:
            handle.write(f"2026-12-05 17:00:{index:02d} BENCH-PATTERN-{pattern}: sample {index}\n")
        hook.wait_for(count + 1, timeout=60)
        samples.append((hook.received_at[count] - written_at) * 1000)
    result.rows.append(Row("matching line → push received", samples))
    result.record("matching line → push received, p99 s", percentile(samples, 0.99) / 1000, "≤ 5")


if __name__ == "__main__":
    main()

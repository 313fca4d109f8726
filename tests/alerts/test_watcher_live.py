"""The watcher as an operator runs it: `manage.py watch` processes beside a real daphne, a
real SMTP server and a real webhook receiver, the stand-in systemctl, real log and journal
files and real certificates. Each alert is sent once when it fires and once when it
resolves; a flapping unit is one alert; of two watchers one acts, and one killed while the
other runs loses and doubles nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.support.certificates import install_live
from tests.support.journal import JournalDirectory, require_journal_tools
from tests.support.receivers import Hook, Mailbox, smtp_server, webhook_receiver
from tests.support.servers import REPO, LiveServer, live_server, wait_until
from tests.support.systemd import FakeSystemd
from tests.support.users import PASSWORD

FATAL = (
    "[05-Dec-2026 17:00:07 UTC] PHP Fatal error:  Uncaught Error: Call to undefined function wp_nope() in "
    "/var/www/example.com/htdocs/wp-content/plugins/broken/broken.php:12"
)


@dataclass
class Box:
    server: LiveServer
    systemd: FakeSystemd
    mailbox: Mailbox
    hook: Hook
    log: Path
    live: Path
    journal: JournalDirectory
    watchers: list[subprocess.Popen]

    def watch(self, name: str) -> subprocess.Popen:
        log = (self.server.data_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "watch"], cwd=REPO, env=self.server.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.watchers.append(process)
        return process

    def watcher_log(self, name: str) -> str:
        return (self.server.data_dir / f"{name}.log").read_text(errors="replace")

    def alerts(self, **query: str) -> list[dict]:
        session = requests.Session()
        session.auth = None
        token = requests.post(
            f"{self.server.url}/api/v1/auth/token", json={"username": "ops", "password": PASSWORD}, timeout=10
        ).json()["access"]
        answer = requests.get(
            f"{self.server.url}/api/v1/server/alerts",
            params=query,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["results"]

    def write(self, line: str) -> None:
        with self.log.open("a") as handle:
            handle.write(line + "\n")


@pytest.fixture
def box(tmp_path) -> Iterator[Box]:
    fixture = require_journal_tools()
    systemd = FakeSystemd(tmp_path / "systemd")
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    log = folder / "php8.2-fpm.log"
    log.write_text("[05-Dec-2026 16:00:00] NOTICE: fpm is running, pid 285\n")
    live = tmp_path / "letsencrypt" / "live"
    live.mkdir(parents=True)
    install_live(live, "example.com", timedelta(days=60))
    journal = JournalDirectory(tmp_path / "journal")
    journal.load_fixture(fixture)
    with smtp_server() as mailbox, webhook_receiver() as hook:
        settings = {
            "WPDASH_SYSTEMCTL": str(systemd.path),
            "WPDASH_SUDO": "off",
            "WPDASH_LOGS": f"php-fpm={log},mysql=journal:mariadb.service",
            "WPDASH_JOURNAL_DIRECTORY": str(journal.path),
            "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}",
            "WPDASH_ALERT_EMAIL": "ops@example.org",
            "WPDASH_ALERT_URLS": hook.url,
            "WPDASH_WATCH_SECONDS": "1",
            "WPDASH_ALERT_CLEAR_SECONDS": "2",
            "WPDASH_ALERT_LOG_QUIET_SECONDS": "12",
            "WPDASH_CERT_DIR": str(live),
            "WPDASH_REBOOT_REQUIRED_FILE": str(tmp_path / "reboot-required"),
            "WPDASH_METRICS_SOURCE": "local",
            # What depends on this machine's own load and packages is left out here (tests/alerts/test_rules.py).
            "WPDASH_ALERT_OFF": "security-updates,cpu-high,ram-high,disk-full,disk-filling",
            "WPDASH_PUBLIC_URL": "https://dash.example.com",
        }
        with live_server(tmp_path, **settings) as server:
            server.create_user("ops", PASSWORD)
            found = Box(server, systemd, mailbox, hook, log, live, journal, [])
            try:
                yield found
            finally:
                for process in found.watchers:
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGTERM)
                for process in found.watchers:
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()


def acting(box: Box, name: str) -> bool:
    return "acts (it holds the lease)" in box.watcher_log(name)


def settle(seconds: float = 4.0) -> None:
    """Wait past a few intervals, so a message that should not come would have come."""
    time.sleep(seconds)


def kinds(titles: list[str]) -> list[str]:
    return sorted(" ".join(title.split()[1:3]) + " " + title.split(": ", 1)[1][:40] for title in titles)


def test_a_broken_unit_a_fatal_error_and_an_expiring_certificate_are_each_told_once_and_resolved_once(box):
    box.watch("watch-1")
    wait_until(lambda: acting(box, "watch-1"), timeout=30, message="the watcher to act")

    box.systemd.set("php8.2-fpm.service", ActiveState="failed", SubState="failed", MainPID="0")
    box.mailbox.wait_for(1)
    box.write(FATAL)
    box.mailbox.wait_for(2)
    soon = install_live(box.live, "shop.example.com", timedelta(days=3))
    box.mailbox.wait_for(3)
    box.hook.wait_for(3)
    settle()

    subjects = box.mailbox.subjects()
    assert len(subjects) == 3 and len(box.hook.posts) == 3
    assert all(subject.startswith("[wpdash] FIRING ") for subject in subjects), subjects
    assert any("php8.2-fpm has failed" in subject for subject in subjects)
    assert any('matched "PHP Fatal error"' in subject for subject in subjects)
    assert any("shop.example.com" in subject and "expires in 3.0 days" in subject for subject in subjects)

    firing = {alert["rule"]: alert for alert in box.alerts(state="firing")}
    assert sorted(firing) == ["certificate", "php-fatal", "unit-failed"]
    assert set(firing["unit-failed"]) == {
        "id",
        "rule",
        "subject",
        "severity",
        "state",
        "started_at",
        "resolved_at",
        "summary",
        "evidence",
    }
    assert firing["unit-failed"]["subject"] == "php8.2-fpm"
    assert firing["unit-failed"]["evidence"]["active_state"] == "failed"
    assert "journal" in firing["unit-failed"]["evidence"] or "journal_unavailable" in firing["unit-failed"]["evidence"]
    assert firing["php-fatal"]["evidence"]["lines"] == [FATAL]
    assert firing["certificate"]["subject"] == str(soon)
    assert firing["certificate"]["evidence"]["days_left"] == pytest.approx(3.0, abs=0.01)
    mail_body = next(body for body in box.mailbox.bodies() if "PHP Fatal error" in body)
    assert "Dashboard: https://dash.example.com/#alert-" in mail_body and FATAL in mail_body

    # The repairs: the unit back, the certificate renewed, the log quiet.
    box.systemd.set("php8.2-fpm.service", ActiveState="active", SubState="running", MainPID="9001")
    install_live(box.live, "shop.example.com", timedelta(days=90))
    box.mailbox.wait_for(6, timeout=40)
    box.hook.wait_for(6, timeout=40)
    settle()

    resolved = [subject for subject in box.mailbox.subjects() if subject.startswith("[wpdash] RESOLVED ")]
    assert len(box.mailbox.subjects()) == 6 and len(resolved) == 3 and len(box.hook.posts) == 6
    assert box.alerts(state="firing") == []
    assert sorted(alert["rule"] for alert in box.alerts(state="resolved")) == [
        "certificate",
        "php-fatal",
        "unit-failed",
    ]


def test_a_pattern_in_a_units_journal_is_found_through_journalctl(box):
    box.watch("watch-1")
    wait_until(lambda: acting(box, "watch-1"), timeout=30, message="the watcher to act")
    settle(2)

    box.journal.append("2026-12-05 17:10:00 0 [ERROR] InnoDB: Unable to lock ./ibdata1 error: 11")
    box.mailbox.wait_for(1)

    [alert] = box.alerts(state="firing")
    assert (alert["rule"], alert["subject"]) == ("mariadb-error", "mysql")
    assert alert["evidence"]["lines"][0].endswith("[ERROR] InnoDB: Unable to lock ./ibdata1 error: 11")


def test_a_flapping_unit_is_one_alert_not_a_flood(box):
    box.watch("watch-1")
    wait_until(lambda: acting(box, "watch-1"), timeout=30, message="the watcher to act")

    for flap in range(10):
        state = ("failed", "failed", "0") if flap % 2 == 0 else ("active", "running", str(5000 + flap))
        box.systemd.set("nginx.service", ActiveState=state[0], SubState=state[1], MainPID=state[2])
        time.sleep(0.7)
    box.systemd.set("nginx.service", ActiveState="active", SubState="running", MainPID="6000")
    box.mailbox.wait_for(2, timeout=30)
    settle()

    assert [subject.split()[1] for subject in box.mailbox.subjects()] == ["FIRING", "RESOLVED"]


def test_of_two_watchers_one_acts_and_one_killed_midway_loses_and_doubles_nothing(box):
    first = box.watch("watch-1")
    wait_until(lambda: acting(box, "watch-1"), timeout=30, message="the first watcher to act")
    box.watch("watch-2")
    settle(3)
    assert not acting(box, "watch-2")  # a standby: follows nothing, sends nothing

    box.systemd.set("redis-server.service", ActiveState="failed", SubState="failed", MainPID="0")
    box.mailbox.wait_for(1)
    box.hook.wait_for(1)
    wait_until(lambda: box.watcher_log("watch-1").count(" sent to ") == 2, timeout=10, message="both recorded sent")

    os.kill(first.pid, signal.SIGKILL)  # no clean hand-over: its lease has to expire
    box.write(FATAL)  # while nobody acts
    wait_until(lambda: acting(box, "watch-2"), timeout=30, message="the standby to take over")
    box.mailbox.wait_for(2)
    box.systemd.set("redis-server.service", ActiveState="active", SubState="running", MainPID="7000")
    box.mailbox.wait_for(3)
    box.hook.wait_for(3)
    settle()

    titles = box.mailbox.subjects()
    assert len(titles) == 3 and len(box.hook.posts) == 3
    assert sum("redis-server has failed" in title and "FIRING" in title for title in titles) == 1
    assert sum("RESOLVED" in title and "redis-server" in title for title in titles) == 1
    assert sum("PHP Fatal error" in title for title in titles) == 1


def test_secrets_in_the_mail_and_push_urls_reach_neither_the_watchers_log_nor_the_page(tmp_path):
    systemd = FakeSystemd(tmp_path / "systemd")
    mail_secret, push_secret = "Mail-pa55-w0rd-7", "T0ken-in-the-path-9"
    with smtp_server() as mailbox, webhook_receiver(answer=lambda: 503) as refusing:
        settings = {
            "WPDASH_SYSTEMCTL": str(systemd.path),
            "WPDASH_SUDO": "off",
            "WPDASH_LOGS": f"app={tmp_path / 'app.log'}",
            "WPDASH_LOG_LEVEL": "debug",
            "EMAIL_URL": f"smtp://alerts:{mail_secret}@127.0.0.1:{mailbox.port}",  # this server offers no AUTH
            "WPDASH_ALERT_EMAIL": "ops@example.org",
            "WPDASH_ALERT_URLS": f"json://hook:{push_secret}@127.0.0.1:{refusing.port}/{push_secret}",
            "WPDASH_WATCH_SECONDS": "1",
            "WPDASH_CERT_DIR": str(tmp_path / "none"),
            "WPDASH_METRICS_SOURCE": "local",
            "WPDASH_ALERT_OFF": "security-updates,cpu-high,ram-high,disk-full,disk-filling",
        }
        with live_server(tmp_path, **settings) as server:
            server.create_user("ops", PASSWORD)
            found = Box(server, systemd, mailbox, refusing, tmp_path / "app.log", tmp_path, None, [])  # type: ignore[arg-type]
            try:
                found.watch("watch-1")
                systemd.set("nginx.service", ActiveState="failed", SubState="failed", MainPID="0")
                wait_until(
                    lambda: found.watcher_log("watch-1").count("failed (alert #1, try 1)") == 2,
                    timeout=30,
                    message="both deliveries to fail once",
                )
                page = server.session("ops", PASSWORD).get(f"{server.url}/fragments/alerts", timeout=10).text
            finally:
                for process in found.watchers:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=20)
            log = found.watcher_log("watch-1") + server.log()

    assert "mail to ops@example.org failed" in page and "push to json://hook:****@127.0.0.1" in page
    for secret in (mail_secret, push_secret):
        assert secret not in log
        assert secret not in page

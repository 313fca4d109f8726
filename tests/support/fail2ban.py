"""Debian's fail2ban against the shipped filter and jail (deploy/fail2ban/).

No journald runs on these machines. What wpdash.service writes to stderr, journald
stores as entries with MESSAGE (the line), _SYSTEMD_UNIT=wpdash.service and
SYSLOG_IDENTIFIER=wpdash (the unit's SyslogIdentifier=), stamped when the line
arrived. `write_journal` stores a live daphne's log lines exactly so, in real journal
files (systemd-journal-remote, as tests/support/journal.py does), and fail2ban reads
them with its own journal backend (`journalpath=`): fail2ban-regex for what the
filter matches, fail2ban-server with the shipped jail for what it bans. Only the
jail's action (a file instead of the firewall) and its journal (that directory)
are replaced. Without fail2ban a test skips with the reason; under CI=true it fails.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.support.journal import JournalDirectory, export_entry, require_journal_tools
from tests.support.servers import REPO, missing_server, wait_until

FAIL2BAN_REGEX = Path("/usr/bin/fail2ban-regex")
FAIL2BAN_CLIENT = Path("/usr/bin/fail2ban-client")
SYSTEM_CONFIG = Path("/etc/fail2ban")
SHIPPED = REPO / "deploy" / "fail2ban"
UNIT = "wpdash.service"
_ASCTIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def require_fail2ban() -> None:
    """fail2ban with its journal backend (python3-systemd), and the journal tools."""
    require_journal_tools()
    for program in (FAIL2BAN_REGEX, FAIL2BAN_CLIENT):
        if not program.exists():
            missing_server(f"{program} is missing: apt-get install fail2ban python3-systemd (bin/system-deps)")
    probe = subprocess.run(["/usr/bin/python3", "-c", "import systemd.journal"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        missing_server("fail2ban's journal backend needs python3-systemd (bin/system-deps)")


def write_journal(directory: Path, lines: list[str], *, unit: str = UNIT, identifier: str = "wpdash") -> None:
    """Each line as journald stores a line the unit wrote to stderr, at the time the line
    gives (its asctime; a line without one, such as a traceback's, at the one before)."""
    journal = JournalDirectory(directory)
    data = b""
    stamp = time.time()
    for index, line in enumerate(lines):
        found = _ASCTIME.match(line)
        if found:
            stamp = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S").timestamp() + int(found[2]) / 1000
        data += export_entry(
            line,
            realtime_usec=int(stamp * 1_000_000),
            monotonic_usec=1_000_000 + index,
            unit=unit,
            identifier=identifier,
            pid=4242,
            priority=3,  # a stream's stderr line
        )
    journal.write_export(data)


@dataclass
class Fail2ban:
    """A configuration directory: the system's common parts, the shipped filter and jail,
    and a jail.local pointing the jail at `journal` and its bans at `bans`."""

    root: Path

    @property
    def bans(self) -> Path:
        return self.root / "bans"

    @classmethod
    @contextlib.contextmanager
    def configured(cls, journal: Path) -> Iterator[Fail2ban]:
        """The configuration in a directory of its own, removed afterwards."""
        # A short path: fail2ban's socket path must fit a sockaddr_un.
        root = Path(tempfile.mkdtemp(prefix="f2b-"))
        try:
            cls._write(root, journal)
            yield cls(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    @staticmethod
    def _write(root: Path, journal: Path) -> None:
        for name in ("jail.conf", "paths-common.conf", "paths-debian.conf"):
            shutil.copy(SYSTEM_CONFIG / name, root / name)
        for folder, name in (("filter.d", "common.conf"), ("action.d", "dummy.conf")):
            (root / folder).mkdir(exist_ok=True)
            shutil.copy(SYSTEM_CONFIG / folder / name, root / folder / name)
        (root / "jail.d").mkdir()
        shutil.copy(SHIPPED / "filter.d" / "wpdash.conf", root / "filter.d" / "wpdash.conf")
        shutil.copy(SHIPPED / "jail.d" / "wpdash.conf", root / "jail.d" / "wpdash.conf")
        (root / "fail2ban.conf").write_text(
            "[Definition]\nloglevel = INFO\n"
            f"logtarget = {root / 'server.log'}\nsocket = {root / 's'}\npidfile = {root / 'pid'}\n"
            "dbfile = :memory:\n"
        )
        (root / "jail.local").write_text(
            f"[wpdash]\nbackend = systemd[journalpath={journal}]\naction = dummy[target={root / 'bans'}]\n"
        )

    def regex(self, journal: Path) -> list[str]:
        """The address of every line the shipped filter matches, in order (fail2ban-regex -o ip)."""
        source = f"systemd-journal[journalpath={journal}]"
        result = subprocess.run(
            [str(FAIL2BAN_REGEX), "-c", str(self.root), "-o", "ip", source, "wpdash"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split()

    def client(self, *args: str) -> str:
        result = subprocess.run(
            [str(FAIL2BAN_CLIENT), "-c", str(self.root), *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    @staticmethod
    def seconds(duration: str) -> int:
        """A jail's time ("1h", "10m") in seconds, as fail2ban itself reads it."""
        result = subprocess.run(
            [str(FAIL2BAN_CLIENT), "--str2sec", duration], capture_output=True, text=True, timeout=30, check=True
        )
        return int(result.stdout.strip())

    def total_failed(self) -> int:
        found = re.search(r"Total failed:\s+(\d+)", self.client("status", "wpdash"))
        return int(found[1]) if found else -1

    def banned(self) -> set[str]:
        """Addresses the jail's action was told to ban (the dummy action's "+ADDRESS" lines)."""
        if not self.bans.exists():
            return set()
        return {line[1:] for line in self.bans.read_text().split() if line.startswith("+")}

    @contextlib.contextmanager
    def running(self) -> Iterator[Fail2ban]:
        """fail2ban-server in the foreground with this configuration, stopped afterwards."""
        log = (self.root / "client.log").open("wb")
        process = subprocess.Popen(
            [str(FAIL2BAN_CLIENT), "-c", str(self.root), "-x", "-f", "start"], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        try:
            wait_until(
                lambda: process.poll() is None and (self.root / "s").exists() and self._answers(),
                timeout=30,
                interval=0.2,
                message=f"fail2ban to start ({self.root / 'client.log'})",
            )
            yield self
        finally:
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.client("stop")
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _answers(self) -> bool:
        try:
            return "wpdash" in self.client("status")
        except (AssertionError, subprocess.TimeoutExpired):
            return False

"""Real journal files for the journal tests, made the way systemd makes them.

No journald runs on these machines. systemd-journal-remote (Debian package
systemd-journal-remote) writes journald's own file format from the export format
(shared/fixtures/journal/README.md), and journalctl reads the directory with
`--directory`. Appending through the same program while a `journalctl --follow` runs is
a live journal; renaming the file as journald archives it, and writing a new one, is a
rotation. Without the program a test skips with the reason; under CI=true it fails.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.servers import REPO, missing_server

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
JOURNALCTL = "/usr/bin/journalctl"
FIXTURE_NAME = "debian12-mariadb-nginx.export"
FAILED_RESTARTS = "debian12-failed-restarts.export"  # nginx's and php-fpm's failed restarts
# The captured Debian 12 journals: copied into tests/fixtures/journal/, or the shared ones.
FIXTURE_PLACES = (REPO / "tests" / "fixtures" / "journal", REPO.parent / "shared" / "fixtures" / "journal")
BOOT_ID = "3c1f2b7e9a0d4e6b8f1a2c3d4e5f6a7b"  # the fixture's boot
_TIMESTAMP = re.compile(rb"^__(REALTIME|MONOTONIC)_TIMESTAMP=(\d+)$", re.MULTILINE)


def require_journal_tools(name: str = FIXTURE_NAME) -> Path:
    """The fixture's path, once journal-remote and journalctl are there (else skip, or fail in CI)."""
    for program in (JOURNAL_REMOTE, JOURNALCTL):
        if not os.access(program, os.X_OK):
            missing_server(f"{program} is missing: apt-get install systemd-journal-remote (bin/system-deps)")
    fixture = next((place / name for place in FIXTURE_PLACES if (place / name).is_file()), None)
    if fixture is None:
        missing_server(f"the journal fixture {name} is in none of {[str(p) for p in FIXTURE_PLACES]}")
    assert fixture is not None
    return fixture


def export_entry(
    message: str | bytes | None,
    *,
    realtime_usec: int,
    monotonic_usec: int,
    unit: str = "mariadb.service",
    identifier: str = "mariadbd",
    pid: int = 284,
    priority: int = 6,
    extra: Sequence[tuple[str, str | bytes]] = (),
) -> bytes:
    """One entry in journald's export format; a value that is not one line of UTF-8 (or
    bytes) is written in the format's binary form, as journald exports it."""
    fields: list[tuple[str, str | bytes]] = [
        ("__REALTIME_TIMESTAMP", str(realtime_usec)),
        ("__MONOTONIC_TIMESTAMP", str(monotonic_usec)),
        ("_BOOT_ID", BOOT_ID),
        ("_HOSTNAME", "wpdash-vm"),
        ("SYSLOG_IDENTIFIER", identifier),
        ("PRIORITY", str(priority)),
        ("_SYSTEMD_UNIT", unit),
        ("_PID", str(pid)),
        *([] if message is None else [("MESSAGE", message)]),
        *extra,  # a name given again is a field with two values
    ]
    out = bytearray()
    for name, value in fields:
        raw = value.encode() if isinstance(value, str) else value
        if isinstance(value, str) and "\n" not in value:
            out += name.encode() + b"=" + raw + b"\n"
        else:
            out += name.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
    return bytes(out + b"\n")


def export_entries(data: bytes) -> list[list[tuple[str, bytes]]]:
    """The entries of an export-format stream, each its (field, value) pairs in order. A
    value is one line after `=`, or (binary form) a line with the name, a little-endian
    64-bit length and that many bytes, which may hold line breaks."""
    entries: list[list[tuple[str, bytes]]] = []
    fields: list[tuple[str, bytes]] = []
    at = 0
    while at < len(data):
        end = data.index(b"\n", at)
        line = data[at:end]
        at = end + 1
        if not line:  # a blank line ends an entry
            if fields:
                entries.append(fields)
            fields = []
        elif b"=" in line:
            name, _, value = line.partition(b"=")
            fields.append((name.decode(), value))
        else:
            (size,) = struct.unpack("<Q", data[at : at + 8])
            fields.append((line.decode(), data[at + 8 : at + 8 + size]))
            at += 8 + size + 1  # the value, then its newline
    if fields:
        entries.append(fields)
    return entries


def export_bytes(entries: list[list[tuple[str, bytes]]]) -> bytes:
    """Entries back in the export format; a value with a line break in the binary form."""
    out = bytearray()
    for fields in entries:
        for name, value in fields:
            if b"\n" in value:
                out += name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
            else:
                out += name.encode() + b"=" + value + b"\n"
        out += b"\n"
    return bytes(out)


class JournalDirectory:
    """A directory of real journal files; `file` is the one being written (`NAME.journal`).

    Every appended entry is later (realtime and monotonic, same boot) than every entry
    written before, so journalctl orders them as journald would.
    """

    def __init__(self, path: Path, name: str = "system") -> None:
        self.path = path
        self.name = name
        self.path.mkdir(parents=True, exist_ok=True)
        self.realtime_usec = 0
        self.monotonic_usec = 0
        self.archived: list[Path] = []

    @property
    def file(self) -> Path:
        return self.path / f"{self.name}.journal"

    def write_export(self, data: bytes, file: Path | None = None) -> None:
        """Write export-format entries into `file` (the current one by default) with journal-remote."""
        if not data.endswith(b"\n\n"):
            data += b"\n"  # an entry ends with a blank line; without it journal-remote drops the last
        target = file or self.file
        result = subprocess.run(
            [JOURNAL_REMOTE, "-o", str(target), "-"], input=data, capture_output=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        for kind, value in _TIMESTAMP.findall(data):
            if kind == b"REALTIME":
                self.realtime_usec = max(self.realtime_usec, int(value))
            else:
                self.monotonic_usec = max(self.monotonic_usec, int(value))

    def load_fixture(self, fixture: Path) -> None:
        self.write_export(fixture.read_bytes())

    def append(self, *messages: str | bytes | None, file: Path | None = None, **fields: Any) -> list[str]:
        """Entries one second apart after everything written; returns their messages as text."""
        data = b""
        for message in messages:
            self.realtime_usec += 1_000_000
            self.monotonic_usec += 1_000_000
            data += export_entry(
                message, realtime_usec=self.realtime_usec, monotonic_usec=self.monotonic_usec, **fields
            )
        self.write_export(data, file)
        return [m.decode(errors="replace") if isinstance(m, bytes) else (m or "") for m in messages]

    def rotate(self) -> Path:
        """Archive the current file as journald does (`NAME@SEQNUMID-SEQNUM-REALTIME.journal`);
        the next append starts a new `NAME.journal`."""
        stamp = f"{uuid.uuid4().hex}-{len(self.archived) + 1:016x}-{self.realtime_usec:016x}"
        archive = self.path / f"{self.name}@{stamp}.journal"
        self.file.rename(archive)
        self.archived.append(archive)
        return archive

    def vacuum(self) -> None:
        """Delete the archived files, as `journalctl --vacuum-files=1` would."""
        for archive in self.archived:
            archive.unlink()
        self.archived.clear()


def journalctl_lines(directory: Path, *args: str) -> list[str]:
    """What the real journalctl prints (`-o short-iso`), in the adapter's line format: the
    time without its offset, no host name. For comparing the adapter with journalctl."""
    result = subprocess.run(
        [JOURNALCTL, "--no-pager", "-o", "short-iso", f"--directory={directory}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    shape = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)[+-]\d{4} \S+ (.*)$")
    return [f"{m[1]} {m[2]} {m[3]}" for line in result.stdout.splitlines() if (m := shape.match(line))]

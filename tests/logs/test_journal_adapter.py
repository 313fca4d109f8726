"""adapters.journal's reads and stream against real journal files and the real journalctl (systemd 252
on Debian 12).

The journal is the captured Debian 12 one (shared/fixtures/journal), written into real
journal files by systemd-journal-remote; live follow appends through the same program
while journalctl follows, and rotates files the way journald does.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from server_monitor.adapters import lines
from server_monitor.adapters.journal import reads
from server_monitor.adapters.journal.entries import (
    Entry,
    JournalEnded,
    JournalNotInstalled,
    JournalTimeout,
    JournalUnavailable,
    NoJournal,
)
from server_monitor.adapters.journal.stream import JournalStream
from server_monitor.errors import NotAllowed, Unavailable
from tests.support.journal import JOURNALCTL, JournalDirectory, journalctl_lines, require_journal_tools
from tests.support.logs import run_as_nobody
from tests.support.servers import clean_environ, run_manage, wait_until
from wpdash import env

UNIT = "mariadb.service"
WARNING_LINE = (
    "2026-11-22 03:05:17 [warning] mariadbd[284]: 2026-11-22  3:05:17 0 [Warning] You need to use --log-bin "
    "to make --expire-logs-days or --binlog-expire-logs-seconds work."
)
MARKER = re.compile(r"^\S+ \S+ \[(\w+)\] ")
HOSTILE_NAMES = [
    "nginx;id",
    "-x",
    "../a",
    "..",
    "--file=/etc/shadow",
    "-D/",
    "$(id)",
    "a b",
    "nginx\n",
    "nginx\x00",
    "",
]


@pytest.fixture
def fixture_path() -> Path:
    return require_journal_tools()


@pytest.fixture
def journal_dir(tmp_path, settings, fixture_path) -> JournalDirectory:
    """The captured journal as real journal files, and wpdash pointed at them (in UTC)."""
    settings.TIME_ZONE = "UTC"
    directory = JournalDirectory(tmp_path / "journal")
    directory.load_fixture(fixture_path)
    settings.WPDASH_JOURNAL_DIRECTORY = str(directory.path)
    return directory


@pytest.fixture
def follow(journal_dir) -> Iterator:
    """follow(after_cursor) -> a started JournalStream of mariadb.service, stopped at the end."""
    streams: list[JournalStream] = []

    def start(after_cursor: str | None = None) -> JournalStream:
        stream = JournalStream(UNIT, after_cursor)
        stream.start()
        streams.append(stream)
        return stream

    yield start
    for stream in streams:
        stream.stop()


def read(stream: JournalStream, count: int) -> list[Entry]:
    """Read until `count` entries came (bounded wait), then check that nothing more does."""
    got: list[Entry] = []
    wait_until(lambda: got.extend(stream.read_available(0.2)) or len(got) >= count, 20, message=f"{count} entries")
    assert stream.read_available(0.3) == [], "an entry came twice, or one more than written"
    return got


def wait_for_end(stream: JournalStream) -> Unavailable:
    """Read until the stream reports its child's end (bounded wait); no entry may come first."""
    ended: list[Unavailable] = []

    def check() -> bool:
        try:
            assert stream.read_available(0.2) == []
        except JournalUnavailable as error:
            ended.append(error)
        return bool(ended)

    wait_until(check, 20, message="the end of journalctl")
    return ended[0]


def state(pid: int) -> str:
    """A process's state letter from /proc (S sleeping, R running, Z dead but not reaped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def waiting_on_the_journal(pid: int, directory: JournalDirectory) -> bool:
    """journalctl has the journal file open and sleeps: it has seeked, and waits for writes."""
    opened = {os.path.realpath(link) for link in Path(f"/proc/{pid}/fd").iterdir()}
    return str(directory.file) in opened and state(pid) == "S"


def messages(entries: list[Entry]) -> list[str | None]:
    return [entry.message for entry in entries]


# --- the last entries --------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 5, 500])
def test_the_last_entries_are_what_journalctl_prints_for_the_unit(journal_dir, count):
    expected = journalctl_lines(journal_dir.path, f"--unit={UNIT}", f"--lines={count}")

    tail = reads.last_entries(UNIT, count)

    assert [line.replace("[warning] ", "") for line in tail.lines] == expected
    assert len(expected) == min(count, 23) and tail.complete


def test_a_line_has_the_time_the_identifier_the_pid_and_the_message(journal_dir):
    lines = reads.last_entries(UNIT, 500).lines

    assert lines[0] == "2026-11-22 03:05:12 systemd[1]: Starting mariadb.service - MariaDB 10.11.19 database server..."
    assert lines[-1] == "2026-11-22 03:05:19 /etc/mysql/debian-start[420]: Checking for insecure root accounts."


def test_only_warning_or_worse_is_marked(journal_dir):
    journal_dir.append("Table is marked as crashed", priority=3)
    journal_dir.append("a debug line", priority=7)

    lines = reads.last_entries(UNIT, 500).lines

    assert [marker[1] for line in lines if (marker := MARKER.match(line))] == ["warning", "err"]
    assert WARNING_LINE in lines
    assert lines[-2] == "2026-11-22 03:05:42 [err] mariadbd[284]: Table is marked as crashed"
    assert lines[-1] == "2026-11-22 03:05:43 mariadbd[284]: a debug line"


def test_lines_are_in_the_servers_time_zone(journal_dir, settings):
    settings.TIME_ZONE = "Europe/Berlin"

    assert reads.last_entries(UNIT, 1).lines == [
        "2026-11-22 04:05:19 /etc/mysql/debian-start[420]: Checking for insecure root accounts."
    ]


def test_messages_that_are_bytes_lists_or_missing_are_read(journal_dir):
    journal_dir.append(b"bad \xff\xfe bytes", "two\nlines", None, "long " + "x" * 20_000)
    journal_dir.append("first value", extra=[("MESSAGE", "second value")])  # the field twice

    tail = reads.last_entries(UNIT, 5)

    # Not UTF-8: a list of byte values in JSON. No MESSAGE: not shown (nor by journalctl).
    assert messages(tail.entries)[:2] == ["bad \ufffd\ufffd bytes", "two\nlines"]
    assert len(tail.entries) == 4
    assert tail.entries[2].message.endswith(lines.CUT_MARK)
    assert len(tail.entries[2].message.encode()) == lines.MAX_LINE_BYTES + len(lines.CUT_MARK.encode())
    # A field given twice: the last value counts, as in journalctl's own short output.
    assert tail.lines[-1] == journalctl_lines(journal_dir.path, f"--unit={UNIT}", "--lines=1")[0]
    assert tail.lines[-1].endswith("mariadbd[284]: second value")


def test_the_cursor_is_the_newest_entrys(journal_dir):
    tail = reads.last_entries(UNIT, 3)
    newest = reads.last_entries(UNIT, 1)

    assert tail.cursor == newest.cursor == newest.entries[0].cursor


def test_a_unit_without_entries_has_no_lines_and_the_journals_end_as_cursor(journal_dir):
    tail = reads.last_entries("php8.2-fpm.service", 50)

    assert tail.entries == [] and tail.complete
    assert tail.cursor == reads.end_cursor() == reads.last_entries("nginx.service", 1).cursor


def test_a_unit_name_without_suffix_is_the_service(journal_dir):
    assert reads.last_entries("mariadb", 500).lines == reads.last_entries(UNIT, 500).lines


# --- search ------------------------------------------------------------------------------


def test_a_search_finds_a_known_line_in_any_case(journal_dir):
    tail = reads.last_entries(UNIT, 50, grep="LOG-BIN TO MAKE")

    assert tail.lines == [WARNING_LINE] and tail.complete


def test_a_search_gives_the_last_matches_oldest_first_as_journalctl_finds_them(journal_dir):
    expected = journalctl_lines(journal_dir.path, f"--unit={UNIT}", "--grep=innodb", "--case-sensitive=false")

    tail = reads.last_entries(UNIT, 3, grep="innodb")

    assert tail.lines == expected[-3:]
    assert len(expected) == 14


def test_a_search_text_is_a_literal_not_a_pattern(journal_dir):
    # As a pattern "pool(s)" would match every "pools"; as text only "pool(s)".
    found = reads.last_entries(UNIT, 50, grep="Pool(S)").lines

    assert [line.split(" InnoDB: ")[1] for line in found] == [
        "Loading buffer pool(s) from /var/lib/mysql/ib_buffer_pool",
        "Buffer pool(s) load completed at 261122  3:05:17",
    ]
    assert reads.last_entries(UNIT, 50, grep=".*").entries == []


def test_a_search_without_match_is_empty_not_an_error(journal_dir):
    tail = reads.last_entries(UNIT, 50, grep="no such words anywhere")

    assert tail.entries == [] and tail.complete and tail.cursor == reads.end_cursor()


def test_a_search_that_reaches_the_deadline_answers_incomplete(journal_dir, monkeypatch):
    monkeypatch.setattr(reads, "TIMEOUT", 0.0)

    tail = reads.last_entries(UNIT, 50, grep="innodb")

    assert not tail.complete and tail.cursor is None


def test_a_search_text_with_nul_or_too_long_is_refused(journal_dir):
    for text in ("a\x00b", "x" * (reads.MAX_GREP_CHARS + 1)):
        with pytest.raises(NotAllowed):
            reads.last_entries(UNIT, 5, grep=text)


# --- refused names, missing parts, permissions ---------------------------------------------


@pytest.fixture
def recording_journalctl(tmp_path, settings) -> Path:
    """WPDASH_JOURNALCTL as a program that leaves a mark when it is started at all."""
    mark = tmp_path / "started"
    program = tmp_path / "journalctl"
    program.write_text(f'#!/bin/sh\ntouch {mark}\nexec {JOURNALCTL} "$@"\n')
    program.chmod(0o755)
    settings.WPDASH_JOURNALCTL = str(program)
    return mark


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_a_hostile_unit_name_is_refused_before_journalctl_starts(recording_journalctl, name):
    for call in (
        lambda: reads.last_entries(name, 10),
        lambda: reads.last_entries(name, 10, grep="x"),
        lambda: reads.entries_since(name, 0),
        lambda: JournalStream(name).start(),
    ):
        with pytest.raises(NotAllowed, match="not a valid systemd unit name"):
            call()
    assert not recording_journalctl.exists()


def test_a_hostile_cursor_is_refused(recording_journalctl):
    for cursor in ("--directory=/", "s=1;i=2\n", "x" * 2000):
        with pytest.raises(NotAllowed, match="not a journal cursor"):
            JournalStream(UNIT, cursor)
    assert not recording_journalctl.exists()


def test_journalctl_runs_for_a_good_name(journal_dir, recording_journalctl):
    reads.last_entries(UNIT, 1)

    assert recording_journalctl.exists()


def test_a_missing_journalctl_says_it_is_not_installed(journal_dir, settings, tmp_path):
    settings.WPDASH_JOURNALCTL = str(tmp_path / "no" / "journalctl")

    for call in (lambda: reads.last_entries(UNIT, 5), JournalStream(UNIT).start, reads.end_cursor):
        with pytest.raises(JournalNotInstalled, match="journalctl is not installed"):
            call()


@pytest.mark.parametrize("kind", ["empty", "absent"])
def test_a_directory_without_journal_files_says_so(fixture_path, settings, tmp_path, kind):
    folder = tmp_path / "journal"
    if kind == "empty":
        folder.mkdir()
    settings.WPDASH_JOURNAL_DIRECTORY = str(folder)

    with pytest.raises(NoJournal, match="No journal files were found") as raised:
        reads.last_entries(UNIT, 5)
    assert str(folder) in raised.value.detail
    assert isinstance(raised.value, Unavailable)


def test_an_unreadable_journal_says_which_group_the_user_needs(fixture_path, settings, request):
    if os.geteuid() != 0:
        pytest.skip("needs root: journalctl runs as nobody against root's 0640 journal files")
    folder = Path(tempfile.mkdtemp(prefix="wpdash-journal-"))  # outside root's 0700 pytest folder
    request.addfinalizer(lambda: shutil.rmtree(folder))
    folder.chmod(0o755)
    directory = JournalDirectory(folder)
    directory.load_fixture(fixture_path)  # journal-remote writes it root:root 0640, as journald does
    settings.WPDASH_JOURNAL_DIRECTORY = str(folder)

    def attempt() -> tuple[str, str]:
        try:
            reads.last_entries(UNIT, 5)
        except Unavailable as error:
            return type(error).__name__, error.detail
        return "no error", ""

    kind, detail = run_as_nobody(attempt)

    assert kind == "JournalPermissionDenied"
    assert "insufficient permissions" in detail
    assert "needs group systemd-journal (or adm on Debian)" in detail
    assert "`usermod -aG systemd-journal nobody`" in detail


def test_a_read_past_the_deadline_is_a_timeout(journal_dir, monkeypatch):
    monkeypatch.setattr(reads, "TIMEOUT", 0.0)

    with pytest.raises(JournalTimeout, match="did not answer within 0 seconds"):
        reads.last_entries(UNIT, 5)


def test_the_settings_refuse_a_relative_path_naming_the_variable(tmp_path):
    assert env.envpath("WPDASH_JOURNAL_DIRECTORY", "", {}) == ""
    assert env.envpath("WPDASH_JOURNAL_DIRECTORY", "", {"WPDASH_JOURNAL_DIRECTORY": "/var/log/j/"}) == "/var/log/j"
    with pytest.raises(ImproperlyConfigured, match="WPDASH_JOURNALCTL='journalctl' must be an absolute path"):
        env.envpath("WPDASH_JOURNALCTL", "/usr/bin/journalctl", {"WPDASH_JOURNALCTL": "journalctl"})

    result = run_manage(clean_environ(WPDASH_DATA_DIR=str(tmp_path), WPDASH_JOURNAL_DIRECTORY="var/journal"), "check")

    assert result.returncode != 0
    assert "WPDASH_JOURNAL_DIRECTORY='var/journal' must be an absolute path" in result.stderr


# --- the restart audit -------------------------------------------------------------------


def test_entries_since_give_the_units_lines_from_that_time_on(journal_dir):
    started = 1795316717_000000  # 03:05:17, when "Started mariadb.service" was written

    lines = reads.entries_since(UNIT, started)

    expected = journalctl_lines(journal_dir.path, f"--unit={UNIT}", "--since=@1795316717")
    assert [line.replace("[warning] ", "") for line in lines] == expected
    assert lines[0].startswith("2026-11-22 03:05:17 mariadbd[284]:") and len(lines) == 14


def test_entries_since_keep_the_newest_within_the_bounds(journal_dir):
    everything = reads.entries_since(UNIT, 0, max_lines=500, max_bytes=1_000_000)

    assert reads.entries_since(UNIT, 0, max_lines=3) == everything[-3:]
    budget = sum(len(line.encode()) + 1 for line in everything[-2:])
    assert reads.entries_since(UNIT, 0, max_bytes=budget) == everything[-2:]
    assert reads.entries_since(UNIT, 0, max_bytes=budget - 1) == everything[-1:]
    assert reads.entries_since(UNIT, 0, max_bytes=20) == [everything[-1].encode()[:19].decode()]


def test_entries_since_a_later_time_are_none(journal_dir):
    assert reads.entries_since(UNIT, 1795316800_000000) == []


# --- live follow -------------------------------------------------------------------------


def test_a_stream_delivers_appended_entries_in_order(journal_dir, follow):
    stream = follow(reads.last_entries(UNIT, 5).cursor)
    assert stream.read_available(0.2) == []

    written = journal_dir.append("one", "two", "three")

    got = read(stream, 3)
    assert messages(got) == written
    assert stream.cursor == got[-1].cursor == reads.last_entries(UNIT, 1).cursor


def test_a_stream_joins_a_tail_without_a_gap(journal_dir, follow):
    tail = reads.last_entries(UNIT, 5)
    written = journal_dir.append("between the tail and the stream", "after")

    stream = follow(tail.cursor)

    assert messages(read(stream, 2)) == written


def test_a_stream_without_cursor_starts_at_the_end(journal_dir, follow):
    stream = follow(None)
    wait_until(lambda: waiting_on_the_journal(stream.pid, journal_dir), 20, message="journalctl to wait")
    assert stream.read_available(0) == []

    written = journal_dir.append("new")

    assert messages(read(stream, 1)) == written


def test_a_stream_of_a_unit_with_no_entries_joins_at_the_journals_end(journal_dir, follow):
    tail = reads.last_entries("php8.2-fpm.service", 5)
    stream = JournalStream("php8.2-fpm.service", tail.cursor)
    stream.start()
    try:
        written = journal_dir.append("pool www started", unit="php8.2-fpm.service", identifier="php-fpm8.2")
        assert messages(read(stream, 1)) == written
    finally:
        stream.stop()


def test_a_killed_stream_is_restarted_after_its_cursor_without_loss_or_duplicate(journal_dir, follow):
    stream = follow(reads.last_entries(UNIT, 1).cursor)
    first = journal_dir.append("a1", "a2", "a3")
    assert messages(read(stream, 3)) == first

    pid = stream.pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: state(pid) == "Z", 20, message="journalctl to be dead")  # not reaped yet: ours to reap
    while_dead = journal_dir.append("b1", "b2")
    ended = wait_for_end(stream)
    assert isinstance(ended, JournalEnded) and "was killed by signal 9" in ended.detail
    with pytest.raises(JournalEnded):
        stream.read_available(0)  # it stays ended until restart()

    stream.restart()
    after = journal_dir.append("c1")

    assert messages(read(stream, 3)) == while_dead + after


def test_a_stream_sees_entries_of_a_rotated_journal(journal_dir, follow):
    stream = follow(reads.last_entries(UNIT, 1).cursor)
    before = journal_dir.append("before rotation")
    assert messages(read(stream, 1)) == before

    archive = journal_dir.rotate()
    after = journal_dir.append("in the new file 1", "in the new file 2")

    assert archive.exists() and journal_dir.file.exists()
    assert messages(read(stream, 2)) == after
    other = journal_dir.append("in a second journal file", file=journal_dir.path / "user-1000.journal")
    assert messages(read(stream, 1)) == other


def test_a_restart_after_rotation_and_vacuum_loses_no_entry(journal_dir, follow):
    # The cursor's own entry is gone: --after-cursor (systemd 252) would skip the next one.
    stream = follow(reads.last_entries(UNIT, 1).cursor)
    written = journal_dir.append("last of the old file")
    assert messages(read(stream, 1)) == written
    stream.stop()

    journal_dir.rotate()
    written = journal_dir.append("first of the new file", "second of the new file")
    journal_dir.vacuum()
    stream.start()

    assert messages(read(stream, 2)) == written


def test_stop_ends_a_read_in_flight_and_reaps_the_child(journal_dir, follow):
    stream = follow(None)
    pid = stream.pid
    results: list[list[Entry]] = []
    reader = threading.Thread(target=lambda: results.append(stream.read_available(30)))
    reader.start()
    wait_until(stream._lock.locked, 10, message="the read to be in flight")  # it holds the lock while it waits

    stream.stop()
    reader.join(20)

    assert not reader.is_alive() and results == [[]]
    assert stream.pid is None and not Path(f"/proc/{pid}").exists()
    assert stream.read_available(0) == []
    stream.stop()  # twice is harmless


async def test_an_event_loop_drives_a_stream_through_worker_threads(journal_dir, follow):
    loop = asyncio.get_running_loop()
    stream = await loop.run_in_executor(None, follow, reads.last_entries(UNIT, 1).cursor)
    written = await loop.run_in_executor(None, journal_dir.append, "async one", "async two")

    got: list[Entry] = []
    for _ in range(100):  # bounded: 100 reads of at most 0.2 s
        got += await loop.run_in_executor(None, stream.read_available, 0.2)
        if len(got) >= 2:
            break

    assert messages(got) == written
    await loop.run_in_executor(None, stream.stop)


def test_a_stream_of_a_missing_directory_reports_no_journal(fixture_path, settings, tmp_path):
    settings.WPDASH_JOURNAL_DIRECTORY = str(tmp_path / "gone")
    stream = JournalStream(UNIT)
    stream.start()
    try:
        ended = wait_for_end(stream)
    finally:
        stream.stop()

    assert isinstance(ended, NoJournal) and "No journal files were found" in ended.detail

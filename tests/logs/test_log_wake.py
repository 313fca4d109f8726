"""The live tail is woken by the kernel, not by a timer.

With both of the shared reader's timers set to a minute, every change below still arrives
within the receive bound: only an inotify event (for a file) or journalctl's pipe (for
a journal) can have woken the reader. Without inotify it polls, as it always did.
Real files, the real logrotate, the real journalctl, the ASGI stack in process.
"""

from __future__ import annotations

import errno
import logging

import pytest

from server_monitor import caching
from server_monitor.adapters.logs import watch
from server_monitor.workflows.logs import reader
from tests.support.journal import JournalDirectory, require_journal_tools
from tests.support.logs import NginxLikeWriter, connect, logrotate, nginx_line, receive_lines, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

WAKE_BOUND = 10.0  # seconds: far below the minute a timer would take, far above an event's delay


@pytest.fixture
def no_timers(monkeypatch):
    """A reader that waits a minute unless something wakes it."""
    monkeypatch.setattr(reader, "POLL_INTERVAL", 60.0)
    monkeypatch.setattr(reader, "SAFETY_NET", 60.0)


async def follow(log_type: str = "nginx-access"):
    socket = await connect(log_type, await session_cookie())
    await socket.receive_json_from(timeout=20)
    (shared,) = reader.active_readers()
    assert shared.wake_descriptor is not None
    return socket


async def test_an_appended_line_wakes_the_reader(access_log, no_timers):
    socket = await follow()
    writer = NginxLikeWriter(access_log)
    for n in range(50, 53):  # each write on its own: every one needs its own wake-up
        writer.write(nginx_line(n))
        assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(n)]
    writer.close()
    await socket.disconnect()


async def test_a_rename_rotation_wakes_it_for_the_old_file_and_the_new(access_log, no_timers):
    socket = await follow()
    writer = NginxLikeWriter(access_log)
    logrotate(access_log, "create")
    writer.write(nginx_line(50))  # into the renamed file: only its inode's watch sees this
    assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(50)]
    writer.reopen()
    writer.write(nginx_line(51))  # the new file
    assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(51)]
    writer.close()
    await socket.disconnect()


async def test_copytruncate_wakes_it_and_loses_nothing(access_log, no_timers):
    socket = await follow()
    writer = NginxLikeWriter(access_log)
    writer.write(nginx_line(50))
    assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(50)]
    logrotate(access_log, "copytruncate")
    writer.write(nginx_line(51))
    assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(51)]
    writer.close()
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_a_deleted_and_recreated_log_wakes_it(access_log, no_timers):
    socket = await follow()
    access_log.unlink()
    access_log.write_text(f"{nginx_line(50)}\n")
    assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(50)]
    await socket.disconnect()


async def test_a_log_that_appears_later_wakes_it(access_log, no_timers):
    access_log.unlink()
    socket = await connect("nginx-access", await session_cookie())
    first = await socket.receive_json_from(timeout=20)
    assert first["available"] is False
    access_log.write_text(f"{nginx_line(50)}\n")
    assert await receive_lines(socket, 1, timeout=WAKE_BOUND) == [nginx_line(50)]
    await socket.disconnect()


async def test_with_watching_off_it_polls(access_log, settings):
    settings.WPDASH_LOG_WATCH = "poll"
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from(timeout=20)
    (shared,) = reader.active_readers()
    assert shared.wake_descriptor is None
    NginxLikeWriter(access_log).write(nginx_line(50))
    assert await receive_lines(socket, 1) == [nginx_line(50)]
    await socket.disconnect()


async def test_without_inotify_it_says_so_once_and_polls(access_log, monkeypatch, caplog):
    def refused(**_: object) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(watch, "INotify", refused)
    caplog.set_level(logging.WARNING, logger="server_monitor.adapters.logs.watch")
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from(timeout=20)
    NginxLikeWriter(access_log).write(nginx_line(50))
    assert await receive_lines(socket, 1) == [nginx_line(50)]
    assert [record.getMessage() for record in caplog.records] == [
        f"cannot watch {access_log} for changes (Too many open files); polling it instead"
    ]
    await socket.disconnect()


async def test_a_journal_entry_wakes_the_reader_through_journalctls_pipe(tmp_path, settings, no_timers):
    journal = JournalDirectory(tmp_path / "journal")
    journal.load_fixture(require_journal_tools())
    settings.WPDASH_JOURNAL_DIRECTORY = str(journal.path)
    settings.WPDASH_LOGS = {"mysql": "journal:mariadb.service"}
    caching.clear_all()
    socket = await follow("mysql")
    for message in ("woken once", "woken twice"):
        journal.append(message)
        (line,) = await receive_lines(socket, 1, timeout=WAKE_BOUND)
        assert line.endswith(f": {message}")
    await socket.disconnect()

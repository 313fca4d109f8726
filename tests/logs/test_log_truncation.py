"""Frequent truncation loses nothing: the new content is read at once, the copy looked for beside it.

After a truncation without logrotate's copy (yet), the follower goes on reading the
file and holds those lines, so that the copy's lines, written before the truncation,
still come first when it turns up. Real files; the FileFollower directly, and the live
tail through the ASGI stack.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import pytest

from server_monitor.adapters.logs import follow
from server_monitor.adapters.logs.follow import FileFollower
from tests.support.logs import NginxLikeWriter, connect, nginx_line, receive_lines, session_cookie


@pytest.fixture
def clock(monkeypatch):
    """The follower's clock, moved on by hand: the wait for a copy ends when a test says so."""
    now = [time.monotonic()]
    monkeypatch.setattr(follow.time, "monotonic", lambda: now[0])
    return now


def test_a_copy_that_appears_late_still_comes_before_the_new_lines(tmp_path, clock):
    path = tmp_path / "app.log"
    path.write_text("old 1\n")
    follower = FileFollower(str(path))
    follower.start(50)
    writer = NginxLikeWriter(path)
    writer.write("old 2")  # not read yet when the file is truncated
    copy = path.read_bytes()
    os.truncate(path, 0)
    writer.write("new 1")

    assert follower.poll().lines == []  # "new 1" is read, and held behind what the copy has
    writer.write("new 2")
    clock[0] += 0.5
    assert follower.poll().lines == []
    (tmp_path / "app.log.1").write_bytes(copy)  # logrotate's copy, late

    assert follower.poll().lines == ["old 2", "new 1", "new 2"]
    writer.write("new 3")
    assert follower.poll().lines == ["new 3"]
    writer.close()
    follower.close()


def test_several_truncations_inside_one_wait_are_each_recovered_in_order(tmp_path, clock):
    path = tmp_path / "app.log"
    path.write_text("")
    follower = FileFollower(str(path))
    follower.start(50)
    writer = NginxLikeWriter(path)
    writer.write("first 1")
    assert follower.poll().lines == ["first 1"]
    writer.write("first 2")
    first_copy = path.read_bytes()
    os.truncate(path, 0)
    writer.write("second 1")
    assert follower.poll().lines == []
    writer.write("second 2")
    second_copy = path.read_bytes()
    os.truncate(path, 0)
    writer.write("third 1")
    assert follower.poll().lines == []
    # Both copies turn up, numbered as logrotate numbers them (the newest is .1).
    (tmp_path / "app.log.2").write_bytes(first_copy)
    (tmp_path / "app.log.1").write_bytes(second_copy)

    assert follower.poll().lines == ["first 2", "second 1", "second 2", "third 1"]
    writer.close()
    follower.close()


def test_without_a_copy_the_held_lines_go_out_when_the_wait_ends_with_one_warning(tmp_path, clock, caplog):
    path = tmp_path / "app.log"
    path.write_text("")
    follower = FileFollower(str(path))
    follower.start(50)
    writer = NginxLikeWriter(path)
    received: list[str] = []
    with caplog.at_level(logging.WARNING, logger=follow.__name__):
        for n in range(3):  # three truncations, each within the wait of the one before
            writer.write(f"line {n}")
            received += follower.poll().lines
            os.truncate(path, 0)
            clock[0] += follow.RECOVERY_WAIT / 4
        writer.write("line 3")
        received += follower.poll().lines
        assert received == ["line 0"]  # the rest is held while a copy may still turn up
        clock[0] += follow.RECOVERY_WAIT
        received += follower.poll().lines

    assert received == ["line 0", "line 1", "line 2", "line 3"]
    assert [record.getMessage() for record in caplog.records] == [
        f"{path} was truncated and no rotated copy of it was found: lines written just before may be missing"
    ]  # one a minute, not one per truncation
    writer.close()
    follower.close()


@pytest.mark.django_db(transaction=True)
async def test_a_log_truncated_5_times_a_second_without_a_copy_loses_nothing(access_log):
    # Each line stays in the file for at least 100 ms before the next truncation.
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from(timeout=20)
    truncations, per_truncation = 15, 2
    written = truncations * per_truncation

    def write() -> None:
        writer = NginxLikeWriter(access_log)
        number = 50
        for _ in range(truncations):
            for _ in range(per_truncation):
                writer.write(nginx_line(number))
                number += 1
                time.sleep(0.1)
            os.truncate(access_log, 0)  # 2 x 100 ms: 5 truncations a second
        writer.close()

    writing = threading.Thread(target=write)
    writing.start()
    try:
        received = await receive_lines(socket, written, timeout=10)
    finally:
        await asyncio.to_thread(writing.join)

    assert received == [nginx_line(n) for n in range(50, 50 + written)]
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()

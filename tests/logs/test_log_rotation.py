"""The live tail survives rotation by the real logrotate: every line once, in order."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from server_monitor.adapters.logs.follow import FileFollower
from server_monitor.workflows.logs import reader
from tests.support.logs import (
    NginxLikeWriter,
    connect,
    logrotate,
    nginx_line,
    open_fds_to,
    receive_lines,
    session_cookie,
)

pytestmark = pytest.mark.django_db(transaction=True)


def write_and_rotate(path: Path, total: int, every: int, modes: list[str], extra: str = "") -> None:
    """Lines 50.. at ~1,000 lines/s, rotating every `every` lines with the modes in turn.

    After a rename rotation a few lines still go to the renamed file before the
    writer reopens its log, as nginx does until its USR1 arrives. Rotations come a
    few polls apart: a file written and rotated away entirely between two polls of
    the follower cannot be seen (see server_monitor.adapters.logs.follow).
    """
    writer = NginxLikeWriter(path)
    number, rotations, written = 50, 0, 0
    while written < total:
        chunk = min(10, total - written)
        writer.write(*(nginx_line(n) for n in range(number, number + chunk)))
        number, written = number + chunk, written + chunk
        if written % every == 0 and written < total:
            mode = modes[rotations % len(modes)]
            logrotate(path, mode, extra)
            rotations += 1
            if mode == "create":
                writer.write(*(nginx_line(n) for n in range(number, number + 5)))
                number += 5
                writer.reopen()
        time.sleep(0.01)
    writer.close()


async def follow_while_writing(path: Path, total: int, every: int, modes: list[str], extra: str = "") -> None:
    socket = await connect("nginx-access", await session_cookie())
    assert await socket.receive_json_from() == {"lines": [nginx_line(n) for n in range(50)]}
    # 5 extra lines per rename rotation.
    expected_total = total + 5 * sum(modes[i % len(modes)] == "create" for i in range((total - 1) // every))

    writing = asyncio.create_task(asyncio.to_thread(write_and_rotate, path, total, every, modes, extra))
    received = await receive_lines(socket, expected_total, timeout=20)
    await writing

    assert received == [nginx_line(n) for n in range(50, 50 + expected_total)]
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()
    assert open_fds_to(path) == []


async def test_it_survives_logrotate_create_while_lines_are_written(access_log):
    await follow_while_writing(access_log, total=1500, every=300, modes=["create"])

    assert sorted(p.name for p in access_log.parent.glob("access.log*")) == [
        "access.log",
        *(f"access.log.{n}" for n in range(1, 5)),
    ]


async def test_it_survives_logrotate_copytruncate_while_lines_are_written(access_log):
    await follow_while_writing(access_log, total=1500, every=300, modes=["copytruncate"])


async def test_it_survives_create_and_copytruncate_in_turn(access_log):
    await follow_while_writing(access_log, total=2400, every=300, modes=["create", "copytruncate"])


async def test_it_recovers_the_lines_of_a_copytruncate_whose_copy_was_compressed_at_once(access_log):
    await follow_while_writing(access_log, total=900, every=300, modes=["copytruncate"], extra="compress")

    assert (access_log.parent / "access.log.1.gz").exists()
    assert not (access_log.parent / "access.log.1").exists()


async def test_it_follows_a_log_that_is_deleted_and_created_again(access_log):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)
    writer.write(nginx_line(50))
    assert await receive_lines(socket, 1) == [nginx_line(50)]

    access_log.unlink()
    writer.write(nginx_line(51))  # still written to the deleted file
    await asyncio.sleep(0.3)
    writer.reopen()
    writer.write(nginx_line(52))

    assert await receive_lines(socket, 2) == [nginx_line(51), nginx_line(52)]
    writer.close()
    await socket.disconnect()


async def test_a_renamed_log_that_gets_no_new_file_is_still_followed(access_log):
    # Rotation by rename only (Debian's rule for redis): the writer keeps its file.
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)

    access_log.rename(access_log.with_name("access.log.1"))
    writer.write(nginx_line(50))

    assert await receive_lines(socket, 1) == [nginx_line(50)]
    writer.close()
    await socket.disconnect()


def test_a_line_cut_by_a_rename_is_sent_whole_once_the_file_is_finished(tmp_path):
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    follower = FileFollower(str(path))
    follower.start(50)
    writer = NginxLikeWriter(path)
    writer.write_raw(b"complete\nunterminated")
    assert follower.poll().lines == ["complete"]

    path.rename(tmp_path / "app.log.1")
    writer.reopen()
    writer.write("next")

    assert follower.poll().lines == ["unterminated", "next"]
    assert len(follower.open_descriptors) == 1
    follower.close()


def test_a_log_truncated_and_refilled_between_two_polls_is_caught(tmp_path):
    # The new content is longer than what we had read, so only the bytes before our
    # position show that this is another file's content.
    path = tmp_path / "app.log"
    path.write_text("first 1\nfirst 2\n")
    follower = FileFollower(str(path))
    assert follower.start(50) == ["first 1", "first 2"]
    with path.open("a") as file:
        file.write("first 3\n")
    (tmp_path / "app.log.1").write_bytes(path.read_bytes())  # the copy
    with path.open("r+") as file:
        file.truncate(0)
        file.write("".join(f"second {n}\n" for n in range(10)))

    assert follower.poll().lines == ["first 3", *(f"second {n}" for n in range(10))]
    follower.close()


def test_an_old_file_no_one_writes_to_is_closed_after_the_grace(tmp_path, monkeypatch):
    path = tmp_path / "app.log"
    path.write_text("a\n")
    follower = FileFollower(str(path))
    follower.start(50)
    path.rename(tmp_path / "app.log.1")
    path.write_text("")
    follower.poll()
    assert len(follower.open_descriptors) == 2  # the writer may still write to the old one

    monkeypatch.setattr(time, "monotonic", lambda: os.times().elapsed + 3600)
    follower.poll()

    assert len(follower.open_descriptors) == 1
    follower.close()


async def test_no_reader_is_left_once_the_clients_are_gone(access_log):
    assert reader.active_readers() == []


def test_the_hole_a_writer_without_o_append_leaves_after_a_truncation_is_skipped(tmp_path):
    path = tmp_path / "app.log"
    path.write_text("")
    follower = FileFollower(str(path))
    follower.start(50)
    with path.open("r+b") as writer:  # no O_APPEND: it keeps its own offset
        writer.write(b"one\ntwo\n")
        writer.flush()
        assert follower.poll().lines == ["one", "two"]
        (tmp_path / "app.log.1").write_bytes(path.read_bytes())
        os.truncate(path, 0)
        writer.write(b"three\n")  # at offset 8: bytes 0..7 read back as NUL
        writer.flush()

        assert follower.poll().lines == ["three"]
    follower.close()

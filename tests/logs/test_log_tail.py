"""A file source's tail on real files: the last lines, read backwards, whatever the bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server_monitor.adapters.lines import CUT_MARK, HEAD_CUT_MARK, MAX_LINE_BYTES
from server_monitor.adapters.logs.tail import BLOCK_SIZE
from server_monitor.workflows.logs.sources import FileSource
from tests.support.logs import NGINX_ACCESS_FIXTURE

FIXTURE = NGINX_ACCESS_FIXTURE


def write(tmp_path: Path, data: bytes) -> FileSource:
    path = tmp_path / "app.log"
    path.write_bytes(data)
    return FileSource("app", str(path))


def test_it_returns_the_last_lines_oldest_first(tmp_path):
    source = write(tmp_path, b"".join(f"line {n}\n".encode() for n in range(100)))

    assert source.tail(3).lines == ["line 97", "line 98", "line 99"]


def test_it_returns_every_line_of_a_file_shorter_than_asked(tmp_path):
    source = write(tmp_path, b"one\ntwo\n")

    result = source.tail(50)

    assert result.lines == ["one", "two"]
    assert result.available and result.reason is None


def test_an_empty_file_has_no_lines(tmp_path):
    assert write(tmp_path, b"").tail(50).lines == []


def test_a_last_line_without_newline_is_included(tmp_path):
    assert write(tmp_path, b"one\ntwo\nthree").tail(2).lines == ["two", "three"]


def test_a_file_of_one_line_without_newline_is_that_line(tmp_path):
    assert write(tmp_path, b"only").tail(5).lines == ["only"]


def test_blank_lines_count_as_lines(tmp_path):
    assert write(tmp_path, b"a\n\n\nb\n").tail(3).lines == ["", "", "b"]


def test_real_nginx_lines_keep_their_escapes(tmp_path):
    source = FileSource("nginx-access", str(FIXTURE))

    lines = source.tail(1).lines

    assert lines == [FIXTURE.read_text().splitlines()[-1]]
    assert "\\x22quoted\\x22" in lines[0]


def test_invalid_utf8_becomes_replacement_characters(tmp_path):
    source = write(tmp_path, b"ok \xc3\xa9\nbad \xff\xfe\x00 end\n")

    assert source.tail(2).lines == ["ok é", "bad \ufffd\ufffd\x00 end"]


def test_crlf_line_ends_lose_their_carriage_return(tmp_path):
    assert write(tmp_path, b"a\r\nb\r\n").tail(2).lines == ["a", "b"]


def test_a_very_long_line_is_cut_and_marked(tmp_path):
    source = write(tmp_path, b"before\n" + b"x" * (MAX_LINE_BYTES * 3) + b"\nafter\n")

    before, long_line, after = source.tail(3).lines

    assert (before, after) == ("before", "after")
    assert long_line == "x" * MAX_LINE_BYTES + CUT_MARK


def test_a_line_of_exactly_the_bound_is_not_cut(tmp_path):
    source = write(tmp_path, b"y" * MAX_LINE_BYTES + b"\n")

    assert source.tail(1).lines == ["y" * MAX_LINE_BYTES]


@pytest.mark.parametrize("shift", [-2, -1, 0, 1, 2])
def test_lines_that_straddle_block_boundaries_come_out_whole(tmp_path, shift):
    # Lines of 99 bytes + newline, with the file end moved so a newline falls on,
    # just before and just after every block boundary.
    body = b"".join(f"{n:098d}\n".encode() for n in range(3 * BLOCK_SIZE // 100))
    source = write(tmp_path, b"z" * (BLOCK_SIZE + shift) + b"\n" + body)
    expected = [f"{n:098d}" for n in range(3 * BLOCK_SIZE // 100)]

    assert source.tail(500).lines == expected[-500:]
    assert source.tail(1).lines == expected[-1:]


def test_the_bytes_read_depend_on_the_lines_asked_not_the_file_size(tmp_path, monkeypatch):
    path = tmp_path / "big.log"
    with path.open("wb") as file:
        file.truncate(1024**3)  # 1 GiB, sparse: cheap to make, costly to read whole
        file.seek(0, os.SEEK_END)
        file.write(b"".join(f"request {n}\n".encode() for n in range(1000)))
    read = []
    real_pread = os.pread

    def counting_pread(fd, size, offset):
        data = real_pread(fd, size, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", counting_pread)

    lines = FileSource("big", str(path)).tail(500).lines

    assert lines == [f"request {n}" for n in range(500, 1000)]
    assert sum(read) <= 2 * BLOCK_SIZE


def test_a_file_without_any_newline_is_read_only_up_to_the_bound(tmp_path, monkeypatch):
    path = tmp_path / "blob.log"
    with path.open("wb") as file:
        file.truncate(256 * 1024**2)
    read = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, size, offset: read.append(size) or real_pread(fd, size, offset))

    (line,) = FileSource("blob", str(path)).tail(2).lines

    assert line.startswith(HEAD_CUT_MARK) and line.endswith(CUT_MARK)
    assert sum(read) <= 3 * (MAX_LINE_BYTES + 1)


def test_a_missing_file_is_not_available_and_says_so(tmp_path):
    result = FileSource("gone", str(tmp_path / "nope.log")).tail(10)

    assert (result.lines, result.available) == ([], False)
    assert result.reason == f"{tmp_path / 'nope.log'} does not exist."


def test_a_directory_is_not_read_as_a_log(tmp_path):
    result = FileSource("dir", str(tmp_path)).tail(10)

    assert not result.available
    assert "not a regular file" in result.reason


def test_a_fifo_does_not_hang_the_tail(tmp_path):
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)

    result = FileSource("fifo", str(fifo)).tail(10)

    assert not result.available
    assert "not a regular file" in result.reason


@pytest.mark.parametrize("count", [0, 501, -1])
def test_it_refuses_counts_outside_1_to_500(tmp_path, count):
    with pytest.raises(ValueError):
        write(tmp_path, b"a\n").tail(count)

from __future__ import annotations

import re

from server_monitor.templatetags.dashboard import bytes_human, duration_human, sparkline


def points(*values):
    return [{"timestamp": index, "value": value} for index, value in enumerate(values)]


def line_path(svg: str) -> str:
    return re.search(r'class="line" d="([^"]*)"', svg).group(1)


def test_a_gap_in_the_data_breaks_the_line():
    svg = sparkline(points(1, 2, None, 4, 5), "cpu")

    assert line_path(svg).count("M") == 2


def test_percentages_scale_to_the_ceiling_not_their_own_maximum():
    svg = sparkline(points(50, 50), "cpu", ceiling=100)

    ys = {float(y) for y in re.findall(r",([0-9.]+)", line_path(svg))}
    assert ys == {16.0}  # half height of 32, less the 1px margins


def test_an_empty_window_says_so_instead_of_drawing():
    svg = sparkline(points(None, None), "ram")

    assert line_path(svg) == ""
    assert "no data in this window" in svg


def test_the_label_is_escaped():
    assert "<script>" not in sparkline(points(1), "<script>")


def test_numbers_read_like_a_person_writes_them():
    assert bytes_human(1536) == "1.5 KiB"
    assert bytes_human(None) == "—"
    assert duration_human(90061) == "1d 1h"
    assert duration_human(59) == "59s"

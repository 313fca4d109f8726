"""A log_format compiled into a parser of the lines nginx writes with it: WordOps's rt_cache
and rt_cache_redis and nginx's combined, on the captured lines, and what is not understood."""

from __future__ import annotations

from pathlib import Path

import pytest

from server_monitor.adapters.nginx.log_format import (
    COMBINED,
    FormatNotUnderstood,
    LineParser,
    combined,
    request_path,
    upstream_milliseconds,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "logs"  # copied from shared/fixtures/logs
RT_CACHE = (
    '$remote_addr $upstream_response_time $upstream_cache_status [$time_local] $http_host "$request" $status '
    '$body_bytes_sent "$http_referer" "$http_user_agent"'
)


def fixture_lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def test_every_captured_rt_cache_line_is_understood_with_its_fields():
    parser = LineParser("rt_cache", RT_CACHE)
    lines = fixture_lines("wordops-rt_cache.access.log")

    parsed = [parser.parse(line) for line in lines]

    assert None not in parsed
    first = parsed[0]
    assert first == (1796439600, 404, 9644, 1179, "MISS", "/missing-page/", "2001:db8::195")
    two_upstreams = next(p for line, p in zip(lines, parsed, strict=True) if "0.004, 0.003" in line)
    assert two_upstreams is not None and two_upstreams[3] == 7  # the sum of the list
    hit = next(p for line, p in zip(lines, parsed, strict=True) if " - HIT " in line)
    assert hit is not None and (hit[3], hit[4]) == (None, "HIT")  # a cache hit has no upstream time
    tls_hello = next(p for line, p in zip(lines, parsed, strict=True) if "\\x16\\x03" in line)
    assert tls_hello is not None and (tls_hello[1], tls_hello[5]) == (400, None)  # a request, not a path


def test_rt_cache_redis_reads_its_cache_column_from_srcache_fetch_status():
    parser = LineParser("rt_cache_redis", RT_CACHE.replace("$upstream_cache_status", "$srcache_fetch_status"))

    parsed = parser.parse(
        '203.0.113.5 0.120 MISS [05/Dec/2026:03:00:00 +0100] shop.example "POST /?wc-ajax=x HTTP/2.0" 200 5 "-" "-"'
    )

    assert parsed == (1796436000, 200, 5, 120, "MISS", "/", "203.0.113.5")  # +0100: an hour earlier in UTC
    assert parser.capabilities.cache and parser.capabilities.times


def test_the_built_in_combined_reads_the_captured_lines_with_their_escapes():
    parser = combined()
    lines = fixture_lines("nginx-access.log")

    parsed = [parser.parse(line) for line in lines]

    assert None not in parsed
    assert parsed[2] == (1795316791, 200, 615, None, None, "/", "127.0.0.1")  # the query string is not kept
    assert not parser.capabilities.times and not parser.capabilities.cache


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        '203.0.113.5 0.120 MISS [05/Foo/2026:03:00:00 +0000] a "GET / HTTP/1.1" 200 5 "-" "-"',
        '203.0.113.5 0.120 MISS [05/Dec/2026:03:00:00 +0000] a "GET / HTTP/1.1" 2000 5 "-" "-"',
        '203.0.113.5 0.120 MISS [05/Dec/2026:03:00:00 +0000] a "GET / HTTP/1.1" 200 5 "-" "-" extra',
        '203.0.113.5 0.120 MISS [05/Dec/2026:03:00:00 +0000] a "GET " HTTP/1.1" 200 5 "-" "-"',
        "x" * 20000,
    ],
)
def test_a_line_that_is_not_of_the_format_is_none(line):
    assert LineParser("rt_cache", RT_CACHE).parse(line) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('$remote_addr "$request" $body_bytes_sent', "has no a time, no $status"),
        ("$time_local $status", "no bytes sent"),
        ("$time_local $status$body_bytes_sent", "have nothing between them"),
    ],
)
def test_a_format_without_what_the_figures_need_is_not_understood_with_the_reason(text, says):
    with pytest.raises(FormatNotUnderstood, match=says.replace("$", r"\$")):
        LineParser("custom", text)


def test_a_custom_format_with_the_needed_variables_is_understood():
    parser = LineParser("main", '$msec $status $bytes_sent "$request_uri" $request_time $host')

    parsed = parser.parse('1796439600.123 503 77 "/wp-admin/?page=x" 0.010 example.com')

    assert parsed == (1796439600, 503, 77, None, None, "/wp-admin/", None)


def test_escape_json_values_may_hold_escaped_quotes():
    parser = LineParser(
        "json", '{"t":"$time_iso8601","s":$status,"b":$body_bytes_sent,"ua":"$http_user_agent"}', "json"
    )

    parsed = parser.parse('{"t":"2026-12-05T03:00:00+00:00","s":200,"b":10,"ua":"a \\"quoted\\" agent"}')

    assert parsed is not None and parsed[:3] == (1796439600, 200, 10)


def test_combined_is_nginx_s_own_definition():
    assert COMBINED.startswith("$remote_addr - $remote_user [$time_local]")


@pytest.mark.parametrize(
    ("value", "milliseconds"),
    [("0.087", 87), ("60.002", 60002), ("0.004, 0.003", 7), ("0.004 : 0.010", 14), ("-", None), ("-, 0.002", 2)],
)
def test_upstream_times_are_milliseconds_and_a_list_is_their_sum(value, milliseconds):
    assert upstream_milliseconds(value) == milliseconds


@pytest.mark.parametrize(
    ("request_line", "path"),
    [
        ("GET /a/b?c=d HTTP/2.0", "/a/b"),
        ("GET / HTTP/1.1", "/"),
        ("GET /a path with spaces HTTP/1.1", "/a path with spaces"),
        ("GET /old", "/old"),
        ("\\x16\\x03\\x01", None),
        ("GET /" + "x" * 300 + " HTTP/1.1", "/" + "x" * 199 + "…"),
    ],
)
def test_a_request_s_path_loses_its_query_and_is_cut(request_line, path):
    assert request_path(request_line) == path

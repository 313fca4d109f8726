"""An nginx log_format compiled into a parser of the lines nginx writes with it.

A format is literal text and variables (`$name`, `${name}`). It becomes one regular
expression that must match a whole line: literals as they are, each variable as the
text it can hold. Variables whose values have a known shape (times, status, byte
counts, upstream times, cache statuses, addresses) get that shape; any other
variable between double quotes is "anything but a quote" (nginx's default escaping
writes a `"` inside a value as \\x22; with escape=json as \\"), and elsewhere "as
little as lets the rest match" (still without a raw quote). Two variables with nothing
between them cannot be told apart: such a format is not understood.

What the figures need from a line: its time ($time_local, $time_iso8601 or $msec),
$status and the bytes sent ($body_bytes_sent, else $bytes_sent). A format without
them is not understood, with the reason; the site is then listed without figures
rather than with wrong ones. Optional: $upstream_response_time (the response time),
$upstream_cache_status or $srcache_fetch_status (the cache column), $request (or
$request_uri, $uri: the path), $remote_addr (the client).

Values, as nginx writes them:
- `-` is an empty value: no upstream time (a cache HIT, a static file nginx served
  itself), no cache status.
- $upstream_response_time is seconds with milliseconds; with several upstreams tried
  (`0.004, 0.003`) or an internal redirect (`0.004 : 0.003`) it is a list, and the
  response's time is their SUM: the time nginx waited on upstreams for this request.
  Milliseconds are kept as integers, so counts of them merge exactly.
- The path is the request line's middle word without its query string (a query can
  hold a password-reset key or a search term), cut at MAX_PATH_CHARS.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
MAX_PATH_CHARS = 200
ESCAPES = ("default", "json", "none")

_LIST = r"[-\d.]+(?:(?:, | : )[-\d.]+)*"  # upstream times and statuses, one per upstream tried
SHAPES = {
    "time_local": r"\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}",
    "time_iso8601": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)",
    "msec": r"\d+\.\d+",
    "status": r"\d{3}",
    "body_bytes_sent": r"\d+",
    "bytes_sent": r"\d+",
    "request_length": r"\d+",
    "request_time": r"\d+\.\d+",
    "upstream_response_time": _LIST,
    "upstream_connect_time": _LIST,
    "upstream_header_time": _LIST,
    "upstream_status": _LIST,
    "upstream_cache_status": r"[A-Z]+|-",
    "srcache_fetch_status": r"[A-Z]+|-",
    "remote_addr": r"\S+",
    "realip_remote_addr": r"\S+",
}
TIME_VARIABLES = ("time_local", "time_iso8601", "msec")
BYTES_VARIABLES = ("body_bytes_sent", "bytes_sent")
CACHE_VARIABLES = ("upstream_cache_status", "srcache_fetch_status")
REQUEST_VARIABLES = ("request", "request_uri", "uri")
CLIENT_VARIABLES = ("remote_addr", "realip_remote_addr")
QUOTED_VALUE = {"default": r'[^"]*', "json": r'(?:[^"\\]|\\.)*', "none": r".*?"}
# Elsewhere, as little as lets the rest match; still never a raw `"`, which nginx escapes.
BARE_VALUE = {"default": r'[^"]*?', "json": r'(?:[^"\\]|\\.)*?', "none": r".*?"}
VARIABLE_RE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")
MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}

# (seconds since the epoch, status, bytes, upstream milliseconds or None, cache status
# or None, path or None, client or None)
Parsed = tuple[int, int, int, "int | None", "str | None", "str | None", "str | None"]


class FormatNotUnderstood(ValueError):
    """The format cannot be parsed, or lacks what the figures need; the message says which."""


def split_format(text: str) -> list[tuple[str, str]]:
    """("literal", text) and ("variable", name) parts, in order."""
    parts: list[tuple[str, str]] = []
    position = 0
    for match in VARIABLE_RE.finditer(text):
        if match.start() > position:
            parts.append(("literal", text[position : match.start()]))
        parts.append(("variable", match.group(1) or match.group(2)))
        position = match.end()
    if position < len(text):
        parts.append(("literal", text[position:]))
    return parts


def upstream_milliseconds(value: str) -> int | None:
    """`0.087` → 87; `0.004, 0.003` → 7 (the sum: the time nginx waited on upstreams);
    `-` (no upstream) → None. A part that is `-` adds nothing."""
    if value == "-":
        return None
    total, seen = 0, False
    for part in value.replace(" : ", ", ").split(", "):
        if part == "-":
            continue
        seconds, _, fraction = part.partition(".")
        total += int(seconds or "0") * 1000 + int((fraction + "000")[:3])
        seen = True
    return total if seen else None


def request_path(request: str) -> str | None:
    """The path of a request line (`GET /a?b HTTP/2.0` → `/a`), None for a line that is
    not a request (a TLS hello sent to port 80 is logged as its bytes)."""
    first = request.find(" ")
    if first < 0:
        return None
    last = request.rfind(" ")
    return uri_path(request[first + 1 : last] if last > first else request[first + 1 :])


def uri_path(path: str) -> str | None:
    """A URI without its query string, cut at MAX_PATH_CHARS; None when empty."""
    query = path.find("?")
    if query >= 0:
        path = path[:query]
    if not path:
        return None
    return path if len(path) <= MAX_PATH_CHARS else path[:MAX_PATH_CHARS] + "…"


def _time_local(value: str) -> int:
    """`05/Dec/2026:03:00:00 +0000` → Unix seconds."""
    seconds = calendar.timegm(
        (int(value[7:11]), MONTHS[value[3:6]], int(value[0:2]), int(value[12:14]), int(value[15:17]), int(value[18:20]))
    )
    offset = int(value[22:24]) * 3600 + int(value[24:26]) * 60
    return seconds - offset if value[21] == "+" else seconds + offset


def _time_iso8601(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _msec(value: str) -> int:
    return int(value.partition(".")[0])


TIME_READERS: dict[str, Callable[[str], int]] = {
    "time_local": _time_local,
    "time_iso8601": _time_iso8601,
    "msec": _msec,
}


@dataclass(frozen=True)
class Capabilities:
    """Which figures a format can give beyond requests, statuses and bytes."""

    times: bool
    cache: bool
    paths: bool
    clients: bool


class LineParser:
    """One compiled format. `parse(line)` gives the Parsed tuple, or None for a line the
    format does not describe (counted as unparsed by the caller)."""

    def __init__(self, name: str, text: str, escape: str = "default") -> None:
        self.name = name
        self.text = text
        if escape not in ESCAPES:
            raise FormatNotUnderstood(f"log format {name!r}: escape={escape} is not one nginx knows.")
        parts = split_format(text)
        variables = [value for kind, value in parts if kind == "variable"]
        missing = [
            what
            for what, choices in (("a time", TIME_VARIABLES), ("$status", ("status",)), ("bytes sent", BYTES_VARIABLES))
            if not any(choice in variables for choice in choices)
        ]
        if missing:
            raise FormatNotUnderstood(f"log format {name!r} has no {', no '.join(missing)}.")
        pattern, groups = self._pattern(parts, escape)
        self._regex = re.compile(pattern, re.DOTALL)

        def first(choices: tuple[str, ...]) -> str | None:
            return next((choice for choice in choices if choice in groups), None)

        time_variable = first(TIME_VARIABLES)
        bytes_variable = first(BYTES_VARIABLES)
        assert time_variable is not None and bytes_variable is not None  # checked above
        self._time = (groups[time_variable], TIME_READERS[time_variable])
        self._status = groups["status"]
        self._bytes = groups[bytes_variable]
        self._upstream = groups.get("upstream_response_time")
        cache = first(CACHE_VARIABLES)
        self._cache = groups[cache] if cache else None
        request = first(REQUEST_VARIABLES)
        self._request = (groups[request], request == "request") if request else None
        client = first(CLIENT_VARIABLES)
        self._client = groups[client] if client else None
        self.capabilities = Capabilities(
            times=self._upstream is not None,
            cache=self._cache is not None,
            paths=self._request is not None,
            clients=self._client is not None,
        )
        self._last_time: tuple[str, int] = ("", 0)

    @staticmethod
    def _pattern(parts: list[tuple[str, str]], escape: str) -> tuple[str, dict[str, int]]:
        """The regular expression of a whole line, and the group number of each variable
        the figures read (the first occurrence of each)."""
        wanted = {*TIME_VARIABLES, "status", *BYTES_VARIABLES, "upstream_response_time"}
        wanted |= {*CACHE_VARIABLES, *REQUEST_VARIABLES, *CLIENT_VARIABLES}
        pieces: list[str] = []
        groups: dict[str, int] = {}
        for index, (kind, value) in enumerate(parts):
            if kind == "literal":
                pieces.append(re.escape(value))
                continue
            before = parts[index - 1] if index > 0 else ("literal", "")
            after = parts[index + 1] if index + 1 < len(parts) else ("literal", "")
            if before[0] == "variable" or after[0] == "variable":
                neighbour = before[1] if before[0] == "variable" else after[1]
                raise FormatNotUnderstood(f"${neighbour} and ${value} have nothing between them.")
            if value in SHAPES:
                shape = SHAPES[value]
            elif before[1].endswith('"') and after[1].startswith('"'):
                shape = QUOTED_VALUE[escape]
            else:
                shape = BARE_VALUE[escape]
            if value in wanted and value not in groups:
                groups[value] = len(groups) + 1
                pieces.append(f"({shape})")
            else:
                pieces.append(f"(?:{shape})")
        return "".join(pieces), groups

    def parse(self, line: str) -> Parsed | None:
        match = self._regex.fullmatch(line)
        if match is None:
            return None
        group = match.group
        try:
            when_text = group(self._time[0])
            last_text, last_seconds = self._last_time
            if when_text == last_text:
                seconds = last_seconds  # lines of one second share it: parse it once
            else:
                seconds = self._time[1](when_text)
                self._last_time = (when_text, seconds)
            upstream = upstream_milliseconds(group(self._upstream)) if self._upstream else None
        except (ValueError, KeyError, IndexError, OverflowError):
            return None  # a time or number of the right shape that is still not one (month "Foo")
        cache = group(self._cache) if self._cache else None
        path = None
        if self._request is not None:
            text = group(self._request[0])
            path = request_path(text) if self._request[1] else uri_path(text)
        client = group(self._client) if self._client else None
        return (
            seconds,
            int(group(self._status)),
            int(group(self._bytes)),
            upstream,
            None if cache == "-" else cache,
            path,
            None if client == "-" else client,
        )


def combined() -> LineParser:
    """nginx's built-in `combined`, which needs no log_format directive."""
    return LineParser("combined", COMBINED)

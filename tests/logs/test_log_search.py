"""Search: GET /api/v1/server/logs/{name}?q=TEXT on real files, and the live tail's
per-client filter through the real ASGI stack and a real daphne."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import websockets

from server_monitor.adapters.lines import CUT_MARK, MAX_LINE_BYTES
from server_monitor.adapters.logs.tail import BLOCK_SIZE
from server_monitor.workflows.logs import subscription
from tests.support.logs import NginxLikeWriter, connect, receive_lines, session_cookie
from tests.support.servers import clean_environ, live_server, run_manage
from tests.support.users import PASSWORD

LOG = "/api/v1/server/logs/app"
MiB = 1024 * 1024


@pytest.fixture
def app_log(settings, tmp_path) -> Path:
    path = tmp_path / "app.log"
    settings.WPDASH_LOGS = {"app": str(path), "gone": str(tmp_path / "gone.log")}
    return path


def search(client, q: str, **params: object) -> dict:
    response = client.get(LOG, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def counted_reads(monkeypatch) -> list[int]:
    """The size of every os.pread, so a test sees what was really read, not what the answer says."""
    sizes: list[int] = []
    real_pread = os.pread

    def pread(fd: int, size: int, offset: int) -> bytes:
        sizes.append(size)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    return sizes


# --- REST ------------------------------------------------------------------------------


def test_it_returns_the_lines_that_contain_the_text_oldest_first_ignoring_case(viewer_client, app_log):
    app_log.write_text(
        "GET /a 200\n[error] first\nGET /b 200\nPHP Fatal ERROR second\nGET /c 200\nNo Errors: third\nGET /d 200\n"
    )

    body = search(viewer_client, "eRRoR")

    assert body["lines"] == ["[error] first", "PHP Fatal ERROR second", "No Errors: third"]
    assert (body["log_type"], body["available"], body["reason"]) == ("app", True, None)
    assert type(body["timestamp"]) is int
    assert body["scanned_bytes"] == app_log.stat().st_size
    assert body["reached_start"] is True


def test_it_matches_beyond_ascii_with_casefold(viewer_client, app_log):
    app_log.write_text("Straße gesperrt\nÉCHEC de connexion\nok\n")

    assert search(viewer_client, "STRASSE")["lines"] == ["Straße gesperrt"]
    assert search(viewer_client, "échec")["lines"] == ["ÉCHEC de connexion"]


def test_the_text_is_plain_not_a_pattern(viewer_client, app_log):
    app_log.write_text("a.c\nabc\n(x+)\nxx\n")

    assert search(viewer_client, "a.c")["lines"] == ["a.c"]
    assert search(viewer_client, "(x+)")["lines"] == ["(x+)"]


def test_it_gives_only_the_last_n_matches(viewer_client, app_log):
    app_log.write_text("".join(f"{'hit' if n % 3 == 0 else 'miss'} {n}\n" for n in range(50_000)))

    body = search(viewer_client, "HIT", lines=4)

    assert body["lines"] == ["hit 49989", "hit 49992", "hit 49995", "hit 49998"]
    # Four matches near the end: it stopped there, not at the budget or the start.
    assert (body["reached_start"], body["scanned_bytes"]) == (False, BLOCK_SIZE)


def test_a_text_only_in_the_first_line_of_a_small_file_is_found(viewer_client, app_log):
    app_log.write_text("needle at the very start\n" + "".join(f"line {n}\n" for n in range(20_000)))

    body = search(viewer_client, "NEEDLE")

    assert body["lines"] == ["needle at the very start"]
    assert body["reached_start"] is True
    assert body["scanned_bytes"] == app_log.stat().st_size


def test_the_budget_bounds_what_a_search_reads(viewer_client, app_log, settings, counted_reads):
    settings.WPDASH_LOG_SEARCH_BYTES = 64 * 1024
    filler = "".join(f"GET /{n} HTTP/1.1 200\n" for n in range(200_000))  # several MiB
    app_log.write_text("needle, older than the budget\n" + filler + "needle 1\nGET /x\nneedle 2\n")
    assert app_log.stat().st_size > 4 * MiB

    body = search(viewer_client, "needle", lines=50)

    assert body["lines"] == ["needle 1", "needle 2"]
    assert body["reached_start"] is False
    assert 0 < body["scanned_bytes"] <= 64 * 1024
    assert sum(counted_reads) == body["scanned_bytes"]
    assert sum(counted_reads) <= 64 * 1024 + BLOCK_SIZE


def test_a_search_without_a_match_in_the_budget_says_it_did_not_reach_the_start(viewer_client, app_log, settings):
    settings.WPDASH_LOG_SEARCH_BYTES = 64 * 1024
    app_log.write_text("needle\n" + "x" * 100 + "\n" + "".join(f"line {n}\n" for n in range(300_000)))

    body = search(viewer_client, "needle")

    assert (body["lines"], body["reached_start"], body["scanned_bytes"]) == ([], False, 64 * 1024)


def test_a_long_line_is_matched_and_shown_as_the_tail_shows_it(viewer_client, app_log):
    long_line = "needle " + "x" * (2 * MAX_LINE_BYTES) + " beyond"
    app_log.write_text(f"short\n{long_line}\nend\n")

    assert search(viewer_client, "needle")["lines"] == [long_line[:MAX_LINE_BYTES] + CUT_MARK]
    # Matched as shown: text past the cut is not shown, and the cut mark is not the log's.
    assert search(viewer_client, "beyond")["lines"] == []
    assert search(viewer_client, "line cut")["lines"] == []


def test_a_line_without_end_is_searched_within_bounded_memory(viewer_client, app_log, settings):
    settings.WPDASH_LOG_SEARCH_BYTES = 8 * MiB
    app_log.write_bytes(b"needle " + b"y" * (6 * MiB) + b"\nlast needle")

    body = search(viewer_client, "needle")

    assert body["lines"] == ["needle " + "y" * (MAX_LINE_BYTES - 7) + CUT_MARK, "last needle"]
    assert body["reached_start"] is True


def test_bytes_that_are_not_utf8_are_searched_as_the_tail_shows_them(viewer_client, app_log):
    app_log.write_bytes(b"caf\xe9 ok\n\xff\xfe needle\nplain\n")

    assert search(viewer_client, "needle")["lines"] == ["\ufffd\ufffd needle"]
    assert search(viewer_client, "caf\ufffd")["lines"] == ["caf\ufffd ok"]


def test_an_empty_q_is_the_plain_tail(viewer_client, app_log):
    app_log.write_text("".join(f"line {n}\n" for n in range(100)))

    for url in (f"{LOG}?lines=3", f"{LOG}?lines=3&q="):
        body = viewer_client.get(url).json()
        assert set(body) == {"log_type", "lines", "timestamp", "available", "reason"}
        assert body["lines"] == ["line 97", "line 98", "line 99"]


def test_a_search_of_a_missing_log_says_why(viewer_client, app_log, settings):
    body = viewer_client.get("/api/v1/server/logs/gone?q=x").json()

    assert (body["lines"], body["available"], body["scanned_bytes"], body["reached_start"]) == ([], False, 0, False)
    assert body["reason"] == f"{settings.WPDASH_LOGS['gone']} does not exist."


@pytest.mark.parametrize(
    ("q", "detail"),
    [
        ("%00", "q must not contain a NUL character or a line break."),
        ("a%00b", "q must not contain a NUL character or a line break."),
        ("a%0Ab", "q must not contain a NUL character or a line break."),
        ("a%0Db", "q must not contain a NUL character or a line break."),
        ("x" * 201, "q must be at most 200 characters."),
        ("x" * 10240, "q must be at most 200 characters."),
        (quote("é" * 201), "q must be at most 200 characters."),
    ],
)
def test_a_hostile_q_is_a_400_that_says_why(viewer_client, app_log, q, detail, counted_reads):
    app_log.write_text("x\n")

    response = viewer_client.get(f"{LOG}?q={q}")

    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert counted_reads == []  # refused before the file was read


def test_a_q_of_200_characters_is_accepted(viewer_client, app_log):
    app_log.write_text("é" * 300 + "\n")

    assert search(viewer_client, "É" * 200)["lines"] == ["é" * 300]


def test_bad_lines_beside_a_q_still_say_the_range(viewer_client, app_log):
    response = viewer_client.get(f"{LOG}?lines=501&q=x")

    assert response.status_code == 400
    assert response.json() == {"detail": "lines must be a whole number from 1 to 500."}


@pytest.mark.parametrize("name", ["nope", "..%2F..%2Fetc%2Fpasswd", "app%00"])
def test_an_unknown_log_is_still_refused_with_a_q(viewer_client, app_log, name):
    response = viewer_client.get(f"/api/v1/server/logs/{name}?q=root")

    assert response.status_code == 400  # as without q: a name off the allowlist (README, "Logs")
    assert response.json()["detail"].startswith("Unknown log type.")


def test_the_schema_documents_q_and_the_search_fields(viewer_client):
    schema = viewer_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    (path,) = [path for path in schema["paths"] if path.startswith("/api/v1/server/logs/{log_type}")]
    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters["q"]["in"] == "query" and not parameters["q"].get("required", False)
    assert parameters["q"]["schema"]["maxLength"] == 200
    assert "case" in parameters["q"]["description"]
    tail = schema["components"]["schemas"]["LogTail"]
    assert tail["properties"]["scanned_bytes"]["type"] == "integer"
    assert tail["properties"]["reached_start"]["type"] == "boolean"
    assert {"scanned_bytes", "reached_start"}.isdisjoint(tail.get("required", []))  # only with q
    assert {"log_type", "lines", "timestamp", "available", "reason"} <= set(tail["required"])


@pytest.mark.parametrize("value", ["65535", "256MiB"])
def test_a_bad_search_budget_stops_start_up_naming_the_variable(tmp_path, value):
    result = run_manage(clean_environ(WPDASH_DATA_DIR=str(tmp_path), WPDASH_LOG_SEARCH_BYTES=value), "check")

    assert result.returncode == 78  # EX_CONFIG: one line naming the variable, no traceback
    assert result.stderr.startswith("WPDASH_LOG_SEARCH_BYTES=") and "at least 65536" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


# --- the live tail's filter, in process (a paused client, the backlog bound) -----------


async def filter_to(socket, q: object) -> dict:
    await socket.send_json_to({"action": "filter", "q": q})
    return await socket.receive_json_from()


@pytest.mark.django_db(transaction=True)
async def test_a_filter_also_applies_to_lines_held_while_paused(app_log):
    app_log.write_text("")
    cookie = await session_cookie()
    paused, witness = await connect("app", cookie), await connect("app", cookie)
    await paused.receive_json_from()
    await witness.receive_json_from()
    await paused.send_json_to({"action": "pause"})
    assert await paused.receive_json_from() == {"paused": True}
    writer = NginxLikeWriter(app_log)
    held = [f"{'WARN' if n % 2 else 'info'} {n}" for n in range(20)]
    writer.write(*held)
    # Once the other client has them, the reader has handed them to the paused one too.
    assert await receive_lines(witness, 20) == held

    assert await filter_to(paused, "warn") == {"filter": "warn"}
    await paused.send_json_to({"action": "resume"})
    assert await paused.receive_json_from() == {"paused": False}
    writer.write("info 20", "warn 21")

    assert await receive_lines(paused, 11) == [f"WARN {n}" for n in range(1, 20, 2)] + ["warn 21"]
    assert await receive_lines(witness, 2) == ["info 20", "warn 21"]
    writer.close()
    await paused.disconnect()
    await witness.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_skipped_counts_only_the_lines_the_filter_lets_through(app_log, monkeypatch):
    monkeypatch.setattr(subscription, "MAX_BACKLOG_LINES", 100)
    app_log.write_text("")
    cookie = await session_cookie()
    paused, witness = await connect("app", cookie), await connect("app", cookie)
    await paused.receive_json_from()
    await witness.receive_json_from()
    assert await filter_to(paused, "HIT") == {"filter": "HIT"}
    await paused.send_json_to({"action": "pause"})
    await paused.receive_json_from()
    writer = NginxLikeWriter(app_log)

    written = [f"{'hit' if n % 2 else 'miss'} {n}" for n in range(500)]  # 250 matching, 250 not
    for start in range(0, 500, 100):
        writer.write(*written[start : start + 100])
        # Once the other client has them, the reader has handed them to the paused one too.
        assert await receive_lines(witness, 100) == written[start : start + 100]
    await paused.send_json_to({"action": "resume"})

    assert await paused.receive_json_from() == {"paused": False}
    assert await paused.receive_json_from() == {"skipped": 150}
    assert await receive_lines(paused, 100) == [f"hit {n}" for n in range(301, 500, 2)]
    writer.close()
    await paused.disconnect()
    await witness.disconnect()


@pytest.mark.parametrize(
    ("q", "error"),
    [
        ("a\nb", "q must not contain a NUL character or a line break."),
        ("a\x00b", "q must not contain a NUL character or a line break."),
        ("x" * 201, "q must be at most 200 characters."),
        (5, "q must be a string."),
        (None, "q must be a string."),
        (["x"], "q must be a string."),
    ],
)
@pytest.mark.django_db(transaction=True)
async def test_a_bad_filter_is_answered_with_an_error_and_the_filter_stays(app_log, q, error):
    app_log.write_text("")
    socket = await connect("app", await session_cookie())
    await socket.receive_json_from()
    assert await filter_to(socket, "keep") == {"filter": "keep"}

    assert await filter_to(socket, q) == {"error": error}
    NginxLikeWriter(app_log).write("drop me", "KEEP me")

    assert await receive_lines(socket, 1) == ["KEEP me"]
    await socket.disconnect()


# --- the live tail's filter through a real daphne ---------------------------------------


@pytest.fixture(scope="module")
def served_log(tmp_path_factory):
    """One daphne for the WebSocket rows of this file, serving one log."""
    folder = tmp_path_factory.mktemp("search")
    log = folder / "app.log"
    log.write_text("".join(f"before {n}\n" for n in range(10)))
    with live_server(folder, WPDASH_LOGS=f"app={log}", WPDASH_METRICS_SOURCE="local") as server:
        server.create_user("viewer", PASSWORD)
        yield server, log


class Client:
    """A real WebSocket client of the live tail: its messages, collected up to a sentinel line."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket

    async def message(self) -> dict:
        return json.loads(await asyncio.wait_for(self.socket.recv(), 10))

    async def send(self, message: dict) -> dict:
        await self.socket.send(json.dumps(message))
        return await self.message()

    async def lines_until(self, sentinel: str) -> list[str]:
        lines: list[str] = []
        while sentinel not in lines:
            message = await self.message()
            assert set(message) == {"lines"}, message
            lines.extend(message["lines"])
        assert lines[-1] == sentinel, lines
        return lines


def test_a_filter_on_one_client_changes_what_it_gets_and_nothing_the_other_gets(served_log):
    server, log = served_log
    token = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
    ).json()["access"]
    url = f"{server.ws_url}/api/v1/server/logs/app/ws"
    first_batch = [f"GET /{n} 200" if n % 3 else f"[Error] upstream {n}" for n in range(60)]
    second_batch = [f"after {n}" for n in range(5)]

    async def scenario() -> tuple[list[str], list[str], list[str], list[str]]:
        options = {"subprotocols": ["wpdash", f"bearer.{token}"], "open_timeout": 10}
        async with websockets.connect(url, **options) as a, websockets.connect(url, **options) as b:
            filtered, other = Client(a), Client(b)
            assert "lines" in await filtered.message() and "lines" in await other.message()
            assert await filtered.send({"action": "filter", "q": "ERROR"}) == {"filter": "ERROR"}

            writer = NginxLikeWriter(log)
            writer.write(*first_batch, "end of the first error batch")
            filtered_first = await filtered.lines_until("end of the first error batch")
            other_first = await other.lines_until("end of the first error batch")

            assert await filtered.send({"action": "filter", "q": ""}) == {"filter": ""}
            writer.write(*second_batch, "end of the second batch")
            filtered_second = await filtered.lines_until("end of the second batch")
            other_second = await other.lines_until("end of the second batch")
            writer.close()
            return filtered_first, other_first, filtered_second, other_second

    filtered_first, other_first, filtered_second, other_second = asyncio.run(scenario())

    assert filtered_first == [line for line in first_batch if "error" in line.lower()] + [
        "end of the first error batch"
    ]
    assert len(filtered_first) == 21
    assert other_first == [*first_batch, "end of the first error batch"]
    assert filtered_second == other_second == [*second_batch, "end of the second batch"]

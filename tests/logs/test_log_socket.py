"""The live tail WebSocket through the real ASGI stack: first lines, new lines, actions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os

import pytest
from channels.testing import WebsocketCommunicator

from server_monitor.workflows.logs import reader, subscription
from tests.support.logs import ORIGIN, NginxLikeWriter, connect, nginx_line, receive_lines, session_cookie
from wpdash import ws_backpressure
from wpdash.asgi import websocket_application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def access_log(settings, tmp_path):
    """80 lines, beside a configured log that is missing (this module's, not conftest's)."""
    path = tmp_path / "access.log"
    path.write_text("".join(f"{nginx_line(n)}\n" for n in range(80)))
    settings.WPDASH_LOGS = {"nginx-access": str(path), "mysql": str(tmp_path / "missing.log")}
    return path


async def test_it_first_sends_the_last_50_lines(access_log):
    socket = await connect("nginx-access", await session_cookie())

    assert await socket.receive_json_from() == {"lines": [nginx_line(n) for n in range(30, 80)]}
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_it_then_sends_only_new_lines_in_order(access_log):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)

    writer.write(*(nginx_line(n) for n in range(80, 90)))
    writer.write(*(nginx_line(n) for n in range(90, 300)))

    assert await receive_lines(socket, 220) == [nginx_line(n) for n in range(80, 300)]
    assert await socket.receive_nothing(timeout=0.3)
    writer.close()
    await socket.disconnect()


async def test_a_partial_line_waits_for_its_newline(access_log):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)

    writer.write_raw(b"half of a li")
    assert await socket.receive_nothing(timeout=0.4)
    writer.write_raw(b"ne\nand the next\n")

    assert await receive_lines(socket, 2) == ["half of a line", "and the next"]
    writer.close()
    await socket.disconnect()


async def test_a_missing_log_says_why_and_streams_once_it_appears(access_log, settings):
    missing = settings.WPDASH_LOGS["mysql"]
    socket = await connect("mysql", await session_cookie())

    first = await socket.receive_json_from()
    assert first == {"lines": [], "available": False, "reason": f"{missing} does not exist."}

    with open(missing, "w") as file:
        file.write("2026-11-22  3:05:16 0 [Note] Starting MariaDB\n")
    assert await receive_lines(socket, 1) == ["2026-11-22  3:05:16 0 [Note] Starting MariaDB"]
    await socket.disconnect()


@pytest.mark.parametrize(
    "path",
    ["nope", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "/etc/passwd", "nginx-access\x00", "NGINX-ACCESS"],
)
async def test_an_unknown_log_type_is_closed_with_4000(access_log, path):
    socket = await connect(path, await session_cookie())

    assert await socket.receive_output() == {"type": "websocket.close", "code": 4000}
    assert reader.active_readers() == []


async def test_an_anonymous_socket_is_closed_with_4001_before_any_line(access_log):
    socket = WebsocketCommunicator(websocket_application, "/api/v1/server/logs/nginx-access/ws", headers=ORIGIN)
    assert (await socket.connect())[0]

    assert await socket.receive_output() == {"type": "websocket.close", "code": 4001}


async def test_pause_holds_new_lines_and_resume_sends_them(access_log):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)

    await socket.send_json_to({"action": "pause"})
    assert await socket.receive_json_from() == {"paused": True}
    writer.write(*(nginx_line(n) for n in range(80, 100)))
    assert await socket.receive_nothing(timeout=0.4)

    await socket.send_json_to({"action": "resume"})
    assert await socket.receive_json_from() == {"paused": False}
    assert await receive_lines(socket, 20) == [nginx_line(n) for n in range(80, 100)]
    writer.close()
    await socket.disconnect()


async def test_a_long_pause_drops_the_oldest_lines_and_says_how_many(access_log, monkeypatch):
    monkeypatch.setattr(subscription, "MAX_BACKLOG_LINES", 100)
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)
    await socket.send_json_to({"action": "pause"})
    await socket.receive_json_from()

    for start in range(80, 330, 50):  # 250 lines in several reads
        writer.write(*(nginx_line(n) for n in range(start, start + 50)))
        await asyncio.sleep(0.15)
    await socket.send_json_to({"action": "resume"})

    assert await socket.receive_json_from() == {"paused": False}
    assert await socket.receive_json_from() == {"skipped": 150}
    assert await receive_lines(socket, 100) == [nginx_line(n) for n in range(230, 330)]
    writer.close()
    await socket.disconnect()


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "not JSON"),
        (
            "[1, 2]",
            'unknown action: use {"action": "pause"}, {"action": "resume"} or {"action": "filter", "q": "text"}',
        ),
        (
            '{"action": "delete"}',
            'unknown action: use {"action": "pause"}, {"action": "resume"} or {"action": "filter", "q": "text"}',
        ),
        (
            '{"action": ["pause"]}',
            'unknown action: use {"action": "pause"}, {"action": "resume"} or {"action": "filter", "q": "text"}',
        ),
        ("null", 'unknown action: use {"action": "pause"}, {"action": "resume"} or {"action": "filter", "q": "text"}'),
        ("x" * 5000, 'send a small JSON text message such as {"action": "pause"}'),
    ],
)
async def test_a_bad_message_is_answered_with_an_error_and_the_tail_goes_on(access_log, message, error):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()
    writer = NginxLikeWriter(access_log)

    await socket.send_to(text_data=message)
    assert await socket.receive_json_from() == {"error": error}
    writer.write(nginx_line(80))

    assert await receive_lines(socket, 1) == [nginx_line(80)]
    writer.close()
    await socket.disconnect()


async def test_a_binary_message_is_answered_with_an_error(access_log):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from()

    await socket.send_to(bytes_data=b"\x00\x01")

    assert json.loads((await socket.receive_output())["text"]) == {
        "error": 'send a small JSON text message such as {"action": "pause"}'
    }
    await socket.disconnect()


def inotify_descriptors() -> list[int]:
    found = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            if os.readlink(f"/proc/self/fd/{name}") == "anon_inode:inotify":
                found.append(int(name))
    return found


async def test_clients_of_one_log_share_one_reader_that_stops_with_the_last(access_log):
    cookie = await session_cookie()
    sockets = [await connect("nginx-access", cookie) for _ in range(5)]
    for socket in sockets:
        await socket.receive_json_from()

    (shared,) = reader.active_readers()
    assert shared.subscriber_count == 5
    assert len(shared.open_descriptors()) == 1
    wake = shared.wake_descriptor  # one inotify instance for the five
    assert wake is not None and wake in inotify_descriptors()

    NginxLikeWriter(access_log).write(nginx_line(80))
    for socket in sockets:
        assert await receive_lines(socket, 1) == [nginx_line(80)]
    for socket in sockets[:-1]:
        await socket.disconnect()
    assert reader.active_readers() == [shared]

    await sockets[-1].disconnect()
    assert reader.active_readers() == []
    assert shared.task.done()
    assert shared.open_descriptors() == []
    assert inotify_descriptors() == []  # the watch is closed with the reader


async def test_a_client_joining_later_gets_the_lines_up_to_then_and_not_again(access_log):
    cookie = await session_cookie()
    early = await connect("nginx-access", cookie)
    await early.receive_json_from()
    writer = NginxLikeWriter(access_log)
    writer.write(*(nginx_line(n) for n in range(80, 85)))
    assert await receive_lines(early, 5) == [nginx_line(n) for n in range(80, 85)]

    late = await connect("nginx-access", cookie)
    assert await late.receive_json_from() == {"lines": [nginx_line(n) for n in range(35, 85)]}
    writer.write(nginx_line(85))

    assert await receive_lines(late, 1) == [nginx_line(85)]
    assert await receive_lines(early, 1) == [nginx_line(85)]
    writer.close()
    await early.disconnect()
    await late.disconnect()


async def test_outside_daphne_sends_pass_through_and_it_says_so_once(access_log, caplog, monkeypatch):
    # WebsocketCommunicator is no daphne: no transport to wait on (wpdash.ws_backpressure).
    monkeypatch.setattr(ws_backpressure, "_said_pass_through", False)
    caplog.set_level(logging.DEBUG, logger="server_monitor.websockets")
    cookie = await session_cookie()

    for _ in range(2):
        socket = await connect("nginx-access", cookie)
        assert await socket.receive_json_from() == {"lines": [nginx_line(n) for n in range(30, 80)]}
        await socket.disconnect()

    said = [record for record in caplog.records if record.name == "server_monitor.websockets"]
    assert [record.levelno for record in said] == [logging.DEBUG]
    assert "pass through" in said[0].getMessage()

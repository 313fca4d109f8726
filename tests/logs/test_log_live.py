"""The live tail through a real daphne with a real WebSocket client library."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading

import pytest
import requests
import websockets

from tests.support.logs import NginxLikeWriter, logrotate, nginx_line
from tests.support.servers import live_server, wait_until
from tests.support.users import PASSWORD

CLIENTS = 6


@pytest.fixture(scope="module")
def served_log(tmp_path_factory):
    """One daphne for this file (starting one costs seconds), serving one access log."""
    tmp_path = tmp_path_factory.mktemp("live-logs")
    folder = tmp_path / "nginx"
    folder.mkdir(mode=0o755)
    log = folder / "access.log"
    log.write_text("".join(f"{nginx_line(n)}\n" for n in range(60)))
    with live_server(tmp_path, WPDASH_LOGS=f"nginx-access={log}") as server:
        server.create_user("viewer", PASSWORD)
        yield server, log


def access_token(server) -> str:
    response = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
    )
    return response.json()["access"]


def test_several_clients_of_a_real_daphne_get_every_line_once_across_rotations(served_log):
    server, log = served_log
    access = access_token(server)
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws"
    total = 600
    all_connected = threading.Event()

    def write() -> None:
        all_connected.wait(10)
        writer = NginxLikeWriter(log)
        for start in range(60, 60 + total, 20):
            writer.write(*(nginx_line(n) for n in range(start, start + 20)))
            if start == 260:
                logrotate(log, "create")
                writer.reopen()
            if start == 460:
                logrotate(log, "copytruncate")
            threading.Event().wait(0.02)
        writer.close()

    async def scenario() -> list[tuple[list[str], list[str]]]:
        ready: asyncio.Queue[None] = asyncio.Queue()

        async def client() -> tuple[list[str], list[str]]:
            protocols = ["wpdash", f"bearer.{access}"]
            async with websockets.connect(url, origin="http://127.0.0.1", subprotocols=protocols) as ws:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))["lines"]
                ready.put_nowait(None)
                lines: list[str] = []
                while len(lines) < total:
                    lines.extend(json.loads(await asyncio.wait_for(ws.recv(), 10))["lines"])
                return first, lines

        tasks = [asyncio.create_task(client()) for _ in range(CLIENTS)]
        for _ in range(CLIENTS):
            await asyncio.wait_for(ready.get(), 20)
        all_connected.set()  # the writer starts once every client had its first lines
        return await asyncio.gather(*tasks)

    writer_thread = threading.Thread(target=write)
    writer_thread.start()
    results = asyncio.run(scenario())
    writer_thread.join()

    for first, lines in results:
        assert first == [nginx_line(n) for n in range(10, 60)]
        assert lines == [nginx_line(n) for n in range(60, 60 + total)]

    def log_closed_by_daphne() -> bool:
        fd_dir = f"/proc/{server.process.pid}/fd"
        targets = []
        for fd in os.listdir(fd_dir):
            with contextlib.suppress(FileNotFoundError):  # closed between the listing and the look
                targets.append(os.readlink(f"{fd_dir}/{fd}"))
        return not any(target.startswith(str(log)) for target in targets)

    wait_until(log_closed_by_daphne, timeout=5, message="daphne to close the log once its clients left")


def test_a_real_daphne_refuses_traversal_with_400_and_4000(served_log):
    server, _ = served_log
    session = server.session("viewer", PASSWORD)
    access = access_token(server)
    for name in ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2Fetc%2Fpasswd", "nginx-access%00"]:
        response = session.get(f"{server.url}/api/v1/server/logs/{name}?lines=5", timeout=10)
        assert response.status_code == 400, (name, response.status_code)
        assert "root:" not in response.text

    async def close_code(name: str) -> int:
        url = f"{server.ws_url}/api/v1/server/logs/{name}/ws"
        async with websockets.connect(
            url, origin="http://127.0.0.1", subprotocols=["wpdash", f"bearer.{access}"]
        ) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code
        raise AssertionError("not closed")

    async def codes() -> list[int]:
        return [await close_code(name) for name in ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "nope"]]

    assert asyncio.run(codes()) == [4000, 4000, 4000]


@pytest.mark.parametrize(
    "nesting", ["[" * 2048 + "]" * 2048, '[{"a":' * 511 + "1" + "}]" * 511], ids=["arrays", "objects-in-arrays"]
)
def test_a_deeply_nested_message_is_answered_with_an_error_and_the_tail_goes_on(served_log, nesting):
    # Valid JSON within the size cap, nested past the parser's recursion limit.
    server, log = served_log
    access = access_token(server)
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws"

    async def scenario() -> tuple[dict, list[str]]:
        async with websockets.connect(url, subprotocols=["wpdash", f"bearer.{access}"]) as ws:
            await asyncio.wait_for(ws.recv(), 10)
            await ws.send(nesting)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            NginxLikeWriter(log).write("after the nested message")
            return answer, json.loads(await asyncio.wait_for(ws.recv(), 10))["lines"]

    answer, lines = asyncio.run(scenario())

    assert set(answer) == {"error"} and "nested" in answer["error"]
    assert lines == ["after the nested message"]

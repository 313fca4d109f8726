"""Many clients coming and going leave no reader, task or open log file behind."""

from __future__ import annotations

import asyncio
import random

import pytest

from server_monitor.workflows.logs import reader
from tests.support.logs import NginxLikeWriter, connect, nginx_line, open_fds_to, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 40


async def test_clients_connecting_and_leaving_at_random_leave_nothing_behind(settings, tmp_path):
    log = tmp_path / "access.log"
    log.write_text("".join(f"{nginx_line(n)}\n" for n in range(100)))
    settings.WPDASH_LOGS = {"nginx-access": str(log)}
    cookie = await session_cookie()
    tasks_before = asyncio.all_tasks()
    writer = NginxLikeWriter(log)
    stop_writing = asyncio.Event()
    rng = random.Random(4)

    async def write() -> None:
        number = 100
        while not stop_writing.is_set():
            writer.write(nginx_line(number))
            number += 1
            await asyncio.sleep(0.005)

    async def visit(delay: float, stay: float, read: bool) -> None:
        await asyncio.sleep(delay)
        socket = await connect("nginx-access", cookie)
        if read:  # others leave before reading anything, even the first lines
            assert "lines" in await socket.receive_json_from(timeout=5)
        await asyncio.sleep(stay)
        await socket.disconnect()

    writing = asyncio.create_task(write())
    await asyncio.gather(*(visit(rng.uniform(0, 1.5), rng.uniform(0, 0.5), rng.random() < 0.7) for _ in range(CLIENTS)))
    stop_writing.set()
    await writing
    writer.close()

    assert reader.active_readers() == []
    assert open_fds_to(log) == []
    assert asyncio.all_tasks() - tasks_before == set()

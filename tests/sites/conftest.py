from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import UpdateError
from django.db import OperationalError
from django.test import Client

from server_monitor import caching
from server_monitor.workflows.sites.counting import SiteCounter
from tests.support.sites import NginxLayout


@pytest.fixture
def layout(tmp_path, settings) -> NginxLayout:
    return NginxLayout(tmp_path, settings)


@contextlib.asynccontextmanager
async def running_counter() -> AsyncIterator[SiteCounter]:
    """The counter as the watcher runs it, on fast clocks: poll 50 ms, write 100 ms, discover 200 ms."""
    counter = SiteCounter(poll_seconds=0.05, flush_seconds=0.1, discovery_seconds=0.2)
    task = asyncio.create_task(counter.run())
    try:
        yield counter
    finally:
        counter.stop()
        await asyncio.wait_for(task, 30)


async def until(condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Wait for `condition()` (run in a thread with database access) to be truthy; its value."""
    deadline = time.monotonic() + timeout
    check = database_sync_to_async(condition)
    while True:
        try:
            value = await check()
        except OperationalError:  # the tests' in-memory SQLite locks a table while the counter writes
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in {timeout} s (last: {value!r})")
        await asyncio.sleep(0.05)


def api_get(path: str, **query: str) -> Any:
    """GET through the real URL routing as a signed-in viewer, with no answer kept from before."""
    # The tests' in-memory SQLite (shared cache) locks a whole table while the counter
    # writes, where a file database would wait: a locked moment is tried again here.
    for _ in range(100):
        caching.clear_all()
        try:
            user, _ = get_user_model().objects.get_or_create(username="sites-viewer")
            client = Client()
            client.force_login(user)
            response = client.get(path, query)
        except (OperationalError, UpdateError):
            response = None
        if response is not None and response.status_code != 503:
            break
        time.sleep(0.02)
    assert response is not None and response.status_code == 200, response and response.content[:300]
    return response.json()


def site_figures(name: str, range_name: str = "24h") -> dict[str, Any]:
    return api_get(f"/api/v1/server/sites/{name}", range=range_name)

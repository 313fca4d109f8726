"""Two daphne processes, one Redis, one database: the production "Two workers" setup.

Both processes serve the same code with the same environment (REDIS_URL, data dir,
database), as wpdash.service and wpdash-worker@8001 do. The live tail has one reader
per process and no channel layer, so what is checked is that clients on either
process get every line once and in order, across a rotation; and that what must be
shared really is: sign-ins and tokens (database and secret key) and the Django cache
(Redis).

Redis DB 15 is used, and of it only the doctor's cache entry is deleted; a Redis lock
serialises runs from other checkouts on this machine, which share that entry's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
import websockets

from tests.support.logs import NginxLikeWriter, logrotate, nginx_line
from tests.support.servers import LiveServer, another_live_server, live_server, missing_server, wait_until
from tests.support.systemd import FakeSystemd
from tests.support.users import PASSWORD

REDIS_URL = "redis://127.0.0.1:6379/15"
CLIENTS = 20  # half on each process
TOTAL = 2000  # lines written while the clients follow
BATCH = 20  # lines per write; one write every 50 ms: ~400 lines/s
ROTATE_AT = 1000  # a rename + create rotation after this many lines
IDLE_SECONDS = 6
END = "end of the scale-out test"  # written last: every line before it must have arrived


@dataclass
class Pair:
    a: LiveServer
    b: LiveServer
    log: Path
    missing_log: Path  # configured but absent at first: a finding for the doctor
    redis: redis.Redis


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[Pair]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        missing_server(f"Redis at {REDIS_URL} does not answer ({error}); bin/system-deps starts it")
    lock = client.lock("wpdash:tests:scale-out", timeout=300)
    if not lock.acquire(blocking_timeout=300):
        pytest.fail(f"another run of this test has held {REDIS_URL} for 5 minutes")
    try:
        forget_doctor(client)  # an entry left by an earlier run would mislead the doctor test
        yield from two_servers(tmp_path_factory, client)
    finally:
        forget_doctor(client)
        with contextlib.suppress(redis.exceptions.LockError):  # it expired: a very slow run
            lock.release()
        client.close()


def forget_doctor(client: redis.Redis) -> None:
    keys = list(client.scan_iter("*wpdash:doctor"))
    if keys:
        client.delete(*keys)


def two_servers(tmp_path_factory, client: redis.Redis) -> Iterator[Pair]:
    tmp_path = tmp_path_factory.mktemp("scale-out")
    folder = tmp_path / "nginx"
    folder.mkdir(mode=0o755)
    log = folder / "access.log"
    log.write_text("".join(f"{nginx_line(n)}\n" for n in range(60)))
    missing_log = tmp_path / "php8.2-fpm.log"
    systemd = FakeSystemd(tmp_path / "systemd")
    with live_server(
        tmp_path,
        REDIS_URL=REDIS_URL,
        WPDASH_LOGS=f"nginx-access={log},php-fpm={missing_log}",
        WPDASH_SYSTEMCTL=str(systemd.path),
        WPDASH_SUDO="off",
        WPDASH_METRICS_SOURCE="local",
    ) as a:
        a.create_user("viewer", PASSWORD)
        a.create_user("admin", PASSWORD, is_superuser=True, is_staff=True)
        with another_live_server(a) as b:
            yield Pair(a, b, log, missing_log, client)


def access_token(server: LiveServer) -> str:
    response = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access"]


def holds_open(server: LiveServer, log: Path) -> bool:
    assert server.process is not None
    fd_dir = f"/proc/{server.process.pid}/fd"
    targets = []
    for fd in os.listdir(fd_dir):
        try:
            targets.append(os.readlink(f"{fd_dir}/{fd}"))
        except FileNotFoundError:  # closed while we looked
            continue
    return any(target.startswith(str(log)) for target in targets)


def test_twenty_clients_on_two_processes_each_get_every_line_once_in_order_across_a_rotation(pair):
    a, b, log = pair.a, pair.b, pair.log
    # Credentials cross over: a token issued by B is used on A, a session made by
    # A's login form is used on B. Both only work if the processes share the
    # database and the secret key.
    token_from_b = access_token(b)
    cookie_from_a = a.session("viewer", PASSWORD).cookies["sessionid"]
    path = "/api/v1/server/logs/nginx-access/ws"
    all_connected = threading.Event()
    expected = [nginx_line(n) for n in range(60, 60 + TOTAL)] + [END]

    def write() -> None:
        if not all_connected.wait(30):
            return  # the clients failed to connect; their own error says why
        writer = NginxLikeWriter(log)
        for start in range(60, 60 + TOTAL, BATCH):
            writer.write(*(nginx_line(n) for n in range(start, start + BATCH)))
            if start - 60 + BATCH == ROTATE_AT:
                logrotate(log, "create")  # rename, then a new empty access.log
                writer.reopen()  # as nginx does on its USR1
            threading.Event().wait(0.05)
        writer.write(END)
        writer.close()

    async def client(number: int, ready: asyncio.Queue[None]) -> tuple[str, list[str], list[str]]:
        if number % 2:
            server, kwargs = a, {"subprotocols": ["wpdash", f"bearer.{token_from_b}"]}
        else:
            server, kwargs = b, {"additional_headers": {"Cookie": f"sessionid={cookie_from_a}"}}
        async with websockets.connect(f"{server.ws_url}{path}", origin=server.url, **kwargs) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 20))["lines"]
            ready.put_nowait(None)
            lines: list[str] = []
            while END not in lines:
                lines.extend(json.loads(await asyncio.wait_for(ws.recv(), 20))["lines"])
            # Nothing may follow the last line either (a duplicate of the final batch).
            with pytest.raises(TimeoutError):
                extra = await asyncio.wait_for(ws.recv(), 0.5)
                lines.append(f"unexpected message after the end: {extra}")
            return server.name, first, lines

    async def scenario() -> list[tuple[str, list[str], list[str]]]:
        ready: asyncio.Queue[None] = asyncio.Queue()
        tasks = [asyncio.create_task(client(number, ready)) for number in range(CLIENTS)]
        for _ in range(CLIENTS):
            await asyncio.wait_for(ready.get(), 30)
        # Each process follows the log itself: one reader in each, none relayed.
        assert holds_open(a, log), "process A has no reader of the log"
        assert holds_open(b, log), "process B has no reader of the log"
        # Idle clients on a quiet log first, for longer than any wait inside the server
        # (the fan-out's poll, Redis's 5 s socket timeout): a quiet socket must stay up.
        await asyncio.sleep(IDLE_SECONDS)
        all_connected.set()
        return await asyncio.gather(*tasks)

    writer_thread = threading.Thread(target=write)
    writer_thread.start()
    try:
        results = asyncio.run(scenario())
    finally:
        all_connected.set()
        writer_thread.join()

    assert sorted(name for name, _, _ in results) == sorted(["daphne", "daphne-2"] * (CLIENTS // 2))
    for name, first, lines in results:
        assert first == [nginx_line(n) for n in range(10, 60)], name
        assert len(lines) == len(expected), (name, len(lines) - len(expected))
        assert lines == expected, name

    for server in (a, b):
        wait_until(lambda s=server: not holds_open(s, log), timeout=5, message=f"{server.name} to close the log")


def test_a_sign_in_on_one_process_is_valid_on_the_other_and_a_sign_out_there_ends_it(pair):
    session = pair.a.session("viewer", PASSWORD)
    session_id = session.cookies["sessionid"]
    on_b = session.get(f"{pair.b.url}/", timeout=10, allow_redirects=False)
    assert on_b.status_code == 200, on_b.status_code

    # Sign out through B (its form needs B's CSRF cookie, shared by name and secret).
    response = session.post(
        f"{pair.b.url}/accounts/logout/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{pair.b.url}/"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.status_code
    stale = requests.get(f"{pair.a.url}/", cookies={"sessionid": session_id}, timeout=10)
    assert "/accounts/login/" in stale.url


def test_setup_checks_found_by_one_process_are_served_from_redis_by_the_other(pair):
    admin = pair.a.session("admin", PASSWORD)
    absent = f"{pair.missing_log} does not exist."
    assert absent in admin.get(f"{pair.a.url}/", timeout=30).text  # A runs the checks, caches the findings
    keys = list(pair.redis.scan_iter("*wpdash:doctor"))
    assert len(keys) == 1, keys  # in Redis, not in A's memory

    pair.missing_log.write_text("")  # fixed; the cached findings do not know yet
    # B has never run the checks: it can only show the finding by reading A's entry.
    assert absent in admin.get(f"{pair.b.url}/", timeout=30).text

    pair.redis.delete(*keys)  # what expiry does after a minute
    assert absent not in admin.get(f"{pair.b.url}/", timeout=30).text

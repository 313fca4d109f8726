"""A followed log that goes away says so on the socket at once, and again when it is back.

{"available": false, "reason": "…"} as soon as the log can no longer be read (deleted,
journalctl ended; a swap for a link is in test_log_links_live.py), then {"available":
true} and its lines when it can again: in order with the lines, to every client of the
shared reader. A rotation is no outage: a log renamed away gets RENAME_GRACE to come
back before it is said to be missing. Real files, the real logrotate and journalctl;
the ASGI stack in process with the reader's timers set to a minute (so only the
kernel's event can have woken it), a real daphne, the Subscription and the
FileFollower directly.
"""

from __future__ import annotations

import asyncio
import json
import os

import psutil
import pytest
import requests
import websockets

from server_monitor.adapters.logs import follow
from server_monitor.adapters.logs.follow import FileFollower
from server_monitor.workflows.logs import reader, subscription
from server_monitor.workflows.logs.subscription import Availability, Batch, Subscription
from tests.support.journal import JournalDirectory, require_journal_tools
from tests.support.logs import NginxLikeWriter, connect, logrotate, nginx_line, receive_lines, session_cookie
from tests.support.servers import live_server
from tests.support.users import PASSWORD

WAKE_BOUND = 10.0  # seconds: far below the minute a timer would take, far above an event's delay


@pytest.fixture
def no_timers(monkeypatch):
    """A reader that waits a minute unless something wakes it."""
    monkeypatch.setattr(reader, "POLL_INTERVAL", 60.0)
    monkeypatch.setattr(reader, "SAFETY_NET", 60.0)


# --- through the ASGI stack --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_deleted_log_says_so_at_once_to_every_client_and_its_lines_follow_when_it_is_back(
    access_log, no_timers
):
    cookie = await session_cookie()
    sockets = [await connect("nginx-access", cookie) for _ in range(2)]
    for socket in sockets:
        await socket.receive_json_from(timeout=20)

    access_log.unlink()
    for socket in sockets:
        gone = await socket.receive_json_from(timeout=WAKE_BOUND)
        assert gone == {"available": False, "reason": f"{access_log} does not exist."}

    access_log.write_text(f"{nginx_line(50)}\n")
    for socket in sockets:
        assert await socket.receive_json_from(timeout=WAKE_BOUND) == {"available": True}
        assert await socket.receive_json_from(timeout=WAKE_BOUND) == {"lines": [nginx_line(50)]}
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_lines_written_before_the_deletion_come_before_the_news(access_log, no_timers):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from(timeout=20)
    writer = NginxLikeWriter(access_log)

    writer.write(nginx_line(50), nginx_line(51))
    access_log.unlink()

    changes: list[dict] = []
    assert await receive_lines(socket, 2, timeout=WAKE_BOUND, changes=changes) == [nginx_line(50), nginx_line(51)]
    if not changes:  # not read in the same poll as the lines: it comes next
        changes.append(await socket.receive_json_from(timeout=WAKE_BOUND))
    assert changes == [{"available": False, "reason": f"{access_log} does not exist."}]
    writer.close()
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_rotation_by_logrotate_is_no_outage(access_log):
    socket = await connect("nginx-access", await session_cookie())
    await socket.receive_json_from(timeout=20)
    writer = NginxLikeWriter(access_log)

    changes: list[dict] = []
    for rotation, number in (("create", 50), ("copytruncate", 52)):
        logrotate(access_log, rotation)
        writer.write(nginx_line(number))
        writer.reopen()
        writer.write(nginx_line(number + 1))
        assert await receive_lines(socket, 2, changes=changes) == [nginx_line(number), nginx_line(number + 1)]

    assert changes == []
    writer.close()
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_journal_whose_journalctl_ends_says_why_then_goes_on_after_its_last_entry(tmp_path, settings):
    journal = JournalDirectory(tmp_path / "journal")
    journal.load_fixture(require_journal_tools())
    settings.WPDASH_JOURNAL_DIRECTORY = str(journal.path)
    settings.WPDASH_LOGS = {"mysql": "journal:mariadb.service"}
    socket = await connect("mysql", await session_cookie())
    first = await socket.receive_json_from(timeout=20)
    assert first["lines"] and "available" not in first  # the reader's journalctl --follow runs
    ours = f"--directory={journal.path}"  # not another test's journalctl that has not ended yet
    (journalctl,) = [child for child in psutil.Process().children() if {"--follow", ours} <= set(child.cmdline())]

    journalctl.kill()
    gone = await socket.receive_json_from(timeout=20)
    written = journal.append("written while journalctl was down")

    assert gone["available"] is False
    assert gone["reason"].startswith("journalctl --follow of mariadb.service was killed by signal 9")
    assert await socket.receive_json_from(timeout=20) == {"available": True}
    (line,) = await receive_lines(socket, 1)
    assert line.split(": ", 1)[1] == written[0]
    await socket.disconnect()


# --- through a real daphne -----------------------------------------------------------------


def test_a_real_daphne_tells_a_token_client_that_its_log_was_deleted_and_is_back(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "app.log"
    log.write_text("first\n")
    with live_server(tmp_path, WPDASH_LOGS=f"app={log}") as server:
        server.create_user("viewer", PASSWORD)
        token = requests.post(
            f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
        ).json()["access"]

        async def follow_the_log() -> list[dict]:
            url = f"{server.ws_url}/api/v1/server/logs/app/ws"
            async with websockets.connect(url, subprotocols=["wpdash", f"bearer.{token}"]) as ws:
                received = [json.loads(await asyncio.wait_for(ws.recv(), 20))]
                log.unlink()  # nothing else happens until the socket says so
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                log.write_text("back again\n")
                while "lines" not in received[-1] or len(received) < 3:
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                return received

        received = asyncio.run(follow_the_log())

    assert received == [
        {"lines": ["first"]},
        {"available": False, "reason": f"{log} does not exist."},
        {"available": True},
        {"lines": ["back again"]},
    ]


# --- the subscription: one client's queue, in order ---------------------------------------


async def nothing_more(queue: Subscription) -> bool:
    """Whether get() has nothing to give (it waits, and is given up after a moment)."""
    try:
        await asyncio.wait_for(queue.get(), 0.2)
    except TimeoutError:
        return True
    return False


def subscribed() -> Subscription:
    async def leave(_: Subscription) -> None:
        return None

    return Subscription([], None, leave)


async def test_a_change_comes_after_the_lines_before_it_and_before_the_lines_after_it():
    queue = subscribed()
    gone, back = Availability("/var/log/app.log does not exist."), Availability(None)

    queue.push(Batch(("one", "two")))
    queue.announce(gone)
    queue.announce(back)  # not sent yet: the newer state replaces it
    queue.push(Batch(("three",)))

    first, second = await queue.get(), await queue.get()
    assert (first.availability, [batch.lines for batch in first.batches]) == (None, [("one", "two")])
    assert (second.availability, [batch.lines for batch in second.batches]) == (back, [("three",)])
    assert await nothing_more(queue)


async def test_a_paused_client_is_told_a_change_that_no_held_line_precedes():
    queue = subscribed()
    gone, back = Availability("gone"), Availability(None)
    queue.pause()

    queue.announce(gone)
    told = await asyncio.wait_for(queue.get(), 5)
    queue.push(Batch(("held",)))
    queue.announce(back)

    assert (told.availability, told.batches) == (gone, [])
    assert await nothing_more(queue)  # the change waits behind the held line
    queue.resume()
    held, then = await queue.get(), await queue.get()
    assert ([batch.lines for batch in held.batches], held.availability) == ([("held",)], None)
    assert (then.availability, then.batches) == (back, [])


async def test_a_backlog_past_its_bound_drops_lines_but_keeps_the_change_before_the_lines_after_it(monkeypatch):
    monkeypatch.setattr(subscription, "MAX_BACKLOG_LINES", 10)
    queue = subscribed()
    gone = Availability("gone")

    queue.push(Batch(tuple(f"old {n}" for n in range(6))))
    queue.announce(gone)
    queue.push(Batch(tuple(f"mid {n}" for n in range(4))))
    queue.push(Batch(tuple(f"new {n}" for n in range(8))))  # 18 held: the 6 old and 2 mid ones go

    delivered = await queue.get()
    assert (delivered.skipped, delivered.availability) == (8, gone)
    lines = [line for batch in delivered.batches for line in batch.lines]
    assert lines == ["mid 2", "mid 3", *(f"new {n}" for n in range(8))]
    assert await nothing_more(queue)


# --- the file follower: deleted at once, renamed after a grace ------------------------------


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(follow.time, "monotonic", lambda: now[0])
    return now


def test_a_deleted_log_is_unavailable_at_the_next_poll(tmp_path, clock):
    path = tmp_path / "app.log"
    path.write_text("one\n")
    follower = FileFollower(str(path))
    follower.start(10)

    path.unlink()

    assert follower.poll().reason == f"{path} does not exist."
    follower.close()


def test_a_log_renamed_away_is_missing_only_once_its_new_file_is_overdue(tmp_path, clock):
    path = tmp_path / "app.log"
    path.write_text("one\n")
    follower = FileFollower(str(path))
    follower.start(10)

    os.rename(path, tmp_path / "app.log.1")
    assert follower.poll().reason is None  # logrotate creates the new file a moment later
    clock[0] += follow.RENAME_GRACE
    assert follower.poll().reason == f"{path} does not exist."

    path.write_text("two\n")
    result = follower.poll()
    assert (result.lines, result.reason) == (["two"], None)
    follower.close()

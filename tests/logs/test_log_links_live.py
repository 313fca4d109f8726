"""Issue 24's swap against a real daphne: the REST tail, the search and an open live tail.

`link=<dir>/link.log` is configured; once a viewer follows it, the name is swapped for
a link to a secret (`ln -sf SECRET tmp && mv -T tmp link.log`). The secret's lines
never reach a client; the reason does, at once on the open socket too. A path configured as a link on purpose is
resolved once at start-up, said in daphne's log, and a later change of the link is
not followed.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import requests
import websockets

from tests.support.logs import nginx_line
from tests.support.servers import live_server
from tests.support.users import PASSWORD

SECRET = "DJANGO_SECRET_KEY=live-secret-not-for-viewers-0123456789"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("links-live")
    secret = tmp_path / "etc-wpdash" / "env"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    swapped = logs / "link.log"
    swapped.write_text("".join(f"{nginx_line(n)}\n" for n in range(60)))
    real = tmp_path / "real" / "app.log"
    real.parent.mkdir()
    real.write_text("the pinned target's line\n")
    pinned = logs / "pinned.log"
    os.symlink(real, pinned)  # made by root, in folders only root may change: followed once
    with live_server(tmp_path, WPDASH_LOGS=f"link={swapped},pinned={pinned}") as server:
        server.create_user("viewer", PASSWORD)
        yield server, swapped, pinned, real, secret


def token(server) -> str:
    answer = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": "viewer", "password": PASSWORD}, timeout=10
    )
    return answer.json()["access"]


def swap_for_link(log, target) -> None:
    os.symlink(target, log.with_name("tmp"))
    os.replace(log.with_name("tmp"), log)


def test_a_swapped_link_never_reaches_a_client_and_its_reason_does(served):
    server, log, _, _, secret = served
    access = token(server)
    headers = {"Authorization": f"Bearer {access}"}
    url = f"{server.ws_url}/api/v1/server/logs/link/ws"
    writer = os.open(log, os.O_WRONLY | os.O_APPEND)  # the log's writer, as nginx holds it

    async def scenario() -> tuple[list[dict], dict]:
        protocols = ["wpdash", f"bearer.{access}"]
        received: list[dict] = []

        async def until(ws, arrived) -> None:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert "SECRET" not in json.dumps(message), message
                received.append(message)
                if arrived(message):
                    return

        def lines_until(ws, last: str):
            return until(ws, lambda message: last in message.get("lines", []))

        async with websockets.connect(url, subprotocols=protocols) as following:
            received.append(json.loads(await asyncio.wait_for(following.recv(), 10)))
            os.write(writer, b"before the swap\n")
            await lines_until(following, "before the swap")

            swap_for_link(log, secret)
            await until(following, lambda message: "available" in message)  # at once: nothing else was written
            os.write(writer, b"after the swap, to the file the writer holds\n")
            await lines_until(following, "after the swap, to the file the writer holds")

            # A client that joins now is told why the log is not available.
            async with websockets.connect(url, subprotocols=protocols) as joining:
                joined = json.loads(await asyncio.wait_for(joining.recv(), 10))

            with secret.open("a") as more:
                more.write("MORE_SECRET=appended\n")
            os.write(writer, b"the last line\n")
            await lines_until(following, "the last line")
        return received, joined

    received, joined = asyncio.run(scenario())
    os.close(writer)
    tail = requests.get(f"{server.url}/api/v1/server/logs/link?lines=50", headers=headers, timeout=10)
    search = requests.get(f"{server.url}/api/v1/server/logs/link?lines=50&q=SECRET", headers=headers, timeout=10)

    streamed = [line for message in received[1:] for line in message.get("lines", [])]
    assert streamed == ["before the swap", "after the swap, to the file the writer holds", "the last line"]
    assert joined["available"] is False
    assert joined["reason"].startswith(f"{log} is a symbolic link, and wpdash does not follow links")
    # The open socket was told the same, once, in order: after the lines read before the swap.
    changes = [message for message in received[1:] if "lines" not in message]
    assert changes == [{"available": False, "reason": joined["reason"]}]
    assert received.index(changes[0]) == 2
    assert "SECRET" not in json.dumps(joined["lines"])
    for answer in (tail, search):
        assert answer.status_code == 200
        assert (answer.json()["lines"], answer.json()["available"]) == ([], False)
        assert "is a symbolic link" in answer.json()["reason"]
        assert "SECRET" not in answer.text
    assert "SECRET" not in server.log()


def test_a_path_configured_as_a_link_is_pinned_at_start_up_and_said_once(served):
    server, _, pinned, real, secret = served
    headers = {"Authorization": f"Bearer {token(server)}"}

    swap_for_link(pinned, secret)  # after start-up: not followed
    tail = requests.get(f"{server.url}/api/v1/server/logs/pinned?lines=5", headers=headers, timeout=10).json()
    listed = requests.get(f"{server.url}/api/v1/server/logs", headers=headers, timeout=10).json()

    assert (tail["lines"], tail["available"]) == (["the pinned target's line"], True)
    assert {source["name"]: source["path"] for source in listed}["pinned"] == str(real)
    note = f"WPDASH_LOGS: pinned={pinned} goes through the symbolic link {pinned}: {real} is read from now on"
    assert server.log().count(note) == 1

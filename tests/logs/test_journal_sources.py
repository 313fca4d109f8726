"""A unit's journal as a log source: configured, listed, tailed, searched and followed.

Real journal files (systemd-journal-remote, from a captured Debian 12 journal) read by
the real journalctl; the live tail through the ASGI stack and through a real daphne.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import requests
import websockets
from django.core.exceptions import ImproperlyConfigured

from server_monitor import caching
from tests.support.journal import JournalDirectory, journalctl_lines, require_journal_tools
from tests.support.logs import connect, receive_lines, session_cookie
from tests.support.servers import live_server
from tests.support.users import PASSWORD
from wpdash import env

LOGS = "/api/v1/server/logs"


@pytest.fixture
def journal(tmp_path, settings) -> JournalDirectory:
    directory = JournalDirectory(tmp_path / "journal")
    directory.load_fixture(require_journal_tools())
    settings.WPDASH_JOURNAL_DIRECTORY = str(directory.path)
    settings.WPDASH_LOGS = {"mysql": "journal:mariadb.service", "nginx-access": str(tmp_path / "access.log")}
    caching.clear_all()  # nothing known of another test's journal
    return directory


def test_a_setting_names_a_units_journal_and_a_bad_unit_stops_start_up():
    parsed = env.log_sources("WPDASH_LOGS", {}, {"WPDASH_LOGS": "mysql=journal:mariadb.service,php=/var/log/php.log"})
    assert parsed == {"mysql": "journal:mariadb.service", "php": "/var/log/php.log"}

    for hostile in ("journal:-x", "journal:../etc", "journal:nginx;id", "journal:"):
        with pytest.raises(ImproperlyConfigured, match="WPDASH_LOGS"):
            env.log_sources("WPDASH_LOGS", {}, {"WPDASH_LOGS": f"mysql={hostile}"})


def test_the_mysql_journal_tail_is_what_journalctl_prints(journal, viewer_client):
    body = viewer_client.get(f"{LOGS}/mysql", {"lines": 5}).json()

    assert body["available"] is True and body["log_type"] == "mysql"
    expected = journalctl_lines(journal.path, "--unit=mariadb.service", "--lines=5")
    assert [_without_priority(line) for line in body["lines"]] == expected
    assert isinstance(body["timestamp"], int)


def test_a_search_of_a_journal_uses_journalctls_matching_case_insensitively(journal, viewer_client):
    body = viewer_client.get(f"{LOGS}/mysql", {"lines": 50, "q": "INNODB"}).json()

    assert body["lines"] and all("innodb" in line.lower() for line in body["lines"])
    expected = journalctl_lines(journal.path, "--unit=mariadb.service", "--grep=innodb", "--case-sensitive=false")
    assert [_without_priority(line) for line in body["lines"]] == expected[-50:]
    assert body["reached_start"] is True


def test_every_installed_allowlisted_unit_has_its_journal_listed(journal, fake_systemd, viewer_client):
    names = [source["name"] for source in viewer_client.get(LOGS).json()]

    assert names[:2] == ["mysql", "nginx-access"]
    assert {"journal:nginx", "journal:mariadb", "journal:redis-server"} <= set(names)
    assert "journal:mysql" not in names  # mysql is mariadb.service: one journal, one name
    nginx = viewer_client.get(f"{LOGS}/journal:nginx", {"lines": 3}).json()
    assert nginx["available"] and all(" nginx" in line for line in nginx["lines"])


def test_without_systemd_there_are_no_unit_journals_and_nothing_breaks(journal, fake_systemd, viewer_client):
    fake_systemd.go_offline()

    names = [source["name"] for source in viewer_client.get(LOGS).json()]

    assert names == ["mysql", "nginx-access"]


def test_a_journal_that_cannot_be_read_says_why(journal, settings, viewer_client, tmp_path):
    settings.WPDASH_JOURNAL_DIRECTORY = str(tmp_path / "no-journal-here")
    (tmp_path / "no-journal-here").mkdir()

    body = viewer_client.get(f"{LOGS}/mysql").json()

    assert (body["available"], body["lines"]) == (False, [])
    assert "No journal files were found" in body["reason"]


def test_a_journal_name_of_a_service_not_allowlisted_is_refused(journal, viewer_client):
    response = viewer_client.get(f"{LOGS}/journal:sshd")

    assert response.status_code == 400
    assert "sshd" not in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
async def test_two_followers_get_every_entry_once_in_order_across_a_rotation(journal):
    cookie = await session_cookie()
    sockets = [await connect("mysql", cookie) for _ in range(2)]
    for socket in sockets:
        first = await socket.receive_json_from(timeout=20)
        assert first["lines"] and "available" not in first
    await sockets[1].send_json_to({"action": "filter", "q": "TWO"})
    assert await sockets[1].receive_json_from(timeout=10) == {"filter": "TWO"}

    written = journal.append("entry one", "entry two", "entry three")
    journal.rotate()
    written += journal.append("after rotation one", "after rotation two")

    every = await receive_lines(sockets[0], len(written))
    assert [line.split(": ", 1)[1] for line in every] == written
    matching = await receive_lines(sockets[1], 2)
    assert [line.split(": ", 1)[1] for line in matching] == ["entry two", "after rotation two"]
    for socket in sockets:
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()


def test_a_real_daphne_follows_a_journal_for_a_token_client(tmp_path):
    directory = JournalDirectory(tmp_path / "journal")
    directory.load_fixture(require_journal_tools())
    with live_server(
        tmp_path, WPDASH_LOGS="mysql=journal:mariadb.service", WPDASH_JOURNAL_DIRECTORY=str(directory.path)
    ) as server:
        server.create_user("viewer", PASSWORD)
        token = requests.post(
            f"{server.url}/api/v1/auth/login", data={"username": "viewer", "password": PASSWORD}, timeout=10
        ).json()["access_token"]

        async def follow() -> list[str]:
            url = f"{server.ws_url}/api/v1/server/logs/mysql/ws?token={token}"
            async with websockets.connect(url) as ws:  # no Origin: a token client
                first = json.loads(await asyncio.wait_for(ws.recv(), 20))
                assert first["lines"]
                directory.append("InnoDB: live from the journal", "mariadbd: second live entry")
                lines: list[str] = []
                while len(lines) < 2:
                    lines += json.loads(await asyncio.wait_for(ws.recv(), 20))["lines"]
                return lines

        lines = asyncio.run(follow())

    assert [line.split(": ", 1)[1] for line in lines] == [
        "InnoDB: live from the journal",
        "mariadbd: second live entry",
    ]


def _without_priority(line: str) -> str:
    """journalctl's short output has no priority marker; ours shows it for warning or worse."""
    date, clock, rest = line.split(" ", 2)
    if rest.startswith("["):
        rest = rest.split("] ", 1)[1]
    return f"{date} {clock} {rest}"

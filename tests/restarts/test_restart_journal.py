"""Why a restart failed: the unit's journal since the restart began, kept in the audit row.

The journal is real (journal files written by systemd-journal-remote, read by
journalctl with --directory); the entries the broken unit "logs" are stamped after the
moment the test asks for the restart, as a unit's own lines would be.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from server_monitor.models import RestartAction
from tests.support.journal import JournalDirectory, require_journal_tools

NGINX_SAYS = [
    'nginx: [emerg] unknown directive "foo" in /etc/nginx/nginx.conf:12',
    "nginx: configuration file /etc/nginx/nginx.conf test failed",
]


@pytest.fixture
def nginx_journal(tmp_path, settings):
    fixture = require_journal_tools()
    journal = JournalDirectory(tmp_path / "journal")
    journal.load_fixture(fixture)  # older lines of nginx and MariaDB, from a real server
    settings.WPDASH_JOURNAL_DIRECTORY = str(journal.path)
    return journal


def break_nginx(journal: JournalDirectory, fake_systemd) -> None:
    fake_systemd.on_restart("nginx.service", "fail")
    journal.realtime_usec = max(journal.realtime_usec, time.time_ns() // 1000)  # from now on
    journal.append(*NGINX_SAYS, unit="nginx.service", identifier="nginx", pid=812, priority=3)


def test_a_failed_restart_keeps_the_units_journal_since_it_began(nginx_journal, fake_systemd, signed_in, operator):
    break_nginx(nginx_journal, fake_systemd)

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 503
    action = RestartAction.objects.get()
    kept = action.journal.splitlines()
    assert [line.split(": ", 1)[1] for line in kept] == NGINX_SAYS  # only what came after the restart began
    assert all(" [err] nginx[812]: " in line for line in kept)
    assert response.json()["journal"] == action.journal
    assert 'unknown directive "foo"' in response.json()["message"]


def test_a_successful_restart_keeps_no_journal(nginx_journal, fake_systemd, signed_in, operator):
    nginx_journal.realtime_usec = time.time_ns() // 1000
    nginx_journal.append("nginx: reopening logs", unit="nginx.service", identifier="nginx")

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 200
    assert RestartAction.objects.get().journal == ""


def test_the_page_shows_the_reason_after_a_failed_restart(nginx_journal, fake_systemd, operator):
    break_nginx(nginx_journal, fake_systemd)
    client = Client()
    client.force_login(operator)

    response = client.post("/services/nginx/restart", follow=True)

    html = response.content.decode()
    assert "unknown directive &quot;foo&quot; in /etc/nginx/nginx.conf:12" in html  # the banner and the table
    assert 'class="restart-journal"' in html


def test_an_unreadable_journal_says_so_and_the_restart_is_still_recorded(fake_systemd, signed_in, operator, settings):
    settings.WPDASH_JOURNALCTL = "/nonexistent/journalctl"
    fake_systemd.on_restart("nginx.service", "fail")

    response = signed_in(operator).post("/api/v1/server/services/nginx/restart")

    assert response.status_code == 503
    action = RestartAction.objects.get()
    assert action.status == "failed"
    assert action.journal.startswith("(the unit's journal cannot be read: ")
    assert "journal" not in response.json()["message"]

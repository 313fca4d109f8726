"""The log panel's filter box and the services' "Logs" links, with the keyboard, in Chromium.

A real daphne, a real log file, real journal files (systemd-journal-remote) read by
journalctl, the stand-in systemctl for the service cards.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.html import escape

from tests.support.journal import JournalDirectory, require_journal_tools
from tests.support.logs import nginx_line
from tests.support.servers import live_server
from tests.support.systemd import FakeSystemd

PASSWORD = "log panel password 123"


def test_without_javascript_the_filter_is_a_search_of_the_whole_log(settings, tmp_path, fake_systemd, viewer):
    log = tmp_path / "access.log"
    log.write_text("".join(f"{nginx_line(n)}\n" for n in range(500)))
    settings.WPDASH_LOGS = {"nginx-access": str(log)}
    client = Client()
    client.force_login(viewer)

    html = client.get("/", {"log": "nginx-access", "q": "N=7 HTTP"}).content.decode()

    shown = re.search(r"<pre[^>]*data-log-lines[^>]*>(.*?)</pre>", html, re.S).group(1).splitlines()
    assert shown == [escape(nginx_line(7))]  # far beyond the last 50 lines, any case
    assert 'value="N=7 HTTP"' in html


def test_a_bad_filter_shows_the_log_unfiltered_and_says_why(settings, tmp_path, fake_systemd, viewer):
    log = tmp_path / "access.log"
    log.write_text("one\ntwo\n")
    settings.WPDASH_LOGS = {"nginx-access": str(log)}
    client = Client()
    client.force_login(viewer)

    html = client.get("/", {"q": "x" * 201}).content.decode()

    assert "Filter not applied: q must be at most 200 characters." in html
    assert "one\ntwo" in html


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("log-panel")
    systemd = FakeSystemd(tmp_path / "systemd")
    journal = JournalDirectory(tmp_path / "journal")
    journal.load_fixture(require_journal_tools())
    log = tmp_path / "access.log"
    log.write_text("".join(f"{nginx_line(n)}\n" for n in range(100)))
    with live_server(
        tmp_path,
        WPDASH_SYSTEMCTL=str(systemd.path),
        WPDASH_METRICS_SOURCE="local",
        WPDASH_LOGS=f"nginx-access={log}",
        WPDASH_JOURNAL_DIRECTORY=str(journal.path),
    ) as server:
        server.create_user("viewer", PASSWORD)
        yield server, log, journal


def signed_in(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + "/")
    page.wait_for_selector("[data-log-status]:has-text('Live')")
    return page


@pytest.mark.browser
def test_in_chromium_the_filter_box_filters_history_and_live_lines_and_escape_clears_it(browser, site):
    server, log, _journal = site
    page = signed_in(browser, server)
    lines = page.locator("[data-log-lines]")

    page.get_by_label("Filter").focus()
    page.keyboard.type("n=7")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-log-status]:has-text('filtered')")
    page.wait_for_selector("[data-log-lines]:has-text('n=77 ')")
    shown = lines.inner_text().splitlines()
    assert shown == [nginx_line(n) for n in (7, *range(70, 80))]  # from the whole log, not the last 50 only

    with log.open("a") as handle:
        handle.write(f"{nginx_line(700)}\n{nginx_line(801)}\n{nginx_line(7000)}\n")
    page.wait_for_selector("[data-log-lines]:has-text('n=7000 ')")
    assert "n=801 " not in lines.inner_text() and "n=700 " in lines.inner_text()
    assert "q=n%3D7" in page.url

    page.keyboard.press("Escape")
    page.wait_for_selector("[data-log-lines]:has-text('n=99 ')")
    assert page.get_by_label("Filter").input_value() == ""
    assert "n=801 " in lines.inner_text()
    page.close()


@pytest.mark.browser
def test_in_chromium_a_service_cards_logs_link_opens_its_journal(browser, site):
    server, _log, journal = site
    page = signed_in(browser, server)

    link = page.locator('[data-service="nginx"]').get_by_role("link", name="Logs of nginx")
    link.focus()
    page.keyboard.press("Enter")

    page.wait_for_selector("[data-log-lines]:has-text('nginx.service')")  # systemd's own lines about it
    assert page.locator("#log-picker").input_value() == "journal:nginx"
    assert page.locator("[data-log-banner]").is_hidden()
    shown = page.locator("[data-log-lines]").inner_text().splitlines()
    assert shown and all("nginx" in line for line in shown)

    journal.append("nginx: live from the unit's journal", unit="nginx.service", identifier="nginx", pid=812)
    page.wait_for_selector('[data-log-lines]:has-text("live from the unit\'s journal")')
    page.close()

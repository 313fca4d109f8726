"""Tabs of one browser share the page's refresh: one tab asks, every tab shows it.

Headless Chromium against a real daphne, three tabs in one signed-in context, with
Playwright's clock driving the page's timers so ten seconds of refresh take none.
"""

from __future__ import annotations

import collections
import time

import pytest
import requests

from tests.page.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.browser

TICK_MS = 10_000  # status.js REFRESH_MS
FRAGMENTS = 5  # alerts, metrics, sites, services, restarts


def open_tabs(browser, server, count: int):
    """Signed-in tabs on /, their clock stopped: from here on only tick() moves it."""
    context = browser.new_context()
    context.clock.install()
    tabs = [context.new_page() for _ in range(count)]
    sign_in(tabs[0], server)
    for tab in tabs[1:]:
        tab.goto(server.url + "/")
    tabs[0].clock.pause_at(int(time.time() * 1000) + 1000)
    tabs[0].wait_for_timeout(500)  # what the jump started
    return context, tabs


def restart_elsewhere(server, service: str = "nginx") -> None:
    """A restart through the API, as from another computer: the audit gains a row."""
    api = f"{server.url}/api/v1"
    token = requests.post(f"{api}/auth/token/", json={"username": "operator", "password": PASSWORD}, timeout=10)
    headers = {"Authorization": f"Bearer {token.json()['access']}"}
    answer = requests.post(f"{api}/server/services/{service}/restart", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text


class FragmentRequests:
    """Fragment requests by tab number, counted as they finish."""

    def __init__(self, tabs) -> None:
        self.tabs = tabs
        self.by_tab: collections.Counter = collections.Counter()
        for number, tab in enumerate(tabs):
            tab.on("requestfinished", lambda request, number=number: self._count(number, request.url))

    def _count(self, number: int, url: str) -> None:
        if "/fragments/" in url:
            self.by_tab[number] += 1

    def tick(self, tab) -> None:
        """One refresh interval on the context's clock, then real time for what it
        started: the fetches, and the copies they post to the other tabs."""
        before = sum(self.by_tab.values())
        tab.clock.run_for(TICK_MS)
        deadline = time.monotonic() + 10
        while sum(self.by_tab.values()) < before + FRAGMENTS and time.monotonic() < deadline:
            tab.wait_for_timeout(50)  # Playwright's own time, not the page's clock
        tab.wait_for_timeout(300)


def test_one_tab_asks_and_every_tab_shows_what_it_got(browser, operator_site):
    server, *_ = operator_site
    context, tabs = open_tabs(browser, server, 3)
    try:
        asked = FragmentRequests(tabs)
        restart_elsewhere(server)
        for _ in range(3):
            asked.tick(tabs[0])  # the clock is the context's: every tab's timers run
        for tab in tabs:
            tab.locator("[data-fragment=restarts] td.mono:has-text('nginx')").wait_for(timeout=10000)
        assert len(asked.by_tab) == 1, f"fragment requests by tab: {dict(asked.by_tab)}"
        assert sum(asked.by_tab.values()) == 3 * FRAGMENTS
    finally:
        context.close()


def test_when_the_asking_tab_closes_another_takes_over(browser, operator_site):
    server, *_ = operator_site
    context, tabs = open_tabs(browser, server, 2)
    try:
        asked = FragmentRequests(tabs)
        asked.tick(tabs[0])
        [leader] = asked.by_tab
        tabs[leader].close()
        survivor = tabs[1 - leader]
        restart_elsewhere(server, "mariadb")
        for _ in range(2):
            asked.tick(survivor)  # a tick and a half without news: the survivor asks
        survivor.locator("[data-fragment=restarts] td.mono:has-text('mariadb')").wait_for(timeout=10000)
        assert asked.by_tab[1 - leader] > 0
    finally:
        context.close()

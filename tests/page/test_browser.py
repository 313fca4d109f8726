"""The status page as a person uses it: headless Chromium against a real daphne.

Screenshots at desktop and phone width are saved in test-artifacts/ (the README
shows the desktop one).
"""

from __future__ import annotations

import pytest

from tests.page.conftest import sign_in
from tests.support.servers import REPO

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"


def test_an_operator_signs_in_sees_the_box_restarts_nginx_and_follows_the_log(browser, operator_site):
    server, systemd, log = operator_site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    sign_in(page, server)

    assert page.locator("[data-metric]").count() == 6
    assert page.locator('[data-service="nginx"]').locator(".badge").inner_text() == "active"

    # Live follow: the socket's first message replaces the server-rendered lines.
    page.wait_for_selector("[data-log-status]:has-text('Live')")
    with log.open("a") as handle:
        handle.write('198.51.100.77 - - [22/Nov/2026:03:01:00 +0000] "GET /fresh-from-the-test HTTP/1.1" 200 1\n')
    page.wait_for_selector("[data-log-lines]:has-text('fresh-from-the-test')", timeout=10000)

    # Restart with confirmation.
    page.locator('[data-service="nginx"]').get_by_role("button", name="Restart").click()
    dialog = page.locator("#restart-dialog")
    assert dialog.is_visible()
    dialog.get_by_role("button", name="Restart").click()
    page.wait_for_selector("#action-result:has-text('nginx restarted')", timeout=20000)
    assert len(systemd.restarts()) == 1
    page.wait_for_selector("[data-fragment=restarts] td.mono:has-text('nginx')", timeout=10000)

    # Range switch.
    page.get_by_role("link", name="1h").click()
    page.wait_for_selector(".source-note:has-text('window 1h')")
    assert page.url.endswith("?range=1h")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "status-desktop.png"), full_page=True)
    assert errors == []  # no CSP violation, no script error
    page.close()


def test_cancelling_the_confirmation_restarts_nothing(browser, operator_site):
    server, systemd, _ = operator_site
    page = browser.new_page()
    sign_in(page, server)
    before = len(systemd.restarts())

    page.locator('[data-service="redis-server"]').get_by_role("button", name="Restart").click()
    page.locator("#restart-dialog").get_by_role("button", name="Cancel").click()

    page.wait_for_timeout(300)
    assert len(systemd.restarts()) == before
    page.close()


def test_the_page_fits_a_phone(browser, operator_site):
    server, _, _ = operator_site
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    sign_in(page, server)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "status-phone.png"), full_page=True)
    page.close()


def test_pause_holds_lines_and_resume_delivers_them(browser, operator_site):
    server, _, log = operator_site
    page = browser.new_page()
    sign_in(page, server)
    page.wait_for_selector("[data-log-status]:has-text('Live')")

    page.get_by_role("button", name="Pause").click()
    with log.open("a") as handle:
        handle.write("held-while-paused\n")
    page.wait_for_timeout(500)
    assert "held-while-paused" not in page.locator("[data-log-lines]").inner_text()

    page.get_by_role("button", name="Resume").click()
    page.wait_for_selector("[data-log-lines]:has-text('held-while-paused')", timeout=10000)
    page.close()

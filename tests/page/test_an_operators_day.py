"""The status page in Chromium at desktop and phone size, for the walk of issue 29: a
restart's outcome on its card, the running row in Recent restarts, how a session ended,
the log filter's no-match message and highlight, the range switch's focus ring, skip
links, and a phone page that never scrolls sideways."""

from __future__ import annotations

import pytest

from tests.page.conftest import sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


def open_page(browser, server, size):
    page = browser.new_page(**size)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, server)
    return page, errors


def restart(page, service: str) -> None:
    card = page.locator(f'[data-service="{service}"]')
    card.scroll_into_view_if_needed()
    card.get_by_role("button", name="Restart").click()
    page.locator("#restart-dialog").get_by_role("button", name="Restart").click()


def in_viewport(page, selector: str) -> bool:
    """Whether the element's first 40 px are on screen, measured in one step in the page:
    the page redraws its fragments at any moment, and a locator measured in two steps can
    meet an element that was just replaced."""
    return page.evaluate(
        """(selector) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return box.top >= 0 && box.top + Math.min(box.height, 40) <= window.innerHeight;
        }""",
        selector,
    )


@SIZES
def test_a_failing_restart_says_why_on_its_card_and_to_screen_readers(browser, operator_site, size):
    server, systemd, _ = operator_site
    systemd.on_restart("redis-server.service", mode="fail")
    page, errors = open_page(browser, server, size)

    restart(page, "redis-server")
    bad_outcome = '[data-service="redis-server"] [data-card-outcome].bad'
    outcome = page.locator(bad_outcome)
    outcome.wait_for(timeout=20000)

    said = outcome.inner_text()
    assert "redis-server" in said and "fail" in said.lower()
    assert page.locator("#action-result").inner_text() == said  # the live region says the same
    assert in_viewport(page, bad_outcome)  # where the eye is, without scrolling
    assert page.locator('[data-service="redis-server"]').get_by_role("button", name="Restart").is_enabled()
    assert [error for error in errors if "status of 503" not in error] == []  # the failed restart's own 503
    systemd.on_restart("redis-server.service", mode="ok")
    page.close()


@SIZES
def test_recent_restarts_shows_the_running_row_while_the_restart_runs(browser, operator_site, size):
    server, systemd, _ = operator_site
    release = systemd.gate_restart("php8.2-fpm.service")
    page, errors = open_page(browser, server, size)

    restart(page, "php8.2-fpm")
    card_line = page.locator('[data-service="php8.2-fpm"] [data-card-outcome]')
    card_line.wait_for()
    assert card_line.inner_text() == "Restarting php8.2-fpm…"
    running = page.locator("[data-fragment=restarts] tr", has_text="php8.2-fpm").filter(has_text="running")
    running.first.wait_for(timeout=15000)  # while systemctl still waits at the gate

    release()
    page.locator('[data-service="php8.2-fpm"] [data-card-outcome].ok').wait_for(timeout=20000)
    page.locator("[data-fragment=restarts] tr", has_text="php8.2-fpm").filter(has_text="succeeded").first.wait_for(
        timeout=15000
    )
    assert errors == []
    page.close()


@SIZES
def test_signing_out_says_so_on_the_sign_in_page(browser, operator_site, size):
    server, _, _ = operator_site
    page, _ = open_page(browser, server, size)

    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url("**/accounts/login/?signed_out=1")
    assert page.locator("[data-session-notice]").inner_text() == "You have signed out."
    page.close()


@SIZES
def test_an_expired_session_lands_on_sign_in_saying_so_and_comes_back(browser, operator_site, size):
    server, _, _ = operator_site
    page, _ = open_page(browser, server, size)
    server.manage("shell", "-c", "from django.contrib.sessions.models import Session; Session.objects.all().delete()")

    page.get_by_role("link", name="1h").click()  # the range switch fetches its fragments

    page.wait_for_url("**/accounts/login/**expired=1**")
    assert page.locator("[data-session-notice]").inner_text() == "Your session expired; sign in again."
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("a browser password 123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/?range=1h")  # back where the session ended
    page.close()


@SIZES
def test_a_filter_that_matches_nothing_says_so_and_matches_are_marked_as_text(browser, operator_site, size):
    server, _, log = operator_site
    word = f"Bold-Path-{size['viewport']['width']}"  # one line per size: the log is the module's
    with log.open("a") as handle:
        handle.write(f'198.51.100.9 - - [22/Nov/2026:03:02:00 +0000] "GET /<b>{word}</b> HTTP/1.1" 404 1\n')
    page, errors = open_page(browser, server, size)
    page.wait_for_selector("[data-log-status]:has-text('Live')")
    box = page.locator("[data-log-filter]")

    box.fill("no-such-text-anywhere")
    box.press("Enter")
    empty = page.locator("[data-log-empty]")
    empty.wait_for()
    assert empty.inner_text() == "No line matches \u201cno-such-text-anywhere\u201d."
    assert page.locator("[data-log-lines]").is_hidden()

    box.fill(word.lower())
    box.press("Enter")
    marks = page.locator("[data-log-lines] mark")
    marks.first.wait_for()
    assert marks.all_inner_texts() == [word]  # its own case, found in any case
    assert page.locator("[data-log-lines] b").count() == 0  # log text is never parsed as HTML
    assert f"<b>{word}</b>" in page.locator("[data-log-lines]").inner_text()
    assert empty.is_hidden()
    # The filter box wears the other controls' look.
    picker_bg = page.locator("#log-picker").evaluate("e => getComputedStyle(e).backgroundColor")
    assert box.evaluate("e => getComputedStyle(e).backgroundColor") == picker_bg
    assert errors == []
    page.close()


@SIZES
def test_the_range_switch_shows_its_focus_ring_unclipped(browser, operator_site, size):
    server, _, _ = operator_site
    page, _ = open_page(browser, server, size)
    page.keyboard.press("Tab")  # keyboard modality, as a keyboard user has
    link = page.locator(".seg a", has_text="1h")
    link.focus()

    ring = link.evaluate(
        """e => { const s = getComputedStyle(e), p = getComputedStyle(e.parentElement);
        return {visible: e.matches(':focus-visible'), style: s.outlineStyle, width: s.outlineWidth,
                offset: parseFloat(s.outlineOffset), overflow: p.overflow}; }"""
    )

    assert ring["visible"] and ring["style"] == "solid" and ring["width"] == "2px"
    # Not clipped: nothing around it hides overflow, and the ring is drawn inside the link.
    assert ring["overflow"] == "visible" and ring["offset"] <= -2
    page.close()


@SIZES
def test_skip_links_come_first_show_on_focus_and_lead_to_each_section(browser, operator_site, size):
    server, _, _ = operator_site
    page, _ = open_page(browser, server, size)
    links = page.locator(".skip-links a")
    assert links.all_inner_texts() == [
        "Skip to Health",
        "Skip to Sites",
        "Skip to Services",
        "Skip to Recent restarts",
        "Skip to Logs",
    ]
    for target in ("#health", "#sites", "#services", "#restarts", "#logs"):
        assert page.locator(target).count() == 1
    assert links.first.bounding_box()["width"] <= 1  # out of sight until focused

    page.locator("body").focus()
    for _ in range(20):  # past the top bar's links to the first skip link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Skip to Services":
            break
    focused = page.locator(".skip-links a:focus")
    assert focused.inner_text() == "Skip to Services"
    assert focused.bounding_box()["width"] > 50  # shown while it has focus
    page.keyboard.press("Enter")

    page.wait_for_url("**#services")
    assert in_viewport(page, "#services-title")
    page.close()


def test_on_a_phone_nothing_scrolls_sideways_dates_stay_on_a_line_and_log_lines_do_not_break(browser, operator_site):
    server, _, log = operator_site
    with log.open("a") as handle:
        handle.write("a-long-line-" + "without-any-space-" * 30 + "\n")
    page, _ = open_page(browser, server, PHONE)
    restart(page, "netdata")
    page.locator('[data-service="netdata"] [data-card-outcome].ok').wait_for(timeout=20000)
    page.locator("[data-fragment=restarts] time").first.wait_for()
    page.wait_for_selector("[data-log-lines]:has-text('a-long-line-')")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    when = page.locator("[data-fragment=restarts] time").first
    lines = page.locator("[data-log-lines]")

    assert overflow <= 0
    assert when.evaluate("e => e.getClientRects().length") == 1  # one line box
    assert " UTC" in when.inner_text()  # the zone is still shown
    assert lines.evaluate("e => getComputedStyle(e).whiteSpace") == "pre"
    assert lines.evaluate("e => e.scrollWidth > e.clientWidth")  # it scrolls inside its box
    page.close()

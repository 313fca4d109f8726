"""The page restarts nginx through nginx and never calls a restart that worked a failure.

Headless Chromium in front of the real nginx in front of a real daphne (tests/support/nginx.py),
nginx.service restarted by the stand-in the way Debian's unit does. The open log panel's
WebSocket keeps nginx's graceful stop waiting, as on a real dashboard, until SIGTERM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.nginx import dashboard_behind_nginx
from tests.support.users import PASSWORD

pytestmark = pytest.mark.browser

OUTCOME = "#action-result"


@pytest.fixture
def stack(tmp_path: Path, request):
    with dashboard_behind_nginx(tmp_path, browser=True, **getattr(request, "param", {})) as dashboard:
        dashboard.daphne.create_user("operator", PASSWORD, permissions=("restart_service",))
        yield dashboard


def restart_nginx_on_the_page(browser, stack, fake_clock: bool = False):
    context = browser.new_context(ignore_https_errors=True)  # the throwaway certificate
    if fake_clock:
        context.clock.install()  # runs as ever until a test moves it on with run_for
    page = context.new_page()
    page.goto(stack.https + "/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(stack.https + "/")
    shown: list[str] = []
    page.expose_function("noteOutcome", lambda text: shown.append(text))
    # Every outcome the page announces, in order: none may say "failed" on the way.
    page.evaluate(
        """() => new MutationObserver(() => window.noteOutcome(document.querySelector('#action-result').textContent))
            .observe(document.querySelector('#action-result'), {childList: true, characterData: true, subtree: true})"""
    )
    page.locator('[data-service="nginx"]').get_by_role("button", name="Restart").click()
    page.locator("#restart-dialog").get_by_role("button", name="Restart").click()
    return context, page, shown


def test_the_page_follows_a_restart_of_nginx_through_nginx_to_its_outcome(browser, stack):
    old_master = stack.master_pid()
    context, page, shown = restart_nginx_on_the_page(browser, stack)

    page.wait_for_selector(f"{OUTCOME}:has-text('Service nginx restarted')", timeout=60000)

    assert any(text.startswith("Restarting nginx: this request came through nginx") for text in shown)
    assert not [text for text in shown if "fail" in text or "did not answer" in text]
    assert stack.master_pid() != old_master
    context.close()


@pytest.mark.parametrize("stack", [{"WPDASH_PROXY_UNITS": "none"}], indirect=True, ids=["answer-cut"])
def test_when_the_answer_is_cut_the_page_shows_what_the_audit_row_says(browser, stack):
    old_master = stack.master_pid()
    context, page, shown = restart_nginx_on_the_page(browser, stack)

    page.wait_for_selector(f"{OUTCOME}:has-text('Service nginx restarted')", timeout=60000)

    assert any("no answer came; looking up what became of it" in text for text in shown)
    assert not [text for text in shown if "fail" in text or "did not answer" in text]
    assert stack.master_pid() != old_master
    context.close()


def test_when_nginx_does_not_come_back_the_page_says_so_and_not_that_it_failed(browser, stack):
    with (stack.folder / "site.conf").open("a") as site:
        site.write("garbage;\n")  # nginx -t fails: the restart stops nginx and cannot start it
    context, page, shown = restart_nginx_on_the_page(browser, stack, fake_clock=True)
    page.wait_for_selector(f"{OUTCOME}:has-text('Restarting nginx: this request came through nginx')")

    # Two minutes of the page's polling (each poll refused), on its own clock.
    for _ in range(60):
        if "has not been reachable since" in page.locator(OUTCOME).inner_text():
            break
        page.clock.run_for(5000)
        page.wait_for_timeout(100)  # real time for the refused poll that the jump started

    assert "the dashboard has not been reachable since; nginx may not have come back" in shown[-1]
    assert not [text for text in shown if "fail" in text or "restarted" in text]
    context.close()

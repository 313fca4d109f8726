"""Approvals on the page, as a second person does it: headless Chromium against a real
daphne in approval mode, at desktop and phone size. The approver sees the request, confirms
in a dialog, and reads the progress and the outcome in the row acted on."""

from __future__ import annotations

import pytest

from tests.support.servers import live_server
from tests.support.systemd import FakeSystemd

pytestmark = pytest.mark.browser

PASSWORD = "a browser password 123"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def approval_site(tmp_path_factory):
    """A daphne in approval mode with the stand-in systemctl, a requester and an approver."""
    tmp_path = tmp_path_factory.mktemp("approvals")
    systemd = FakeSystemd(tmp_path / "systemd")
    with live_server(
        tmp_path,
        WPDASH_SYSTEMCTL=str(systemd.path),
        WPDASH_SUDO="off",
        WPDASH_METRICS_SOURCE="local",
        WPDASH_RESTART_APPROVAL="on",
        WPDASH_LOGS=f"nginx-access={tmp_path / 'access.log'}",
    ) as server:
        server.create_user("requester", PASSWORD, permissions=("restart_service",))
        server.create_user("approver", PASSWORD, permissions=("approve_restart",))
        yield server, systemd


def request_restart(server, service: str) -> int:
    """The requester asks through the API, as the page's Restart button does."""
    session = server.session("requester", PASSWORD)
    response = session.post(
        f"{server.url}/api/v1/server/services/{service}/restart",
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def signed_in_page(browser, server, username: str, viewport: dict):
    page = browser.new_page(viewport=viewport, is_mobile=viewport == PHONE)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(server.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    return page, errors


def test_a_second_person_approves_on_the_page_and_sees_it_run(browser, approval_site):
    server, systemd = approval_site
    release = systemd.gate_restart("nginx.service")  # the restart waits: its progress can be seen
    action_id = request_restart(server, "nginx")
    page, errors = signed_in_page(browser, server, "approver", {"width": 1280, "height": 900})

    row = page.locator(f'[data-approval="{action_id}"]')
    assert page.locator("[data-approval-count]").inner_text() == "1 pending"
    assert row.get_by_text("Requested by requester").is_visible()
    row.get_by_role("button", name="Approve").click()
    dialog = page.locator("#approval-dialog")
    assert dialog.get_by_text("Approve the restart of nginx?").is_visible()
    dialog.get_by_role("button", name="Approve and restart").click()

    outcome = row.locator("[data-approval-outcome]")
    page.wait_for_selector(
        f'[data-approval="{action_id}"] [data-approval-outcome]:has-text("Approved, restarting nginx…")'
    )
    assert systemd.restarts() == []  # not yet: it waits at the gate
    release()
    page.wait_for_selector(
        f'[data-approval="{action_id}"] [data-approval-outcome]:has-text("Service nginx restarted")', timeout=30000
    )
    assert "ok" in (outcome.get_attribute("class") or "")
    assert systemd.restarts() == [["restart", "--", "nginx"]]
    # The services and restarts were redrawn: the row is no longer pending there.
    page.wait_for_selector("[data-fragment=restarts] .badge:has-text('succeeded')", timeout=10000)
    assert errors == []  # no CSP violation, no script error
    page.close()


def test_on_a_phone_the_outcome_is_in_view_beside_the_row_approved(browser, approval_site):
    server, systemd = approval_site
    systemd.on_restart("redis-server.service", "fail")
    action_id = request_restart(server, "redis-server")
    page, errors = signed_in_page(browser, server, "approver", PHONE)

    row = page.locator(f'[data-approval="{action_id}"]')
    row.get_by_role("button", name="Approve").click()
    page.locator("#approval-dialog").get_by_role("button", name="Approve and restart").click()
    page.wait_for_selector(
        f'[data-approval="{action_id}"] [data-approval-outcome]:has-text("Restart of redis-server failed")',
        timeout=30000,
    )

    # The row (now answered: its buttons are gone) and its outcome are both on screen as it was
    # when Approve was tapped: nothing to scroll to read what became of it.
    # Measured in one step: a refresh may redraw the section between two separate looks.
    head_top, outcome_bottom = page.evaluate(
        """(id) => {
            const row = document.querySelector('[data-approval="' + id + '"]');
            return [row.querySelector(".approval-head").getBoundingClientRect().top,
                    row.querySelector("[data-approval-outcome]").getBoundingClientRect().bottom];
        }""",
        str(action_id),
    )
    assert 0 <= head_top and outcome_bottom <= PHONE["height"]
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert "bad" in (row.locator("[data-approval-outcome]").get_attribute("class") or "")
    # The failed restart's own 503 is the only one Chromium reports; no script error, no CSP violation.
    assert [error for error in errors if "status of 503" not in error] == []
    page.close()


def test_the_requester_withdraws_on_the_page(browser, approval_site):
    server, systemd = approval_site
    action_id = request_restart(server, "php8.2-fpm")
    page, errors = signed_in_page(browser, server, "requester", PHONE)

    row = page.locator(f'[data-approval="{action_id}"]')
    assert row.get_by_role("button", name="Approve").count() == 0
    row.get_by_role("button", name="Withdraw").click()
    page.locator("#approval-dialog").get_by_role("button", name="Withdraw").click()

    said = row.locator("[data-approval-outcome]")
    said.filter(has_text="Restart of php8.2-fpm withdrawn by requester").wait_for()
    assert ["restart", "--", "php8.2-fpm"] not in systemd.restarts()
    assert errors == []
    page.close()

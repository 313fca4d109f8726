"""What a new user meets in their first minutes: the log panel, the API root, the
sparklines' history, the services banner and bin/run's last words (issue 16).

The Chromium tests come last in the module: Playwright's sync API holds an event
loop in this thread while the module's browser is open.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest
from django.test import Client

from server_monitor.templatetags.dashboard import history_note, sentence
from server_monitor.workflows import metrics
from tests.support.netdata import metrics_with_values
from tests.support.servers import REPO, clean_environ, free_port, live_server, wait_until
from tests.support.systemd import FakeSystemd

PASSWORD = "first minutes password 123"


@pytest.fixture
def two_logs(settings, tmp_path):
    """One configured log that does not exist (listed first), one readable."""
    readable = tmp_path / "error.log"
    readable.write_text("".join(f"mysql line {n}\n" for n in range(1, 21)))
    settings.WPDASH_LOGS = {"nginx-access": str(tmp_path / "missing.log"), "mysql": str(readable)}
    settings.WPDASH_METRICS_SOURCE = "local"
    metrics.reset()
    yield tmp_path
    metrics.reset()


def test_the_log_panel_opens_on_the_first_readable_log_and_marks_the_missing_one(two_logs, fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    html = client.get("/").content.decode()

    assert re.search(r'<option value="mysql"[^>]*selected>mysql</option>', html)
    assert re.search(r'<option value="nginx-access" data-available="false">nginx-access \(unavailable\)</option>', html)
    assert "mysql line 20" in html
    assert re.search(r"<div [^>]*data-log-banner[^>]* hidden>", html)


def test_a_missing_log_asked_for_says_why_once(two_logs, fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    html = client.get("/?log=nginx-access").content.decode()

    reason = f"{two_logs / 'missing.log'} does not exist."
    assert html.count(reason) == 1  # in the banner; the status line only says "Not available"
    assert re.search(r"<pre [^>]*data-log-lines[^>]* hidden>", html)


def test_the_api_root_links_every_resource(viewer_client):
    response = viewer_client.get("/api/v1/")

    assert response.status_code == 200
    links = response.json()
    for name, path in {
        "services": "/api/v1/server/services",
        "restarts": "/api/v1/server/restarts",
        "logs": "/api/v1/server/logs",
        "metrics": "/api/v1/server/metrics",
        "sites": "/api/v1/server/sites",
    }.items():
        assert links[name] == f"http://testserver{path}"
        assert viewer_client.get(links[name]).status_code != 404, name


def test_the_api_root_needs_sign_in(anonymous_client):
    assert anonymous_client.get("/api/v1/").status_code == 401


def test_the_schema_writes_paths_as_the_readme_does_without_a_trailing_slash(viewer_client):
    paths = viewer_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    assert "/api/v1/server/services/{name}/restart" in paths
    assert [path for path in paths if path.endswith("/")] == []


def test_the_services_banner_ends_in_one_full_stop(fake_systemd, viewer):
    fake_systemd.go_offline()
    client = Client()
    client.force_login(viewer)

    html = client.get("/fragments/services").content.decode()

    assert "systemd is not running on this host." in html
    assert ".." not in html


def test_sentence_adds_a_full_stop_only_where_one_is_missing():
    assert sentence("systemctl failed with exit code 1: boom") == "systemctl failed with exit code 1: boom."
    assert sentence("systemd is not running on this host.") == "systemd is not running on this host."


def test_a_window_with_leading_gaps_says_where_its_history_begins():
    now = 1_800_000_000
    points = [{"timestamp": now - 3600 + 60 * n, "value": None if n < 48 else 1.0} for n in range(60)]

    assert history_note(points, now=now) == "History begins 12m 0s ago"
    assert history_note([{"timestamp": now, "value": 2.0}], now=now) == ""
    assert history_note([{"timestamp": now, "value": None}], now=now) == "No history yet"


def test_the_current_value_is_the_same_in_every_range_and_the_average_is_the_windows(
    netdata, settings, viewer_client, monkeypatch
):

    settings.WPDASH_METRICS_SOURCE = "netdata"
    settings.NETDATA_URL = netdata.url
    metrics.reset()
    metrics_with_values(viewer_client, *metrics.SERIES)  # a young Netdata has no complete interval yet
    metrics.reset(cache_seconds=60.0)  # one refresh: every range from the same fetches
    try:
        answers = {name: viewer_client.get("/api/v1/server/metrics", {"range": name}).json() for name in metrics.RANGES}
    finally:
        metrics.reset()

    for key in metrics.SERIES:
        currents = {name: answer[key]["current"] for name, answer in answers.items()}
        assert len(set(currents.values())) == 1, (key, currents)
        assert currents["5m"] is not None, key
        for name, answer in answers.items():
            known = [point["value"] for point in answer[key]["points"] if point["value"] is not None]
            expected = sum(known) / len(known) if known else None  # a young Netdata has no 10-minute group yet
            assert answer[key]["average"] == pytest.approx(expected, abs=0.01), (key, name)


def test_bin_run_prints_the_address_and_the_new_admins_password_last(tmp_path):
    port = free_port()
    env = clean_environ(WPDASH_DATA_DIR=str(tmp_path / "data"), WPDASH_PORT=str(port), WPDASH_METRICS_SOURCE="local")
    process = subprocess.Popen(
        [str(REPO / "bin" / "run")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if "Write it down" in line:
                break
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=30) is not None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    running = next(index for index, line in enumerate(lines) if "wpdash is running at" in line)
    assert lines[running] == f"wpdash is running at http://127.0.0.1:{port}/  (Ctrl-C stops it)"
    assert re.fullmatch(r"Created admin 'admin' with password: \S{12,}", lines[running + 1])
    assert lines[running + 2 :] == ["Write it down; it is not shown again."]
    assert not any("Applying" in line for line in lines)  # the migrations keep quiet


# --- in Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("first-minutes")
    systemd = FakeSystemd(tmp_path / "systemd")
    readable = tmp_path / "error.log"
    readable.write_text("".join(f"mysql line {n}\n" for n in range(1, 21)))
    logs = f"nginx-access={tmp_path / 'access.log'},mysql={readable}"
    with live_server(
        tmp_path, WPDASH_SYSTEMCTL=str(systemd.path), WPDASH_METRICS_SOURCE="local", WPDASH_LOGS=logs
    ) as server:
        server.create_user("viewer", PASSWORD)
        yield server


def signed_in_page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")
    return page


@pytest.mark.browser
def test_in_chromium_the_banner_always_belongs_to_the_log_shown(browser, first_run):
    page = signed_in_page(browser, first_run)
    banner, lines = page.locator("[data-log-banner]"), page.locator("[data-log-lines]")
    picker = page.locator("#log-picker")

    page.wait_for_selector("[data-log-status]:has-text('Live')")
    assert picker.input_value() == "mysql"
    assert banner.is_hidden() and "mysql line 20" in lines.inner_text()
    assert picker.locator("option[value=nginx-access]").inner_text() == "nginx-access (unavailable)"

    for _ in range(2):  # back and forth, twice
        picker.select_option("nginx-access")
        page.wait_for_selector("[data-log-banner]:has-text('does not exist')")
        assert lines.is_hidden()
        assert page.locator("[data-log-status]").inner_text() == "Not available"

        picker.select_option("mysql")
        page.wait_for_selector("[data-log-lines]:has-text('mysql line 20')")
        assert banner.is_hidden()
    page.close()


@pytest.mark.browser
def test_in_chromium_a_young_history_says_where_it_begins(browser, first_run):
    page = signed_in_page(browser, first_run)

    page.get_by_role("link", name="1h").click()
    page.wait_for_selector("text=window 1h")
    wait_until(lambda: page.locator("[data-history-note]").count() == 6, timeout=15, message="six history notes")
    notes = page.locator("[data-history-note]").all_inner_texts()
    assert all(re.fullmatch(r"History begins .+ ago|No history yet", note) for note in notes), notes
    assert page.locator("[data-average]").first.inner_text().startswith("1h average")
    page.close()


@pytest.mark.browser
def test_in_chromium_the_api_root_is_browsable_and_links_every_resource(browser, first_run):
    page = signed_in_page(browser, first_run)

    response = page.goto(first_run.url + "/api/v1/")

    assert response is not None and response.status == 200
    for resource in ("services", "restarts", "logs", "metrics"):
        page.get_by_role("link", name=f"{first_run.url}/api/v1/server/{resource}", exact=True).wait_for()
    page.get_by_role("link", name=f"{first_run.url}/api/v1/server/services", exact=True).click()
    page.wait_for_url(first_run.url + "/api/v1/server/services")
    assert "nginx" in page.content()
    page.close()

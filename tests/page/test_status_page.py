"""The server-rendered status page: metrics, services, restarts and logs on one screen."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from server_monitor.models import RestartAction
from server_monitor.workflows import metrics


@pytest.fixture(autouse=True)
def local_metrics_and_logs(settings, tmp_path):
    """Local metrics (no Netdata needed) and one real log file with known lines."""
    settings.WPDASH_METRICS_SOURCE = "local"
    log = tmp_path / "access.log"
    log.write_text("".join(f"line {number}\n" for number in range(1, 81)))
    settings.WPDASH_LOGS = {"nginx-access": str(log), "missing": str(tmp_path / "nope.log")}
    metrics.reset()
    yield
    metrics.reset()


def page(client: Client, query: str = "") -> str:
    response = client.get("/" + query)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, fragment: str) -> str:
    match = re.search(rf'data-fragment="{fragment}"[^>]*>(.*?)</div>\s*</section>', html, re.S)
    assert match, f"no {fragment} section"
    return match.group(1)


def test_it_shows_a_card_with_a_sparkline_per_metric(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    metrics_html = section(page(client), "metrics")

    for key in ("cpu", "ram", "disk", "disk_io", "network_in", "network_out"):
        assert f'data-metric="{key}"' in metrics_html
    assert metrics_html.count('<svg class="sparkline"') == 6
    assert "local sampling" in metrics_html


def test_the_range_switch_changes_the_window_and_ignores_nonsense(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    assert "window 1h" in section(page(client, "?range=1h"), "metrics")
    assert "window 5m" in section(page(client, "?range=../../etc"), "metrics")


def test_a_down_metrics_source_shows_a_banner_not_an_error(fake_systemd, viewer, settings):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    settings.NETDATA_URL = "http://127.0.0.1:9"  # discard port: nothing answers
    client = Client()
    client.force_login(viewer)

    metrics_html = section(page(client), "metrics")

    assert "Metrics are unavailable." in metrics_html
    assert "sparkline" not in metrics_html


def test_service_cards_show_state_in_words_memory_uptime_and_pid(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    services_html = section(page(client), "services")

    assert 'data-service="nginx"' in services_html
    assert re.search(r'class="badge ok"[^>]*>active</span>', services_html)  # the word once, not "active (running)"
    assert "Restart" not in services_html  # a viewer may look, not act


def test_an_operator_gets_restart_buttons(fake_systemd, operator):
    client = Client()
    client.force_login(operator)

    services_html = section(page(client), "services")

    assert 'data-restart="nginx"' in services_html


def test_a_host_without_systemd_gets_one_banner_instead_of_cards(fake_systemd, viewer):
    fake_systemd.go_offline()
    client = Client()
    client.force_login(viewer)

    services_html = section(page(client), "services")

    assert "systemd is not running on this host" in services_html
    assert "data-service=" not in services_html


def test_restarting_without_javascript_confirms_then_runs_and_reports(fake_systemd, operator):
    client = Client()
    client.force_login(operator)

    confirm = client.get("/services/nginx/restart")
    assert confirm.status_code == 200
    assert b'Restart <span class="mono">nginx</span>?' in confirm.content
    assert fake_systemd.restarts() == []

    response = client.post("/services/nginx/restart", follow=True)

    assert len(fake_systemd.restarts()) == 1
    assert "nginx restarted (audit #" in response.content.decode()
    action = RestartAction.objects.get()
    assert (action.service, action.status, action.requested_by) == ("nginx", "succeeded", operator)


def test_the_restart_form_refuses_a_viewer_and_unknown_names(fake_systemd, viewer, operator):
    client = Client()
    client.force_login(viewer)
    assert client.post("/services/nginx/restart").status_code == 403

    client.force_login(operator)
    assert client.post("/services/nginx;id/restart").status_code == 404
    assert fake_systemd.restarts() == []


def test_the_restart_form_needs_the_csrf_token(fake_systemd, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    assert client.post("/services/nginx/restart").status_code == 403
    assert fake_systemd.restarts() == []


def test_recent_restarts_list_the_last_ten_newest_first(fake_systemd, operator, viewer):
    client = Client()
    client.force_login(operator)
    for _ in range(11):
        client.post("/services/redis-server/restart")
    client.force_login(viewer)

    restarts_html = section(page(client), "restarts")

    ids = [int(number) for number in re.findall(r"<td>(\d+)</td>", restarts_html)]
    assert ids == sorted(RestartAction.objects.values_list("pk", flat=True), reverse=True)[:10]
    assert "operator" in restarts_html


def test_the_log_panel_shows_the_last_lines_and_a_missing_log_says_why(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    html = page(client)
    lines = re.search(r"<pre[^>]*data-log-lines[^>]*>(.*?)</pre>", html, re.S).group(1).splitlines()
    assert lines[0] == "line 31" and lines[-1] == "line 80"

    missing = page(client, "?log=missing")
    assert "does not exist" in missing or "No such file" in missing


def test_fragments_need_sign_in(db):
    for path in ("/fragments/metrics", "/fragments/services", "/fragments/restarts", "/fragments/sites"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_fragments_render_the_same_sections(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    assert b"sparkline" in client.get("/fragments/metrics?range=24h").content
    assert b'data-service="nginx"' in client.get("/fragments/services").content
    assert b"No restart has been requested yet." in client.get("/fragments/restarts").content


def test_an_unavailable_log_asked_for_stays_chosen_and_one_no_longer_configured_is_said(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    unavailable = page(client, "?log=missing")
    gone = page(client, "?log=removed-since")

    assert '<option value="missing" data-available="false" selected>' in unavailable
    assert "not configured (any more)" not in unavailable
    assert "The log asked for is not configured (any more); showing nginx-access." in gone
    assert "removed-since" not in gone  # a name from the address is not echoed


def test_a_filter_that_matches_nothing_says_so_instead_of_an_empty_box(fake_systemd, viewer):
    client = Client()
    client.force_login(viewer)

    html = page(client, "?log=nginx-access&q=no-such-words")

    empty = re.search(r"<p class=\"log-empty\"[^>]*>([^<]*)</p>", html)
    assert empty and "hidden" not in empty.group(0)
    assert empty.group(1) == "No line matches “no-such-words”."
    assert re.search(r"<pre class=\"log-lines\"[^>]* hidden>", html)

"""Netdata stopped, hung, late or talking nonsense: 503 with a reason in netdata mode,
the local source in auto mode, and never a 500."""

from __future__ import annotations

import time

import pytest

from server_monitor import caching
from server_monitor.adapters.metrics import netdata as netdata_module
from server_monitor.workflows import metrics
from tests.support.fake_netdata import http_server, late, recorded, recorded_netdata, silent_server
from tests.support.netdata import netdata_binary, start_netdata
from tests.support.servers import free_port, missing_server

URL = "/api/v1/server/metrics"
# Generous slack over the deadline: this checks "gives up at the timeout", not speed.
SLACK = 2.0


@pytest.fixture
def netdata_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time a request asked the Netdata client for data (counted in the request's
    own thread, so the count is final when the response is)."""
    client = metrics.netdata_client()
    asked: list[str] = []
    charts = client.charts

    def counting(range_, before=None):
        asked.append(range_.name)
        return charts(range_, before)

    monkeypatch.setattr(client, "charts", counting)
    return asked


def test_a_stopped_netdata_gives_503_in_netdata_mode_and_local_numbers_in_auto_mode(viewer_client, settings, tmp_path):
    binary = netdata_binary()
    if binary is None:
        missing_server("Netdata is not installed (Debian package netdata; bin/system-deps installs it)")
    server = start_netdata(binary, tmp_path / "netdata", with_data=False)
    settings.NETDATA_URL = server.url
    settings.WPDASH_METRICS_SOURCE = "netdata"
    try:
        assert viewer_client.get(URL).json()["source"] == "netdata"
    finally:
        server.stop()
    caching.clear_all()  # what one cache interval later looks like

    started = time.monotonic()
    response = viewer_client.get(URL)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["detail"] == f"Netdata at {server.url} is unavailable: Connection refused"
    assert elapsed < netdata_module.DEADLINE + SLACK

    settings.WPDASH_METRICS_SOURCE = "auto"
    response = viewer_client.get(URL)
    assert response.status_code == 200
    assert response.json()["source"] == "local"


def test_auto_mode_stops_asking_a_down_netdata_for_a_while(viewer_client, settings, netdata_asked):
    settings.WPDASH_METRICS_SOURCE = "auto"
    settings.NETDATA_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    first = viewer_client.get(URL)
    metrics.netdata_client().cache.clear()  # the charts expired; the down mark has not
    second = viewer_client.get(URL, {"range": "1h"})

    assert first.status_code == second.status_code == 200
    assert first.json()["source"] == second.json()["source"] == "local"
    assert netdata_asked == ["5m"]  # the first request tried; the second went straight to local


def test_auto_mode_asks_netdata_again_once_the_down_mark_expires(viewer_client, settings, monkeypatch, netdata_asked):
    settings.WPDASH_METRICS_SOURCE = "auto"
    settings.NETDATA_URL = f"http://127.0.0.1:{free_port()}"
    viewer_client.get(URL)
    metrics.down_marks.forget()  # DOWN_SECONDS have passed
    viewer_client.get(URL, {"range": "1h"})

    assert netdata_asked == ["5m", "1h"]


def test_auto_mode_returns_to_netdata_when_it_answers_again(viewer_client, settings, monkeypatch, caplog):
    settings.WPDASH_METRICS_SOURCE = "auto"
    broken = [True]

    def flaky_netdata(path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        return (502, "text/plain", b"Bad Gateway") if broken[0] else recorded_netdata(path, query)

    with http_server(flaky_netdata) as url, caplog.at_level("INFO", logger="server_monitor.metrics"):
        settings.NETDATA_URL = url
        sources = []
        for _ in range(2):
            caching.clear_all()  # the answer, the charts and the down mark expired: a retry
            sources.append(viewer_client.get(URL).json()["source"])
        broken[0] = False
        caching.clear_all()
        sources.append(viewer_client.get(URL).json()["source"])

    assert sources == ["local", "local", "netdata"]
    # One line when Netdata went away and one when it came back, not one per retry.
    ours = [record for record in caplog.records if record.name == "server_monitor.metrics"]
    assert [record.levelname for record in ours] == ["WARNING", "INFO"]
    assert "answered HTTP 502" in ours[0].getMessage()


def test_auto_mode_uses_netdata_when_it_answers(viewer_client, settings):
    settings.WPDASH_METRICS_SOURCE = "auto"
    with http_server(recorded_netdata) as url:
        settings.NETDATA_URL = url
        assert viewer_client.get(URL).json()["source"] == "netdata"


def test_a_hung_netdata_gives_503_within_the_timeout(viewer_client, settings, short_timeouts):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    with silent_server() as url:
        settings.NETDATA_URL = url
        started = time.monotonic()
        response = viewer_client.get(URL)
        elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["detail"] == f"Netdata at {url} is unavailable: no answer within 0.25 s"
    assert elapsed < short_timeouts + SLACK


def test_a_netdata_stalling_in_the_middle_of_its_answer_gives_503(viewer_client, settings, short_timeouts):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    headers_and_a_bit = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 999\r\n\r\n{"labels'
    with silent_server(first_words=headers_and_a_bit) as url:
        settings.NETDATA_URL = url
        response = viewer_client.get(URL)

    assert response.status_code == 503
    assert response.json()["detail"] == f"Netdata at {url} is unavailable: no answer within 0.25 s"


def test_the_reason_never_shows_credentials_from_netdata_url(viewer_client, settings):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    port = free_port()
    settings.NETDATA_URL = f"http://monitor:s3cret@127.0.0.1:{port}"

    detail = viewer_client.get(URL).json()["detail"]

    assert detail == f"Netdata at http://127.0.0.1:{port} is unavailable: Connection refused"


def test_a_netdata_answering_after_the_timeout_gives_503(viewer_client, settings, short_timeouts):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    with http_server(recorded_netdata, before_answer=late(short_timeouts + 0.5)) as url:
        settings.NETDATA_URL = url
        response = viewer_client.get(URL)

    assert response.status_code == 503
    assert "no answer within" in response.json()["detail"]


def test_auto_mode_serves_local_numbers_while_netdata_hangs(viewer_client, settings, short_timeouts):
    settings.WPDASH_METRICS_SOURCE = "auto"
    with silent_server() as url:
        settings.NETDATA_URL = url
        response = viewer_client.get(URL)

    assert response.status_code == 200
    assert response.json()["source"] == "local"


GARBAGE = [
    pytest.param(200, "text/html", b"<html><body>It works!</body></html>", "is not JSON", id="html"),
    pytest.param(200, "application/json", b'{"labels": ["time", "in"', "is not JSON", id="truncated-json"),
    pytest.param(200, "application/octet-stream", b"\xff\xfe\x00\x81garbage", "is not JSON", id="binary"),
    pytest.param(200, "application/json", b'{"result": "ok"}', "unexpected shape", id="json-object-of-another-shape"),
    pytest.param(200, "application/json", b"[[1, 2, 3]]", "unexpected shape", id="json-array"),
    pytest.param(200, "application/json", b"null", "unexpected shape", id="json-null"),
    pytest.param(500, "text/plain", b"Internal Server Error", "answered HTTP 500", id="http-500"),
    pytest.param(404, "text/plain", recorded("v1-data-unknown-chart.txt"), "answered HTTP 404", id="no-such-chart"),
    pytest.param(200, "application/json", b" " * (2 * 1024 * 1024), "answered more than", id="huge"),
]


@pytest.mark.parametrize(("status", "content_type", "body", "reason"), GARBAGE)
def test_a_nonsense_answer_gives_503_with_the_reason(viewer_client, settings, status, content_type, body, reason):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    with http_server(lambda path, query: (status, content_type, body)) as url:
        settings.NETDATA_URL = url
        response = viewer_client.get(URL)

    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail.startswith("Netdata")
    assert reason in detail


def test_auto_mode_serves_local_numbers_when_netdata_talks_nonsense(viewer_client, settings):
    settings.WPDASH_METRICS_SOURCE = "auto"
    with http_server(lambda path, query: (200, "text/html", b"<html>proxy error</html>")) as url:
        settings.NETDATA_URL = url
        response = viewer_client.get(URL)

    assert response.status_code == 200
    assert response.json()["source"] == "local"


def test_a_netdata_back_without_history_keeps_the_windows_local_points(settings, tmp_path):
    """Auto mode sampled locally while Netdata was away; a Netdata that comes back with
    nothing for the start of the window must not blank those points (issue 29)."""
    binary = netdata_binary()
    if binary is None:
        missing_server("Netdata is not installed (Debian package netdata; bin/system-deps installs it)")
    settings.WPDASH_METRICS_SOURCE = "auto"
    sampler = metrics.sampler()
    now = time.time()
    for seconds_ago in range(290, 30, -5):  # what the sampler measured these minutes, as it measures
        sampler.sample(now=now - seconds_ago)
    server = start_netdata(binary, tmp_path / "netdata")  # a new Netdata: seconds of history
    settings.NETDATA_URL = server.url
    try:
        answer = metrics.get_metrics("5m")
        caching.clear_all()
        settings.WPDASH_METRICS_SOURCE = "netdata"  # Netdata alone: the same window, unfilled
        alone = metrics.get_metrics("5m")
    finally:
        server.stop()

    assert answer["source"] == "netdata"
    assert answer["filled_from_local"] > 40  # most of the five minutes came from the sampler
    assert alone["filled_from_local"] == 0
    for key in ("ram", "disk"):  # measured by every sample (rates need two)
        known = [point for point in answer[key]["points"] if point["value"] is not None]
        known_alone = [point for point in alone[key]["points"] if point["value"] is not None]
        assert len(known) >= len(known_alone) + 40
        assert known[0]["timestamp"] <= now - 250

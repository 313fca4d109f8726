"""GET /api/v1/server/metrics: auth, the range parameter, the shape, the sources."""

from __future__ import annotations

import threading

import psutil
import pytest

from server_monitor.adapters.metrics import netdata as netdata_module
from server_monitor.workflows import metrics
from tests.support.fake_netdata import http_server, recorded_netdata, recorded_netdata_with_root_disk

URL = "/api/v1/server/metrics"
KEYS = {"source", "range", "cpu", "ram", "disk", "disk_io", "network_in", "network_out", "filled_from_local"}
UNITS = {"cpu": "%", "ram": "%", "disk": "%", "disk_io": "KiB/s", "network_in": "kbit/s", "network_out": "kbit/s"}


@pytest.fixture
def local_source(settings) -> None:
    settings.WPDASH_METRICS_SOURCE = "local"


def test_an_anonymous_request_gets_401(anonymous_client, db):
    assert anonymous_client.get(URL).status_code == 401


@pytest.mark.parametrize("bad", ["1d", "5M", "300", "5m;drop", "24h,5m"])
def test_an_unknown_range_gets_400(viewer_client, local_source, bad):
    response = viewer_client.get(URL, {"range": bad})

    assert response.status_code == 400
    assert "range" in response.json()


@pytest.mark.parametrize(("range_name", "points"), [("5m", 60), ("1h", 60), ("24h", 144)])
def test_the_local_source_answers_every_range_in_the_documented_shape(viewer_client, local_source, range_name, points):
    response = viewer_client.get(URL, {"range": range_name})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == KEYS
    assert body["source"] == "local"
    assert body["range"] == range_name
    for key, unit in UNITS.items():
        series = body[key]
        assert set(series) == {"name", "current", "average", "unit", "points"}
        assert series["unit"] == unit
        assert len(series["points"]) == points
        stamps = [point["timestamp"] for point in series["points"]]
        assert all(isinstance(stamp, int) for stamp in stamps)
        assert stamps == sorted(stamps)
    # The sampler's first reading is taken before the first answer.
    assert body["ram"]["current"] is not None
    assert body["disk"]["current"] is not None


def test_the_default_range_is_5m(viewer_client, local_source):
    assert viewer_client.get(URL).json()["range"] == "5m"


def test_the_url_works_with_and_without_a_trailing_slash(viewer_client, local_source):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.get(f"{URL}/").status_code == 200


def test_browsers_are_told_not_to_cache_the_answer(viewer_client, local_source):
    assert "no-store" in viewer_client.get(URL)["Cache-Control"]


def test_the_openapi_schema_documents_the_shapes_and_errors(viewer_client):
    schema = viewer_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = next(item["get"] for path, item in schema["paths"].items() if path.startswith("/api/v1/server/metrics"))
    assert set(operation["responses"]) >= {"200", "400", "503"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Metrics"
    }
    components = schema["components"]["schemas"]
    assert set(components["Metrics"]["properties"]) == KEYS
    assert set(components["MetricSeries"]["properties"]) == {"name", "current", "average", "unit", "points"}
    assert set(components["MetricPoint"]["properties"]) == {"timestamp", "value"}


def test_a_netdata_without_a_root_disk_chart_gets_the_disk_measured_locally(viewer_client, settings):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    with http_server(recorded_netdata) as url:
        settings.NETDATA_URL = url
        body = viewer_client.get(URL).json()

    assert body["source"] == "netdata"
    assert body["cpu"]["current"] == 28.43  # the recorded answer
    usage = psutil.disk_usage("/")
    assert body["disk"]["current"] == pytest.approx(100 * usage.used / (usage.used + usage.free), abs=0.5)


def test_the_fetches_of_one_request_run_in_parallel(viewer_client, settings):
    """The fake Netdata answers nobody until all five chart requests are waiting at
    once: fetched one after another, the first would be dropped and give 503."""
    settings.WPDASH_METRICS_SOURCE = "netdata"
    all_five = threading.Barrier(len(netdata_module.CHARTS), timeout=netdata_module.READ_TIMEOUT * 0.75)
    with http_server(recorded_netdata, before_answer=all_five.wait) as url:
        settings.NETDATA_URL = url
        response = viewer_client.get(URL)

    assert response.status_code == 200
    assert response.json()["source"] == "netdata"


def test_the_status_page_function_returns_what_the_api_returns(viewer_client, settings):
    settings.WPDASH_METRICS_SOURCE = "netdata"
    with http_server(recorded_netdata_with_root_disk) as url:
        settings.NETDATA_URL = url
        metrics.netdata_client().cache.ttl = 60.0  # both calls read the same fetch
        from_function = metrics.get_metrics("1h")
        from_api = viewer_client.get(URL, {"range": "1h"}).json()

    assert from_api == from_function

"""The metrics section says where its points come from beyond the small "Source:" line:
a banner while Netdata is not answering in auto mode, a note when Netdata's window was
filled in from local sampling (issue 29)."""

from __future__ import annotations

import pytest
from django.test import Client

from server_monitor.workflows import metrics


@pytest.fixture
def fresh_metrics():
    metrics.reset()
    yield
    metrics.reset()


def fragment(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/fragments/metrics?range=5m")
    assert response.status_code == 200
    return response.content.decode()


def test_auto_mode_without_netdata_shows_a_banner_that_the_page_samples_locally(viewer, settings, fresh_metrics):
    settings.WPDASH_METRICS_SOURCE = "auto"
    settings.NETDATA_URL = "http://127.0.0.1:9"  # the discard port: nothing answers

    html = fragment(viewer)

    assert 'data-metrics-notice="netdata-down"' in html
    assert "Netdata is not answering." in html
    assert "samples the server locally" in html


def test_local_mode_by_choice_shows_no_banner(viewer, settings, fresh_metrics):
    settings.WPDASH_METRICS_SOURCE = "local"

    html = fragment(viewer)

    assert "data-metrics-notice" not in html
    assert "local sampling" in html  # the Source line still says it


def test_points_filled_in_from_local_sampling_are_counted_in_a_note(viewer, settings, fresh_metrics, monkeypatch):
    settings.WPDASH_METRICS_SOURCE = "local"
    local = metrics.get_metrics("5m")
    # Netdata's answer after an outage, as workflows.metrics shapes it (its merge is tested
    # in tests/metrics/test_netdata_outages.py): here only how the page words it.
    monkeypatch.setattr(
        metrics, "get_metrics", lambda range_name: {**local, "source": "netdata", "filled_from_local": 53}
    )
    monkeypatch.setattr(metrics, "configured_source", lambda: "auto")

    html = fragment(viewer)

    assert 'data-metrics-notice="filled"' in html
    assert "53 of this window's points come from local sampling, taken while Netdata was not answering." in html
    assert "Netdata is not answering." not in html


def test_a_netdata_answer_with_nothing_filled_has_no_note(viewer, settings, fresh_metrics, monkeypatch):
    settings.WPDASH_METRICS_SOURCE = "local"
    local = metrics.get_metrics("5m")
    monkeypatch.setattr(
        metrics, "get_metrics", lambda range_name: {**local, "source": "netdata", "filled_from_local": 0}
    )
    monkeypatch.setattr(metrics, "configured_source", lambda: "auto")

    assert "data-metrics-notice" not in fragment(viewer)

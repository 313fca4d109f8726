"""The Sites section of the status page (worst first, without JavaScript), its fragment, and
the page of one site with its series, top lists and logs."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from server_monitor import caching
from tests.sites.test_sites_api import count_into_buckets
from tests.support.sites import NginxLayout, Traffic, write_lines


@pytest.fixture
def page_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def sites(tmp_path, settings, fake_systemd, db):
    settings.WPDASH_METRICS_SOURCE = "local"
    layout = NginxLayout(tmp_path, settings)
    for name in ("calm.example", "failing.example"):
        layout.add_site(name, wordpress=name == "calm.example")
        traffic = Traffic(name, "rt_cache")
        lines = traffic.between(time.time() - 240, time.time(), every=2)
        if name == "failing.example":
            lines = [line.replace('" 200 ', '" 502 ') for line in lines]
        else:
            lines = [re.sub(r'" 5\d\d ', '" 200 ', line) for line in lines]
        write_lines(layout.access_log(name), lines)
        count_into_buckets(name, lines)
    layout.add_site("custom.example", access_log=f"{layout.logs}/custom.log custom")
    caching.clear_all()  # as after discovery's 10 s: the page sees the last site too
    return layout


def site_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-site="([^"]+)">', html)


def test_the_status_page_lists_the_sites_worst_first_without_javascript(sites, page_client):
    """5xx answers first, then a site that cannot be counted, then the healthy one."""
    html = page_client.get("/").content.decode()

    assert site_rows(html) == ["failing.example", "custom.example", "calm.example"]
    assert "Log format &#x27;custom&#x27; not understood" in html
    assert 'href="/sites/failing.example?range=5m"' in html
    assert 'data-fragment="sites" data-url="/fragments/sites"' in html


def test_the_fragment_is_drawn_for_the_asked_range(sites, page_client):
    html = page_client.get("/fragments/sites", {"range": "24h"}).content.decode()

    assert site_rows(html) == ["failing.example", "custom.example", "calm.example"]
    assert "Window 24h." in html
    assert "<section" not in html  # only what the script swaps in


def test_a_site_s_page_shows_its_series_top_lists_and_logs(sites, page_client):
    response = page_client.get("/sites/calm.example", {"range": "1h"})
    html = response.content.decode()

    assert response.status_code == 200
    assert html.count('class="card metric-card"') == 7
    assert html.count('<svg class="sparkline"') == 7
    assert 'data-top="paths"' in html and 'data-top="clients"' in html
    for name in ("calm-example-access", "calm-example-error", "calm-example-debug"):
        assert f'href="/?log={name}#logs"' in html
    assert "static files and cache hits have none and are left out" in html
    assert 'aria-current="true">1h<' in html


def test_an_unknown_site_s_page_is_404(sites, page_client):
    assert page_client.get("/sites/nope.example").status_code == 404
    assert page_client.get("/sites/..%2F..%2Fetc").status_code == 404

"""GET /api/v1/server/sites and /sites/{name}: the contract's fields, null where there is
nothing to count, the windows' buckets, names checked like log names, a bad range a 400."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from server_monitor.workflows.sites import discovery, store
from server_monitor.workflows.sites.tally import Tally
from tests.support.certificates import install_live
from tests.support.sites import NginxLayout, Traffic, write_lines

SITES = "/api/v1/server/sites"
CONTRACT = {
    "name",
    "server_names",
    "access_log",
    "error_log",
    "format",
    "available",
    "reason",
    "requests",
    "responses_4xx",
    "responses_5xx",
    "bytes_sent",
    "p50_seconds",
    "p95_seconds",
    "cache_hit_ratio",
    "unparsed",
}


def count_into_buckets(site: str, lines: list[str]) -> None:
    """What the counter does with new lines, without running it: the same Tally and store."""
    tally = Tally(discovery.rediscover().get(site).log_format.parser())  # type: ignore[union-attr]
    now = int(time.time())
    for line in lines:
        tally.count(line, now)
    store.add_counts(site, "", tally.take(), time.time(), None, list(tally.samples))


@pytest.fixture
def sites(tmp_path, settings):
    layout = NginxLayout(tmp_path, settings)
    layout.add_site("example.com", certificate=install_live(tmp_path, "example.com", timedelta(days=10, hours=1)))
    layout.add_site("old.example.net", "combined")
    layout.add_site("custom.example", access_log=f"{layout.logs}/custom.log custom")
    layout.add_site("quiet.example", access_log="off")
    return layout


def test_each_site_has_the_contract_s_fields_null_until_counted(sites, viewer_client):
    answer = viewer_client.get(SITES).json()

    assert [site["name"] for site in answer] == ["custom.example", "example.com", "old.example.net", "quiet.example"]
    for site in answer:
        assert CONTRACT <= set(site)
    example = answer[1]
    assert example["server_names"] == ["example.com", "www.example.com"]
    assert (example["format"], example["available"], example["reason"]) == ("rt_cache", True, None)
    assert [example[key] for key in ("requests", "p95_seconds", "cache_hit_ratio", "unparsed")] == [None] * 4
    assert example["certificate_days_left"] == 10
    assert [log["name"] for log in example["logs"]] == ["example-com-access", "example-com-error"]
    assert answer[2]["format"] == "combined"


def test_a_format_not_understood_or_a_log_switched_off_is_listed_with_the_reason(sites, viewer_client):
    custom, _, _, quiet = viewer_client.get(SITES).json()

    assert custom["available"] is False
    assert custom["reason"].startswith("Log format 'custom' not understood:")
    assert custom["requests"] is None
    assert quiet["available"] is False and "the access log is off" in quiet["reason"]


def test_counted_figures_over_each_window(sites, viewer_client):
    traffic = Traffic("example.com", "rt_cache")
    lines = traffic.between(time.time() - 120, time.time(), every=1)
    write_lines(sites.access_log("example.com"), lines)
    count_into_buckets("example.com", lines)

    answers = {name: viewer_client.get(f"{SITES}/example.com", {"range": name}).json() for name in ("5m", "1h", "24h")}

    for name, points in (("5m", 6), ("1h", 61), ("24h", 145)):
        series = answers[name]["series"]
        assert set(series) == {
            "requests_per_second",
            "share_4xx",
            "share_5xx",
            "p50_seconds",
            "p95_seconds",
            "cache_hit_ratio",
            "bytes_sent",
        }
        assert len(series["requests_per_second"]["points"]) == points
        assert answers[name]["requests"] == len(lines)
    day = answers["24h"]["series"]["requests_per_second"]["points"]
    assert day[0]["value"] is None  # long before anything was counted: not a made-up 0
    assert day[-1]["value"] is not None
    assert answers["5m"]["top_paths"] and answers["5m"]["top_lists_cut"] == {"paths": 0, "error_paths": 0, "clients": 0}


@pytest.mark.parametrize("name", ["../../etc/passwd", "a b", "-rf", "x" * 300, "%00"])
def test_a_name_that_cannot_be_a_site_is_400_and_never_echoed(sites, viewer_client, name):
    response = viewer_client.get(f"{SITES}/{name}")

    assert response.status_code == 400
    assert name not in response.json()["detail"]


def test_a_site_that_is_not_enabled_is_404(sites, viewer_client):
    response = viewer_client.get(f"{SITES}/nope.example")

    assert response.status_code == 404
    assert "GET /api/v1/server/sites" in response.json()["detail"]


@pytest.mark.parametrize("path", [SITES, f"{SITES}/example.com"])
def test_an_unknown_range_is_400_naming_the_choices(sites, viewer_client, path):
    response = viewer_client.get(path, {"range": "7d"})

    assert response.status_code == 400
    assert response.json() == {"range": ['"7d" is not a range: use 5m, 1h or 24h.']}


def test_an_unreadable_sites_folder_lists_none(settings, viewer_client, tmp_path):
    settings.WPDASH_SITES_DIR = str(tmp_path / "absent")

    assert viewer_client.get(SITES).json() == []


def test_the_alert_rules_get_each_site_s_last_minutes_minute_by_minute(sites, db):
    from server_monitor.workflows.sites.figures import recent_figures

    minute = int(time.time()) // 60 * 60
    traffic = Traffic("example.com", "rt_cache")
    lines = traffic.between(minute - 180, minute - 1, every=1)
    count_into_buckets("example.com", lines)

    (example, old) = [found for found in recent_figures(5) if found.site in ("example.com", "old.example.net")]

    assert example.requests == len(lines)
    assert [requests for _, requests, _, _ in example.minutes][-3:] == [
        sum(1 for line in lines if f":{time.strftime('%H:%M', time.gmtime(start))}:" in line)
        for start in (minute - 180, minute - 120, minute - 60)
    ]
    assert old.requests is None  # never counted

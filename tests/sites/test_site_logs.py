"""Each enabled site's access log, error log and debug.log are log sources: listed, tailed,
searched and followed live like every configured log, opened only as every log is."""

from __future__ import annotations

import pytest

from server_monitor.names import LOG_NAME_RE
from server_monitor.workflows.logs import sources
from server_monitor.workflows.sites import discovery
from tests.support.logs import NginxLikeWriter, connect, receive_lines, session_cookie
from tests.support.sites import NginxLayout, Traffic, write_lines

LOGS = "/api/v1/server/logs"


@pytest.fixture
def layout(tmp_path, settings):
    layout = NginxLayout(tmp_path, settings)
    layout.add_site("example.com", "rt_cache", wordpress=True)
    layout.add_site("shop.example.org", "rt_cache_redis")
    layout.add_site("old.example.net", "combined")
    return layout


def test_the_sites_logs_are_listed_after_the_configured_ones(layout, settings, viewer_client, tmp_path):
    settings.WPDASH_LOGS = {"nginx-error": str(tmp_path / "error.log")}

    names = [source["name"] for source in viewer_client.get(LOGS).json()]

    assert names == [
        "nginx-error",
        "example-com-access",
        "example-com-error",
        "example-com-debug",
        "old-example-net-access",
        "old-example-net-error",
        "shop-example-org-access",
        "shop-example-org-error",
    ]


def test_a_site_log_is_tailed_and_searched_like_any_log(layout, viewer_client):
    traffic = Traffic("example.com", "rt_cache")
    lines = [traffic.line(1796439600 + n) for n in range(30)]
    write_lines(layout.access_log("example.com"), lines)

    tail = viewer_client.get(f"{LOGS}/example-com-access", {"lines": 5}).json()
    search = viewer_client.get(f"{LOGS}/example-com-access", {"lines": 50, "q": "CHECKOUT"}).json()
    debug = viewer_client.get(f"{LOGS}/example-com-debug", {"lines": 5}).json()

    assert (tail["lines"], tail["available"]) == (lines[-5:], True)
    assert search["lines"] == [line for line in lines if "/checkout/" in line]
    assert debug["lines"] == ["PHP Notice: something"]


def test_an_error_log_that_does_not_exist_yet_says_so(layout, viewer_client):
    answer = viewer_client.get(f"{LOGS}/shop-example-org-error").json()

    assert answer["available"] is False
    assert answer["reason"].endswith("shop.example.org.error.log does not exist.")


def test_a_debug_log_swapped_for_a_link_to_a_secret_is_refused(layout, viewer_client, tmp_path):
    secret = tmp_path / "env"
    secret.write_text("DJANGO_SECRET_KEY=SECRET\n")
    debug = layout.www / "example.com" / "htdocs" / "wp-content" / "debug.log"
    debug.unlink()
    debug.symlink_to(secret)  # what a compromised plugin, running as www-data, could do

    answer = viewer_client.get(f"{LOGS}/example-com-debug").json()

    assert answer["available"] is False
    assert "symbolic link" in answer["reason"]
    assert "SECRET" not in str(answer)


def test_a_site_without_debug_log_has_no_debug_source(layout):
    site = discovery.discover().get("shop.example.org")

    assert site is not None and [log.kind for log in site.logs] == ["access", "error"]


def test_log_names_fit_the_rule_and_never_collide(tmp_path, settings):
    layout = NginxLayout(tmp_path, settings)
    settings.WPDASH_LOGS = {"example-com-access": str(tmp_path / "configured.log")}
    layout.add_site("example.com")
    layout.add_site("example-com")
    long_name = "a" * 60 + ".example.com"
    layout.add_site(long_name)

    names = [name for name, _ in discovery.discover().log_sources()]

    assert len(names) == len(set(names)) == 6
    assert all(LOG_NAME_RE.fullmatch(name) for name in names)
    assert "example-com-access" not in names  # taken by WPDASH_LOGS, which always wins
    assert sources.get_source("example-com-access").path == str(tmp_path / "configured.log")


def test_an_unknown_log_name_is_still_refused(layout, viewer_client):
    response = viewer_client.get(f"{LOGS}/example-com-secrets")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown log type.")


@pytest.mark.django_db(transaction=True)
async def test_a_site_log_is_followed_live(layout):
    log = layout.access_log("old.example.net")
    traffic = Traffic("old.example.net", "combined")
    old = [traffic.line(1796439600 + n) for n in range(3)]
    write_lines(log, old)
    socket = await connect("old-example-net-access", await session_cookie())
    first = await socket.receive_json_from()
    writer = NginxLikeWriter(log)

    new = [traffic.line(1796439700 + n) for n in range(20)]
    writer.write(*new)

    assert first == {"lines": old}
    assert await receive_lines(socket, 20) == new
    writer.close()
    await socket.disconnect()

"""Reaching a fresh install from elsewhere (issue 29): bin/run's addresses, and the
page a browser gets when its host name is not in DJANGO_ALLOWED_HOSTS."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess

import pytest
import requests

from tests.support.servers import clean_environ, free_port, live_server, missing_server, run_manage

EVERY_ADDRESS = "0.0.0.0"  # noqa: S104 (what the operator sets to be reached from elsewhere)


def own_ipv4_addresses() -> set[str]:
    """This host's IPv4 addresses as iproute2 lists them (not as wpdash finds them)."""
    if shutil.which("ip") is None:
        missing_server("iproute2's ip is not installed")
    listing = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=30, check=True)
    return set(re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", listing.stdout))


def elsewhere_address() -> str:
    """An address of this host that is not loopback: what a browser on another machine uses."""
    others = sorted(a for a in own_ipv4_addresses() if not ipaddress.ip_address(a).is_loopback)
    if not others:
        pytest.skip("this host has no IPv4 address but loopback")
    return others[0]


def test_listening_on_every_address_prints_this_hosts_addresses_and_which_are_refused(tmp_path):
    port = free_port()
    environment = clean_environ(
        WPDASH_DATA_DIR=str(tmp_path / "data"), WPDASH_BIND=EVERY_ADDRESS, WPDASH_PORT=str(port)
    )

    result = run_manage(environment, "addresses")

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines[0] == "wpdash is running (Ctrl-C stops it). Open it at:"
    assert f"http://127.0.0.1:{port}/" in [line.strip() for line in lines]
    for address in own_ipv4_addresses() - {"127.0.0.1"}:
        assert any(
            re.fullmatch(
                rf"  http://{re.escape(address)}:{port}/ +refused: add {re.escape(address)} to DJANGO_ALLOWED_HOSTS",
                line,
            )
            for line in lines
        ), (address, lines)
    assert EVERY_ADDRESS not in result.stdout
    assert "Host names allowed (DJANGO_ALLOWED_HOSTS): localhost, 127.0.0.1;" in result.stdout
    assert '"Reaching it"' in result.stdout  # plain HTTP on the network: the README's safer way


def test_an_address_that_is_allowed_is_not_marked(tmp_path):
    address = elsewhere_address()
    environment = clean_environ(
        WPDASH_DATA_DIR=str(tmp_path / "data"), WPDASH_BIND=address, DJANGO_ALLOWED_HOSTS=f"localhost,{address}"
    )

    result = run_manage(environment, "addresses")

    assert result.stdout.splitlines()[0] == f"wpdash is running at http://{address}:8000/  (Ctrl-C stops it)"


def test_a_browser_elsewhere_is_told_which_setting_to_change_and_gets_in_once_it_is(tmp_path):
    address = elsewhere_address()
    (tmp_path / "refused").mkdir()
    (tmp_path / "allowed").mkdir()
    with live_server(tmp_path / "refused", daphne_args=("-b", EVERY_ADDRESS)) as server:
        refused = requests.get(f"http://{address}:{server.port}/", timeout=10)
        log = server.log()

    assert refused.status_code == 400
    assert "text/html" in refused.headers["Content-Type"]
    assert (
        "DJANGO_ALLOWED_HOSTS" in refused.text and f"DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1,{address}" in refused.text
    )
    assert "Traceback" not in log
    assert not re.search(r"(?<!DJANGO_)ALLOWED_HOSTS", log)  # Django's own wording is silenced
    (line,) = [line for line in log.splitlines() if "host" in line]
    assert line.endswith(
        f"WARNING server_monitor.hosts refused a request for host '{address}:{server.port}': "
        f"add {address} to DJANGO_ALLOWED_HOSTS (now 127.0.0.1,localhost)"
    )

    with live_server(
        tmp_path / "allowed", daphne_args=("-b", EVERY_ADDRESS), DJANGO_ALLOWED_HOSTS=f"127.0.0.1,{address}"
    ) as server:
        allowed = requests.get(f"http://{address}:{server.port}/", timeout=10, allow_redirects=False)

    assert allowed.status_code == 302 and allowed.headers["Location"].startswith("/accounts/login/")


# --- the page itself, in-process ---------------------------------------------------------


def test_the_page_names_the_setting_and_the_host_but_never_the_allowed_names(client, db, settings):
    settings.ALLOWED_HOSTS = ["dash.secret.example"]

    response = client.get("/", HTTP_HOST="203.0.113.5:8000")

    html = response.content.decode()
    assert response.status_code == 400
    assert '<h1 id="error-title">This address is not allowed</h1>' in html
    assert '<span class="mono" data-setting>DJANGO_ALLOWED_HOSTS</span>' in html
    assert "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1,203.0.113.5" in html
    assert "dash.secret.example" not in html  # a stranger learns nothing of the real name
    assert '<link rel="stylesheet" href="/static/server_monitor/wpdash.css">' in html
    assert "<script" not in html and not re.search(r"\sstyle=", html)


def test_an_api_client_gets_the_same_words_as_json(client, db):
    response = client.get("/api/v1/server/services", HTTP_HOST="dash.example.net")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The host dash.example.net is not allowed: add it to DJANGO_ALLOWED_HOSTS and restart wpdash."
    }


def test_a_host_that_is_no_host_name_is_not_repeated(client, db):
    response = client.get("/", HTTP_HOST="<b>not a host</b>")

    html = response.content.decode()
    assert response.status_code == 400
    assert '<h1 id="error-title">Not a valid host name</h1>' in html
    assert "<b>" not in html and "not a host" not in html

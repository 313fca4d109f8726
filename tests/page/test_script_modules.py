"""The status page's script: small ES modules, every address from the page's data- attributes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "server_monitor" / "static" / "server_monitor" / "js"
# A string literal that starts with "/" and a letter: a path the script would have made up.
PATH_LITERAL = re.compile(r"""["'`]/[A-Za-z]""")


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.js")), ids=lambda path: path.name)
def test_no_script_writes_an_address_of_its_own(script):
    assert PATH_LITERAL.findall(script.read_text()) == []


def test_the_page_loads_the_entry_module_and_gives_the_addresses(client, operator, fake_systemd, settings):
    settings.WPDASH_METRICS_SOURCE = "local"
    client.force_login(operator)
    html = client.get("/").content.decode()

    assert '<script type="module" src="/static/server_monitor/js/status.js">' in html
    assert 'data-restarts-api="/api/v1/server/restarts"' in html
    assert 'data-logs-api="/api/v1/server/logs"' in html
    assert 'data-log-socket="/api/v1/server/logs/{name}/ws"' in html  # sockets/routing.py's path
    assert 'data-restart-api="/api/v1/server/services/nginx/restart"' in html

"""Browser tests' shared parts: a signed-in operator's site and its sign-in."""

from __future__ import annotations

import pytest

from tests.support.servers import live_server
from tests.support.systemd import FakeSystemd

PASSWORD = "a browser password 123"


@pytest.fixture(scope="module")
def operator_site(tmp_path_factory):
    """A daphne with the stand-in systemctl, local metrics and one real log file (60 lines),
    and an operator who may restart: (server, stand-in systemd, log path). One per module."""
    tmp_path = tmp_path_factory.mktemp("browser")
    systemd = FakeSystemd(tmp_path / "systemd")
    log = tmp_path / "access.log"
    log.write_text(
        "".join(f'203.0.113.{n} - - [22/Nov/2026:03:00:00 +0000] "GET /{n} HTTP/1.1" 200 12\n' for n in range(60))
    )
    with live_server(
        tmp_path,
        WPDASH_SYSTEMCTL=str(systemd.path),
        WPDASH_SUDO="off",
        WPDASH_METRICS_SOURCE="local",
        WPDASH_LOGS=f"nginx-access={log}",
    ) as server:
        server.create_user("operator", PASSWORD, permissions=("restart_service",))
        yield server, systemd, log


def sign_in(page, server) -> None:
    page.goto(server.url + "/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")

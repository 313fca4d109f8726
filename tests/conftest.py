from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.support.users import PASSWORD, user_with


@pytest.fixture
def viewer(db):
    """An active user with no special permission: may look, may not act."""
    return get_user_model().objects.create_user("viewer", password=PASSWORD)


@pytest.fixture
def inactive_user(db):
    return get_user_model().objects.create_user("gone", password=PASSWORD, is_active=False)


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", password=PASSWORD)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def viewer_client(viewer) -> APIClient:
    client = APIClient()
    client.force_login(viewer)
    return client


# --- services and restarts: roles and the stand-in systemctl --------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """MD5 in tests only: the real hasher's deliberate slowness cost ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(db):
    """May restart services (server_monitor.restart_service), may not approve."""
    return user_with("operator", "restart_service")


@pytest.fixture
def approver(db):
    """May approve or reject restarts (server_monitor.approve_restart), may not request one."""
    return user_with("approver", "approve_restart")


@pytest.fixture
def outsider(db):
    """Had restart rights once; the account is deactivated, so its session counts for nothing."""
    return user_with("outsider", "restart_service", "approve_restart", is_active=False)


@pytest.fixture
def signed_in():
    """signed_in(user) -> an APIClient with that user's session."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def fake_systemd(tmp_path, settings):
    """The stand-in systemctl (tests/support/systemctl.py) with the fixture's units, as settings point to it."""
    from tests.support.systemd import FakeSystemd
    from wpdash.settings import DEFAULT_SERVICES

    fake = FakeSystemd(tmp_path / "systemd")
    settings.WPDASH_SYSTEMCTL = str(fake.path)
    settings.WPDASH_SUDO = False  # we are root here; the sudo argv is tested on its own
    settings.WPDASH_SERVICES = list(DEFAULT_SERVICES)
    settings.WPDASH_RESTART_APPROVAL = False
    return fake


@pytest.fixture(autouse=True)
def _no_sites_of_this_host(settings, tmp_path_factory):
    """The WordPress sites are found in nginx's configuration: a test sees none but its own
    (this machine's /etc/nginx/sites-enabled/default would add its logs to every list)."""
    empty = tmp_path_factory.getbasetemp() / "no-sites"
    empty.mkdir(exist_ok=True)
    settings.WPDASH_SITES_DIR = str(empty)
    settings.WPDASH_NGINX_CONF = str(empty / "nginx.conf")
    from server_monitor import caching

    caching.clear_all()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Kept answers (server_monitor.caching, and Django's cache: locmem in tests) would
    carry one test's answers into the next; a rolled-back test fires no signal, and its
    user ids come back."""
    from django.core.cache import cache

    from server_monitor import caching

    cache.clear()
    caching.clear_all()
    yield
    cache.clear()
    caching.clear_all()


# --- real servers shared by the session -----------------------------------------------


@pytest.fixture(scope="session")
def netdata(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A real Netdata 1.37 on a free loopback port, shared by the session (it needs a
    few seconds of history before its answers mean anything)."""
    from tests.support.netdata import netdata_binary, start_netdata
    from tests.support.servers import missing_server

    binary = netdata_binary()
    if binary is None:
        missing_server("Netdata is not installed (Debian package netdata; bin/system-deps installs it)")
    try:
        server = start_netdata(binary, tmp_path_factory.mktemp("netdata"))
    except AssertionError as exc:
        missing_server(f"Netdata would not start: {exc}")
    yield server
    server.stop()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's headless Chromium driven by Playwright (no browser download).

    Module scope: Playwright's sync API holds an event loop in this thread while it
    runs, so asyncio.run() fails until it stops. A module's browser tests come last.
    """
    from tests.support.servers import missing_server

    if not os.path.exists(CHROMIUM):
        missing_server(f"{CHROMIUM} is not installed (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_server("playwright is not installed (requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()

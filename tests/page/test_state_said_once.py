"""A service card says its state word once: "active", "failed", but "activating
(auto-restart)" keeps the sub-state that tells something (issue 29)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from server_monitor.adapters.systemd import ServiceStatus
from server_monitor.templatetags.dashboard import state_word


def status(active: str, sub: str) -> ServiceStatus:
    return ServiceStatus("nginx", "nginx.service", "loaded", active, sub, None, None, None, 0)


@pytest.mark.parametrize(
    ("active", "sub", "said"),
    [
        ("active", "running", "active"),
        ("failed", "failed", "failed"),
        ("inactive", "dead", "inactive"),
        ("active", "exited", "active (exited)"),
        ("activating", "auto-restart", "activating (auto-restart)"),
        ("deactivating", "stop-sigterm", "deactivating (stop-sigterm)"),
    ],
)
def test_the_state_word_is_said_once_and_the_sub_state_only_when_it_tells_something(active, sub, said):
    assert state_word(status(active, sub)) == said


def test_a_failed_unit_card_says_failed_once_with_systemd_s_words_in_its_title(fake_systemd, viewer, settings):
    settings.WPDASH_METRICS_SOURCE = "local"
    fake_systemd.set("nginx.service", ActiveState="failed", SubState="failed", MainPID="0")
    client = Client()
    client.force_login(viewer)

    html = client.get("/fragments/services").content.decode()
    card = re.search(r'data-service="nginx".*?</article>', html, re.S).group(0)

    badge = re.search(r'<span class="badge (\w+)" title="([^"]*)">([^<]*)</span>', card)
    assert badge.groups() == ("bad", "systemd: failed (failed)", "failed")
    assert "failed (failed)</span>" not in html

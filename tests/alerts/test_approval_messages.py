"""A new request waiting for approval is told through the alert channels (the outbox the
watcher's sender sends from), and its alert ends when the request leaves pending."""

from __future__ import annotations

import pytest

from server_monitor.models import Alert, AlertMessage
from server_monitor.workflows import pending, restart
from server_monitor.workflows.alerts import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def approval_mode(settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = True
    settings.WPDASH_RESTART_APPROVAL_MINUTES = 60
    settings.WPDASH_PUBLIC_URL = "https://dash.example.com"
    settings.TIME_ZONE = "UTC"


def test_a_new_request_is_mailed_to_the_alert_recipients(mailbox, operator):
    action = restart.request_restart("nginx", operator, "192.0.2.7").action

    assert outbox.send_due() == 1

    [subject] = mailbox.wait_for(1)
    [body] = mailbox.bodies()
    expires = pending.expires_at(action).strftime("%Y-%m-%d %H:%M UTC")
    assert subject == (
        f"[wpdash] FIRING warning: Restart of nginx requested by operator is waiting for approval (expires {expires})"
    )
    assert "approve: https://dash.example.com/#approvals" in body
    assert "from: 192.0.2.7" in body
    assert mailbox.messages[0]["To"] == "ops@example.org"


def test_the_push_channels_are_told_too(hook, operator):
    restart.request_restart("redis-server", operator, "192.0.2.7")

    assert set(AlertMessage.objects.values_list("channel", flat=True)) == {"email", "push"}


@pytest.mark.parametrize("leaves", ["approve", "reject", "withdraw"])
def test_the_alert_resolves_when_the_request_leaves_pending(leaves, operator, approver):
    action = restart.request_restart("nginx", operator, "192.0.2.7").action
    alert = Alert.objects.get(rule=pending.RULE)
    assert alert.state == Alert.State.FIRING

    if leaves == "withdraw":
        restart.withdraw(action.pk, operator, "192.0.2.7")
    else:
        getattr(restart, leaves)(action.pk, approver, "192.0.2.8")

    alert.refresh_from_db()
    assert alert.state == Alert.State.RESOLVED
    assert list(AlertMessage.objects.order_by("id").values_list("event", flat=True)) == ["fired", "resolved"]


def test_an_immediate_mode_restart_tells_nobody(operator, settings):
    settings.WPDASH_RESTART_APPROVAL = False

    restart.request_restart("nginx", operator, "192.0.2.7")

    assert not Alert.objects.exists() and not AlertMessage.objects.exists()

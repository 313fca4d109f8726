from __future__ import annotations

import pytest

from server_monitor.workflows.alerts import outbox


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    """Mail to one address, no push unless a test says so; the mail backend Django's test
    run replaces with its in-memory one is the real SMTP one again (tests point it at aiosmtpd)."""
    settings.WPDASH_ALERT_EMAIL = ["ops@example.org"]
    settings.WPDASH_ALERT_URLS = ""
    settings.WPDASH_ALERT_CLEAR_SECONDS = 30
    settings.WPDASH_ALERT_RENOTIFY_MINUTES = 60
    settings.WPDASH_ALERT_OFF = []
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens: a test that sends names its server
    settings.EMAIL_TIMEOUT = 5
    outbox._targets.cache_clear()
    yield
    outbox._targets.cache_clear()


@pytest.fixture
def mailbox(settings):
    from tests.support.receivers import smtp_server

    with smtp_server() as box:
        settings.EMAIL_PORT = box.port
        yield box


@pytest.fixture
def hook(settings):
    from tests.support.receivers import webhook_receiver

    with webhook_receiver() as receiver:
        settings.WPDASH_ALERT_URLS = receiver.url
        outbox._targets.cache_clear()
        yield receiver

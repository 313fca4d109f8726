from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from server_monitor.adapters.metrics import netdata as netdata_module
from server_monitor.workflows import metrics


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    """No cache, down mark or local history leaks from one test into another."""
    metrics.reset()
    yield
    metrics.reset()


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> float:
    """Shrink Netdata timeouts so failure tests stay fast; returns the deadline."""
    monkeypatch.setattr(netdata_module, "CONNECT_TIMEOUT", 0.25)
    monkeypatch.setattr(netdata_module, "READ_TIMEOUT", 0.25)
    monkeypatch.setattr(netdata_module, "DEADLINE", 0.5)
    return 0.5


@pytest.fixture
def viewer_client(db) -> APIClient:
    """A signed-in viewer, as in tests/conftest.py, minus the password hashing that
    costs about 0.3 s a test (signing in is tested in tests/security/test_auth.py)."""
    user = get_user_model().objects.create_user("metrics-viewer", password=None)
    client = APIClient()
    client.force_login(user)
    return client

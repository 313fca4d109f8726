"""DRF's format-suffix twins are gone: each one answered a signed-in user with a 500.

The auth matrix found them: GET /api/v1/server/services.json reached
ServiceViewSet.list(format="json"), a TypeError. The API speaks JSON only.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/server/services.json"),
        ("get", "/api/v1/server/metrics.json"),
        ("get", "/api/v1/server/logs.json"),
        ("get", "/api/v1/server/.json"),
        ("post", "/api/v1/server/restarts/1/approve.json"),
        ("post", "/api/v1/server/restarts/1/reject.json"),
    ],
)
def test_a_format_suffix_is_a_json_404_not_a_500(viewer_client, fake_systemd, method, path):
    response = getattr(viewer_client, method)(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_dotted_log_or_service_name_is_just_an_unknown_name(viewer_client, fake_systemd):
    assert viewer_client.get("/api/v1/server/services/nginx.json").status_code == 400
    assert viewer_client.get("/api/v1/server/logs/nginx-access.json").status_code == 400

"""GET /api/v1/server/logs and /logs/{log_type}: sources, tails, and their 400s."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from server_monitor.web.api.serializers import LogTailSerializer, tail_answer
from server_monitor.web.api.views import LogViewSet
from server_monitor.workflows.logs import sources
from tests.support.logs import NGINX_ACCESS_FIXTURE, run_as_nobody

FIXTURE = NGINX_ACCESS_FIXTURE


@pytest.fixture
def viewer(db):
    """A signed-in user without a password (hashing one costs half a second per test)."""
    return get_user_model().objects.create_user("viewer")


@pytest.fixture
def viewer_client(viewer) -> APIClient:
    client = APIClient()
    client.force_login(viewer)
    return client


@pytest.fixture
def configured(settings, tmp_path):
    access = tmp_path / "access.log"
    access.write_text("".join(f"line {n}\n" for n in range(1, 601)))
    settings.WPDASH_LOGS = {
        "nginx-access": str(access),
        "nginx-fixture": str(FIXTURE),
        "mysql": str(tmp_path / "mysql-error.log"),
    }
    return settings.WPDASH_LOGS


def test_it_lists_every_source_with_its_availability(viewer_client, configured):
    response = viewer_client.get("/api/v1/server/logs")

    assert response.status_code == 200
    by_name = {source["name"]: source for source in response.json()}
    assert list(by_name) == ["nginx-access", "nginx-fixture", "mysql"]
    access = by_name["nginx-access"]
    assert access["path"] == configured["nginx-access"]
    assert (access["exists"], access["readable"], access["available"], access["reason"]) == (True, True, True, None)
    assert access["size"] == Path(configured["nginx-access"]).stat().st_size
    assert access["modified"].endswith("Z")
    mysql = by_name["mysql"]
    assert (mysql["exists"], mysql["readable"], mysql["available"]) == (False, False, False)
    assert (mysql["size"], mysql["modified"]) == (None, None)
    assert mysql["reason"] == f"{configured['mysql']} does not exist."


def test_the_tail_defaults_to_50_lines(viewer_client, configured):
    before = int(time.time())
    body = viewer_client.get("/api/v1/server/logs/nginx-access").json()

    assert body["log_type"] == "nginx-access"
    assert body["lines"] == [f"line {n}" for n in range(551, 601)]
    assert body["available"] is True and body["reason"] is None
    assert type(body["timestamp"]) is int  # the logs plan: Unix seconds, not an ISO string
    assert before <= body["timestamp"] <= time.time()


@pytest.mark.parametrize("count", [1, 17, 500])
def test_the_tail_returns_as_many_lines_as_asked(viewer_client, configured, count):
    response = viewer_client.get(f"/api/v1/server/logs/nginx-access/?lines={count}")

    assert response.status_code == 200
    assert response.json()["lines"] == [f"line {n}" for n in range(601 - count, 601)]


def test_real_nginx_lines_come_back_unchanged(viewer_client, configured):
    body = viewer_client.get("/api/v1/server/logs/nginx-fixture?lines=500").json()

    assert body["lines"] == FIXTURE.read_text().splitlines()


@pytest.mark.parametrize("lines", ["0", "501", "-5", "ten", "1.5", "", "50&lines=9999"])
def test_lines_outside_1_to_500_are_a_400(viewer_client, configured, lines):
    response = viewer_client.get(f"/api/v1/server/logs/nginx-access?lines={lines}")

    assert response.status_code == 400
    assert response.json() == {"detail": "lines must be a whole number from 1 to 500."}


@pytest.mark.parametrize(
    "path",
    [
        "nope",
        "..%2F..%2Fetc%2Fpasswd",
        "../../etc/passwd",
        "%2e%2e",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "nginx-access%00",
        "%00",
        "nginx-access/../mysql",
        "NGINX-ACCESS",
    ],
)
def test_anything_but_a_configured_log_type_is_a_400(viewer_client, configured, path, monkeypatch):
    opened = []
    import os

    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))

    response = viewer_client.get(f"/api/v1/server/logs/{path}?lines=5")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Unknown log type.")
    assert opened == []  # nothing was opened at all, let alone outside the sources


def test_a_missing_log_is_a_200_that_says_why(viewer_client, configured):
    response = viewer_client.get("/api/v1/server/logs/mysql")

    assert response.status_code == 200
    body = response.json()
    assert (body["log_type"], body["lines"], body["available"]) == ("mysql", [], False)
    assert body["reason"] == f"{configured['mysql']} does not exist."


def test_an_unreadable_log_is_a_200_that_says_why_and_what_to_do(viewer):
    # A real permission check needs a user who is not root: the view runs in a child
    # process as `nobody`, over a root-only file like Debian's php-fpm log.
    folder = Path(tempfile.mkdtemp(prefix="wpdash-api-"))
    try:
        folder.chmod(0o755)
        log = folder / "php8.2-fpm.log"
        log.write_text("[22-Nov-2026 03:05:14] NOTICE: fpm is running, pid 285\n")
        log.chmod(0o600)
        from django.test import override_settings

        def get(url: str, **kwargs: str) -> tuple[int, object]:
            request = APIRequestFactory().get(url)
            force_authenticate(request, user=viewer)
            with override_settings(WPDASH_LOGS={"php-fpm": str(log)}):
                response = LogViewSet.as_view({"get": "retrieve" if kwargs else "list"})(request, **kwargs)
            return response.status_code, response.data

        (tail_status, tail), (list_status, sources) = run_as_nobody(
            lambda: (get("/api/v1/server/logs/php-fpm", log_type="php-fpm"), get("/api/v1/server/logs"))
        )
    finally:
        shutil.rmtree(folder)

    assert (tail_status, tail["lines"], tail["available"]) == (200, [], False)
    assert tail["reason"].startswith(f"not readable by user nobody ({log} is root:root, mode 0600)")
    assert list_status == 200
    assert (sources[0]["exists"], sources[0]["readable"]) == (True, False)
    assert sources[0]["reason"] == tail["reason"]


@pytest.mark.parametrize("url", ["/api/v1/server/logs", "/api/v1/server/logs/nginx-access"])
def test_anonymous_requests_are_refused(anonymous_client, configured, url):
    assert anonymous_client.get(url).status_code == 401


def test_the_schema_documents_the_shapes_and_the_400(viewer_client):
    schema = viewer_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/server/logs/{log_type}"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"log_type", "lines", "q"}
    lines = next(p for p in operation["parameters"] if p["name"] == "lines")
    assert (lines["schema"]["minimum"], lines["schema"]["maximum"], lines["schema"]["default"]) == (1, 500, 50)
    assert {"200", "400"} <= set(operation["responses"])  # beside the generic errors of wpdash.schema
    tail = schema["components"]["schemas"]["LogTail"]["properties"]
    assert set(tail) == {"log_type", "lines", "timestamp", "available", "reason", "scanned_bytes", "reached_start"}
    source = schema["components"]["schemas"]["LogSource"]["properties"]
    assert {"name", "path", "exists", "readable", "size", "modified"} <= set(source)


@pytest.mark.parametrize(
    "found",
    [
        sources.Tail("nginx-access", ["one", "", "  two é \x00"], 1796000000, True, None),
        sources.Tail("mysql", [], 1796000000, False, "/var/log/mysql/error.log does not exist."),
        sources.Tail("nginx-access", ["match"], 1796000000, True, None, scanned_bytes=4096, reached_start=False),
        sources.Tail("nginx-access", [], 1796000000, True, None, scanned_bytes=0, reached_start=True),
    ],
)
def test_the_direct_answer_is_exactly_what_the_documented_serializer_gives(found):
    """The view builds the JSON itself for speed; the schema's serializer stays the truth."""
    direct = tail_answer(found)

    assert direct == LogTailSerializer(found).data
    assert list(direct) == list(LogTailSerializer(found).data)

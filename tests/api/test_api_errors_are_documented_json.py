"""Errors DRF and Django give before a view runs are JSON and in the schema (found by tests/api/test_api_fuzz.py)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from wpdash.schema import SIGN_IN_PATHS


@pytest.mark.parametrize(
    "path", ["/api/v1/server/restarts/null,null/", "/api/v1/server/restarts/-1/approve/", "/api/v1/nothing-here"]
)
def test_an_api_path_that_matches_no_route_gets_a_json_404(viewer_client, path):
    response = viewer_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_path_that_matches_no_route_keeps_the_html_404(client, db):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_page_past_the_end_of_the_audit_log_is_a_documented_404(viewer_client):
    response = viewer_client.get("/api/v1/server/restarts/?page=0")

    assert response.status_code == 404
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/server/restarts"]["get"]
    assert "404" in operation["responses"]


def test_every_signed_in_operation_documents_401_and_403_and_the_token_endpoint_429():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "404", "405", "406", "415"} <= codes, (method, path)
            if path.startswith(SIGN_IN_PATHS):
                assert {"401", "429"} <= codes, (method, path)
            else:
                assert {"401", "403"} <= codes, (method, path)


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/login"])
@pytest.mark.parametrize(
    "body", ["[" * 2048 + "]" * 2048, '[{"a":' * 511 + "1" + "}]" * 511], ids=["arrays", "objects-in-arrays"]
)
def test_json_nested_past_the_parsers_recursion_limit_is_a_400_not_a_500(anonymous_client, db, path, body):
    # Valid JSON of 4 KiB; json.load raises RecursionError on it, which is no ValueError.
    response = anonymous_client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - nested too deep."}

"""The schema's service and log path parameters list this server's configured names."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator


def parameter(paths: dict, path: str, method: str, name: str) -> dict:
    return next(p for p in paths[path][method]["parameters"] if p["name"] == name and p["in"] == "path")


def test_the_service_and_log_names_are_enums_of_the_settings(settings):
    settings.WPDASH_SERVICES = ["nginx", "php8.2-fpm"]
    settings.WPDASH_LOGS = {"nginx-access": "/var/log/nginx/access.log"}

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    for path, method in [
        ("/api/v1/server/services/{name}", "get"),
        ("/api/v1/server/services/{name}/restart", "post"),
    ]:
        assert parameter(paths, path, method, "name")["schema"]["enum"] == ["nginx", "php8.2-fpm"]
    assert parameter(paths, "/api/v1/server/logs/{log_type}", "get", "log_type")["schema"]["enum"] == ["nginx-access"]

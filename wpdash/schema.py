"""OpenAPI post-processing: the error answers every operation can give.

drf-spectacular documents what each view declares, but DRF and Django answer some
requests before a view runs: 401 without valid credentials, 403 on a CSRF or
permission failure, 404 for a page past the end or a path that matches no route,
405/406/415 for a wrong method, Accept header or body type, 400 for a malformed
body, 429 when the sign-in lockout holds. A client (and the schemathesis run in
tests/api/test_api_fuzz.py) must find those in the schema, so they are added here
wherever a view did not document the code itself.
"""

from __future__ import annotations

from typing import Any

Answers = dict[str, tuple[str, dict[str, Any]]]

_ERROR = {"$ref": "#/components/schemas/Error"}
# A 400 from a serializer names the fields: {"field": ["message", ...]} or {"detail": ...}.
_VALIDATION = {"type": "object", "additionalProperties": True}

_ALWAYS: Answers = {
    "400": ("the request is malformed (a field, the body or a query parameter)", _VALIDATION),
    "404": ("no such object, page or route", _ERROR),
    "405": ("the method is not allowed here", _ERROR),
    "406": ("no acceptable response type for the Accept header", _ERROR),
    "415": ("the request body's content type is not supported", _ERROR),
}
_SIGNED_IN: Answers = {
    "401": ("not signed in: no, an expired or an invalid token or session", _ERROR),
    "403": ("signed in without the needed permission, or a session request without its CSRF token", _ERROR),
}
SIGN_IN_PATHS = ("/api/v1/auth/token", "/api/v1/auth/login")
_TOKEN: Answers = {
    "401": ("wrong credentials, an inactive account or an invalid token", _ERROR),
    "429": ("too many failed sign-ins for this user from this address", _ERROR),
}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: fill in the undeclared error codes of each operation."""
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            extra = dict(_ALWAYS)
            extra.update(_SIGNED_IN if operation.get("security") else {})
            extra.update(_TOKEN if path.startswith(SIGN_IN_PATHS) else {})
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in extra.items():
                responses.setdefault(code, _response(description, schema))
    return result


def add_configured_names(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: the allowlisted services and configured logs as enums.

    Both come from this server's settings (WPDASH_SERVICES, WPDASH_LOGS), read when the
    schema is asked for, so a client sees exactly the names it may use and a
    schema-valid request is never refused as "not in the allowlist".
    """
    from django.conf import settings

    services, logs = list(settings.WPDASH_SERVICES), list(settings.WPDASH_LOGS)
    for path, operations in result.get("paths", {}).items():
        # A site's {name} is found in nginx's configuration, not allowlisted: no enum there.
        names = {"log_type": logs, **({"name": services} if "/server/services/" in path else {})}
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") in names:
                    parameter["schema"] = {**parameter.get("schema", {}), "enum": names[parameter["name"]]}
    return result


def paths_without_trailing_slash(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Write every path as the README and the specification do: without a trailing
    slash (the routes take both; drf-spectacular renders their optional "/?" as "/")."""
    result["paths"] = {path.rstrip("/") or "/": operations for path, operations in result.get("paths", {}).items()}
    return result

"""Django's error pages, in JSON for API paths.

A path under /api/ that matches no route (/api/v1/server/restarts/abc/) would get
Django's HTML 404 page, which no API client can read and the schema does not
document. API paths get {"detail": ...} instead; pages keep Django's HTML.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Never a traceback or an HTML page to an API client; the details are in the log.
    if _is_api(request):
        return JsonResponse({"detail": "Internal error; see the server log."}, status=500)
    return defaults.server_error(request)

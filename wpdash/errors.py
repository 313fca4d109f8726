"""Django's error pages: JSON on API paths, the dashboard's own pages elsewhere.

A path under /api/ that matches no route (/api/v1/server/restarts/abc/) would get
an HTML 404 page, which no API client can read and the schema does not document.
API paths get {"detail": ...} instead; pages get templates/404.html.

The other styled pages are found by name, without a handler here: Django's default
handler403 renders templates/403.html, and DRF's TemplateHTMLRenderer (the API docs
page, the only HTML view of the API) renders templates/401.html or 403.html for the
status it answers, so a signed-out visit to the docs gets a sign-in link.
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
    return defaults.page_not_found(request, exception, template_name="404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    # Never a traceback or an HTML page to an API client; the details are in the log.
    if _is_api(request):
        return JsonResponse({"detail": "Internal error; see the server log."}, status=500)
    return defaults.server_error(request)

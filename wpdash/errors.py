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

import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.template.response import TemplateResponse
from django.views import defaults

API_PREFIX = "/api/"
HOST_SHOWN = 100  # characters of a refused Host header that a page or a log line repeats

logger = logging.getLogger("server_monitor.hosts")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400. A Host not in DJANGO_ALLOWED_HOSTS says which setting to change, to the
    visitor and in one log line (Django's own log line names ALLOWED_HOSTS, with a
    traceback; settings.LOGGING silences it)."""
    if not isinstance(exception, DisallowedHost):
        if _is_api(request):
            return JsonResponse({"detail": "Bad request."}, status=400)
        return TemplateResponse(request, "400.html", status=400).render()
    sent = request.META.get("HTTP_HOST", "")[:HOST_SHOWN]
    domain, _port = split_domain_port(sent)
    allowed = ",".join(settings.ALLOWED_HOSTS)
    if domain:
        logger.warning("refused a request for host %r: add %s to DJANGO_ALLOWED_HOSTS (now %s)", sent, domain, allowed)
        detail = f"The host {domain} is not allowed: add it to DJANGO_ALLOWED_HOSTS and restart wpdash."
    else:
        logger.warning("refused a request for host %r: not a valid host name", sent)
        detail = "The host name of this request is not valid."
    if _is_api(request):
        return JsonResponse({"detail": detail}, status=400)
    context = {"host": domain, "host_invalid": not domain}
    return TemplateResponse(request, "400.html", context, status=400).render()


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception, template_name="404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    # Never a traceback or an HTML page to an API client; the details are in the log.
    if _is_api(request):
        return JsonResponse({"detail": "Internal error; see the server log."}, status=500)
    return defaults.server_error(request)

"""The API's hot reads as plain Django views, for wpdash.hot_reads' short path.

A dashboard asks for the same few answers all day: services, the last lines of a log,
the metrics. Through DRF each pays for dispatch, content negotiation and a serializer
built (its fields deep-copied) to read one query parameter, which cost more than the
answer itself (bench/RESULTS.md). These views give the same answer with the same work
(the same adapter and workflow calls, DRF's JSONRenderer, the same headers) and none
of that.

Each view accepts only what it is sure of and raises Decline for anything else, so
that Django and DRF answer it exactly as before: a request without a Bearer token or
with one simplejwt refuses, a query parameter they would read differently (lines=050,
lines=5.0, q, format), a log name that is not configured, and every error of the work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.cache import add_never_cache_headers
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer

from server_monitor.adapters import systemd
from server_monitor.adapters.logs import tail
from server_monitor.web import health
from server_monitor.web.api.serializers import ServiceStatusSerializer, tail_answer
from server_monitor.web.authentication import CachedUserJWTAuthentication
from server_monitor.workflows import metrics
from server_monitor.workflows.logs import sources

API = "/api/v1/server"
# What DRF's viewsets answer in Allow for these routes (each is GET-only).
READ_ONLY = "GET, HEAD, OPTIONS"
# lines as DRF's IntegerField reads it without doubt: no sign, no leading zero, no
# decimal point, no space. Anything else (050, 5.0, " 5") is DRF's to judge.
PLAIN_COUNT = re.compile(r"[1-9][0-9]{0,2}")

_renderer = JSONRenderer()
_jwt = CachedUserJWTAuthentication()
# range -> (the answer, its JSON): while metrics hands out the same cached answer (it
# does while Netdata's charts are cached), its 360 points are not encoded again.
_rendered_metrics: dict[str, tuple[dict[str, Any], bytes]] = {}


class Decline(Exception):
    """Not sure of this request: Django answers it."""


@dataclass(frozen=True)
class HotRoute:
    pattern: re.Pattern[str]  # matched against the whole decoded path
    view: Callable[..., HttpResponse]
    parameters: frozenset[str] = field(default_factory=frozenset)  # the query parameters it reads
    # Its answer is often all in memory (server_monitor.memory_only): tried in the event
    # loop first. Not for a log: a file is read every time.
    from_memory: bool = False

    def query_is_plain(self, query: QueryDict) -> bool:
        """Only parameters the view reads, each once (DRF would take the last of two)."""
        return all(name in self.parameters and len(values) == 1 for name, values in query.lists())


def signed_in(request: HttpRequest) -> None:
    """The API's first authentication class, then its IsAuthenticated, or Decline.

    The same class as DRF's: the token is checked in full (signature, expiry, type),
    the user is the cached or freshly looked-up active user. No token at all may still
    be a session, and a refused one gets DRF's 401: both are Django's to answer.
    """
    try:
        found = _jwt.authenticate(request)  # type: ignore[arg-type]  # it reads request.META only
    except APIException as refused:
        raise Decline from refused
    if found is None or not found[0].is_authenticated:
        raise Decline


def json_answer(body: bytes) -> HttpResponse:
    """What a DRF view's Response becomes: JSONRenderer's bytes (`body`) and DRF's headers."""
    response = HttpResponse(body, content_type="application/json")
    response["Vary"] = "Accept"
    response["Allow"] = READ_ONLY
    return response


def services(request: HttpRequest) -> HttpResponse:
    signed_in(request)
    return json_answer(_renderer.render(ServiceStatusSerializer(systemd.list_statuses(), many=True).data))


def log_tail(request: HttpRequest, log_type: str) -> HttpResponse:
    signed_in(request)
    lines = request.GET.get("lines")
    if lines is not None and not (PLAIN_COUNT.fullmatch(lines) and int(lines) <= tail.MAX_TAIL_LINES):
        raise Decline
    count = tail.DEFAULT_TAIL_LINES if lines is None else int(lines)
    return json_answer(_renderer.render(tail_answer(sources.get_source(log_type).tail(count))))


def server_metrics(request: HttpRequest) -> HttpResponse:
    signed_in(request)
    range_name = request.GET.get("range", metrics.DEFAULT_RANGE)
    if range_name not in metrics.RANGES:
        raise Decline
    data = metrics.get_metrics(range_name)
    rendered = _rendered_metrics.get(range_name)
    if rendered is None or rendered[0] is not data:
        rendered = _rendered_metrics[range_name] = (data, _renderer.render(data))
    response = json_answer(rendered[1])
    add_never_cache_headers(response)  # as the DRF view: numbers change every second
    return response


ROUTES = (
    HotRoute(re.compile(r"/healthz"), health.healthz, from_memory=True),
    HotRoute(re.compile(rf"{API}/services/?"), services, from_memory=True),
    # Names as configured (WPDASH_LOGS) or journal:NAME; any other path is the router's.
    HotRoute(re.compile(rf"{API}/logs/(?P<log_type>[\w.:@-]+?)/?"), log_tail, frozenset({"lines"})),
    HotRoute(re.compile(rf"{API}/metrics/?"), server_metrics, frozenset({"range"}), from_memory=True),
)

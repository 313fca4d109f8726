"""HTTP views. Thin: they validate input, call an adapter module, and serialize."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from server_monitor import metrics
from server_monitor.serializers import (
    MetricsQuerySerializer,
    MetricsRangeErrorSerializer,
    MetricsSerializer,
    MetricsUnavailableSerializer,
)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and monitors: 200 when the database answers.

    It says nothing else (no versions, no reasons) since it needs no sign-in.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@login_required
def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/status.html", {})


# --- metrics -------------------------------------------------------------------------


class MetricsViewSet(viewsets.ViewSet):
    """CPU, RAM, disk, disk I/O and network of this server, as sparkline series."""

    @extend_schema(
        operation_id="server_metrics",
        parameters=[MetricsQuerySerializer],
        responses={
            200: MetricsSerializer,
            400: OpenApiResponse(MetricsRangeErrorSerializer, description="Unknown range."),
            503: OpenApiResponse(
                MetricsUnavailableSerializer,
                description="WPDASH_METRICS_SOURCE=netdata and Netdata is down, too slow or answered nonsense.",
            ),
        },
    )
    def list(self, request: Request) -> Response:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # MetricsUnavailable becomes 503 in server_monitor.exceptions.
        response = Response(metrics.get_metrics(query.validated_data["range"]))
        add_never_cache_headers(response)  # numbers change every second
        return response

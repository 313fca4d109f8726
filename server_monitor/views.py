"""HTTP views. Thin: they validate input, call an adapter module, and serialize."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from server_monitor import logs
from server_monitor.serializers import ErrorSerializer, LogSourceSerializer, LogTailQuerySerializer, LogTailSerializer


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


# --- logs ------------------------------------------------------------------------------


class InvalidQuery(APIException):
    status_code = 400
    default_code = "invalid_query"


class LogViewSet(viewsets.ViewSet):
    """The configured logs and the last lines of one. Paths come from settings only."""

    lookup_field = "log_type"
    # Anything up to the optional trailing slash, so a traversal attempt such as
    # ..%2F..%2Fetc%2Fpasswd reaches the view and is answered 400, not 404.
    lookup_value_regex = r".+?"

    @extend_schema(responses={200: LogSourceSerializer(many=True)}, summary="The log sources and their availability")
    def list(self, request: Request) -> Response:
        return Response(LogSourceSerializer(logs.all_statuses(), many=True).data)

    @extend_schema(
        summary="The last lines of a log",
        parameters=[
            OpenApiParameter("log_type", OpenApiTypes.STR, OpenApiParameter.PATH, description="A configured log name."),
            LogTailQuerySerializer,
        ],
        responses={
            200: OpenApiResponse(LogTailSerializer, description="Also when the file is missing or unreadable."),
            400: OpenApiResponse(ErrorSerializer, description="Unknown log type, or lines outside 1..500."),
        },
    )
    def retrieve(self, request: Request, log_type: str | None = None) -> Response:
        source = logs.get_source(log_type)
        # A plain dict, so that an empty ?lines= is an error rather than the default.
        query = LogTailQuerySerializer(data=request.query_params.dict())
        if not query.is_valid():
            raise InvalidQuery(f"lines must be a whole number from 1 to {logs.MAX_TAIL_LINES}.")
        return Response(LogTailSerializer(logs.tail(source, query.validated_data["lines"])).data)

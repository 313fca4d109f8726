"""GET /api/v1/server/sites and /sites/{name}: the enabled sites and their figures.

Thin: the range is checked here, everything else is workflows.sites.figures'. The
shapes are the contract's (shared/ARCHITECTURE.md, "Agreed for the sites") with more
fields on top; a bad range is a 400 naming it, as for the metrics.
"""

from __future__ import annotations

from typing import Any

from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from server_monitor.web.api.serializers import ErrorSerializer, MetricPointSerializer, MetricsRangeErrorSerializer
from server_monitor.workflows.sites import figures


class SitesQuerySerializer(serializers.Serializer):
    range = serializers.ChoiceField(
        choices=list(figures.RANGES),
        default=figures.DEFAULT_RANGE,
        error_messages={"invalid_choice": '"{input}" is not a range: use 5m, 1h or 24h.'},
        help_text="The window: every minute (5m, 1h) or ten minutes (24h) that overlaps the last 5 minutes, "
        "hour or 24 hours.",
    )


class SiteLogSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The log source: GET /api/v1/server/logs/{name} and its /ws.")
    kind = serializers.ChoiceField(choices=["access", "error", "debug"])
    path = serializers.CharField()


class SiteSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The site's file in WPDASH_SITES_DIR (WordOps: the domain).")
    server_names = serializers.ListField(child=serializers.CharField())
    access_log = serializers.CharField(allow_null=True)
    error_log = serializers.CharField(allow_null=True)
    format = serializers.CharField(allow_null=True, help_text="The access log's log_format name.")
    available = serializers.BooleanField(help_text="Its access log can be read and its format is understood.")
    reason = serializers.CharField(allow_null=True, help_text="Why not, in words (e.g. format not understood).")
    requests = serializers.IntegerField(allow_null=True, help_text="null: never counted.")
    responses_4xx = serializers.IntegerField(allow_null=True)
    responses_5xx = serializers.IntegerField(allow_null=True)
    bytes_sent = serializers.IntegerField(allow_null=True, help_text="$body_bytes_sent (else $bytes_sent), summed.")
    p50_seconds = serializers.FloatField(
        allow_null=True,
        help_text="Of $upstream_response_time (a list: its sum); static files and cache hits have none.",
    )
    p95_seconds = serializers.FloatField(allow_null=True, help_text="Nearest rank, as p50.")
    cache_hit_ratio = serializers.FloatField(
        allow_null=True,
        help_text="HIT / lines with a cache status (HIT, MISS, BYPASS, EXPIRED, STALE, UPDATING, "
        "REVALIDATED); `-` counts for neither. null without such lines.",
    )
    unparsed = serializers.IntegerField(allow_null=True, help_text="Lines the format does not describe.")
    range = serializers.CharField()
    requests_per_second = serializers.FloatField(allow_null=True, help_text="Over the seconds the window covers.")
    timed_requests = serializers.IntegerField(allow_null=True, help_text="Requests with an upstream time.")
    certificate_days_left = serializers.IntegerField(
        allow_null=True, help_text="Of the ssl_certificate the site names (negative: expired)."
    )
    certificate_expires_at = serializers.IntegerField(allow_null=True, help_text="Unix seconds.")
    history_since = serializers.IntegerField(allow_null=True, help_text="Unix seconds from which counts are complete.")
    counted_until = serializers.FloatField(allow_null=True, help_text="Unix seconds of the counter's last write.")
    logs = SiteLogSerializer(many=True)


class SiteSeriesSerializer(serializers.Serializer):
    name = serializers.CharField()
    unit = serializers.CharField(help_text="req/s, ratio (0 to 1), s or B.")
    current = serializers.FloatField(allow_null=True, help_text="The newest bucket's value that is not null.")
    average = serializers.FloatField(allow_null=True, help_text="The window's figure.")
    points = MetricPointSerializer(many=True, help_text="Oldest first, one per bucket; null where not counted.")


class SiteDetailSerializer(SiteSerializer):
    series = serializers.DictField(child=SiteSeriesSerializer())
    top_paths = serializers.ListField(child=serializers.DictField(), help_text="[{path, requests}], at most 10.")
    top_error_paths = serializers.ListField(child=serializers.DictField(), help_text="[{path, responses_5xx}].")
    top_clients = serializers.ListField(child=serializers.DictField(), help_text="[{address, requests}].")
    top_lists_cut = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="How far each list's counts may be short of the truth at most (0: exact).",
    )
    rebuild = serializers.DictField(allow_null=True, help_text="The counter's last rebuild from the logs.")
    unparsed_samples = serializers.ListField(child=serializers.CharField(), help_text="The last lines not understood.")


def summary(found: figures.SiteFigures) -> dict[str, Any]:
    site, state = found.site, found.state
    expiry = found.certificate.not_after if found.certificate is not None else None
    return {
        "name": site.name,
        "server_names": list(site.server_names),
        "access_log": site.access_log,
        "error_log": site.error_log,
        "format": site.format_name,
        "available": found.available,
        "reason": found.reason,
        **found.figures(),
        "range": found.window.range,
        "certificate_days_left": found.certificate_days_left,
        "certificate_expires_at": int(expiry.timestamp()) if expiry is not None else None,
        "history_since": state.history_since if state is not None else None,
        "counted_until": state.counted_until if state is not None else None,
        "logs": [{"name": log.name, "kind": log.kind, "path": log.path} for log in site.logs],
    }


def detail(found: figures.SiteFigures) -> dict[str, Any]:
    state = found.state
    rebuild = None
    if state is not None and state.rebuilt_at is not None:
        rebuild = {
            "at": state.rebuilt_at,
            "from": state.rebuilt_from,
            "bytes": state.rebuild_bytes,
            "lines": state.rebuild_lines,
            "seconds": state.rebuild_seconds,
            "stop": state.rebuild_stop,
        }
    return {
        **summary(found),
        "series": found.series(),
        **found.top_lists(),
        "rebuild": rebuild,
        "unparsed_samples": found.unparsed_samples(),
    }


_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="A site's name, e.g. example.com."
)
_BAD_RANGE = OpenApiResponse(MetricsRangeErrorSerializer, description="an unknown range")
_BAD_NAME_OR_RANGE = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="SiteNameOrRangeError",
        serializers=[ErrorSerializer, MetricsRangeErrorSerializer],
        resource_type_field_name=None,
    ),
    description="not a site name ({detail}), or an unknown range ({range: [...]})",
)


@extend_schema_view(
    list=extend_schema(
        summary="The enabled sites and their figures over a window",
        parameters=[SitesQuerySerializer],
        responses={200: SiteSerializer(many=True), 400: _BAD_RANGE},
    ),
    retrieve=extend_schema(
        summary="One site: its figures, series and top lists",
        parameters=[_NAME, SitesQuerySerializer],
        responses={
            200: SiteDetailSerializer,
            400: _BAD_NAME_OR_RANGE,
            404: OpenApiResponse(ErrorSerializer, description="no enabled site has this name"),
        },
    ),
)
class SiteViewSet(viewsets.ViewSet):
    """The WordPress sites nginx serves (found in WPDASH_SITES_DIR), counted from their access logs."""

    lookup_field = "name"
    lookup_value_regex = r".+?"  # a hostile name reaches the check and gets its 400

    def list(self, request: Request) -> Response:
        range_name = self._range(request)
        response = Response([summary(found) for found in figures.all_sites(range_name)])
        add_never_cache_headers(response)
        return response

    def retrieve(self, request: Request, name: str) -> Response:
        range_name = self._range(request)
        response = Response(detail(figures.one_site(name, range_name)))
        add_never_cache_headers(response)
        return response

    @staticmethod
    def _range(request: Request) -> str:
        query = SitesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        range_name: str = query.validated_data["range"]
        return range_name

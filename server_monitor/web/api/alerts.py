"""The alerts in the API: GET /api/v1/server/alerts (the watcher's episodes) and the silences.

Their serializers and viewsets live together here (views.py and serializers.py hold
the older resources). Thin, as the rest: episodes are read-only; a silence is made
and ended by workflows.alerts.silences, which checks who may.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from server_monitor.models import Alert, AlertSilence
from server_monitor.web.api.permissions import CheckedByTheWorkflow
from server_monitor.web.api.serializers import ErrorSerializer
from server_monitor.workflows.alerts import silences

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser
    from rest_framework.permissions import _SupportsHasPermission

    UserName = serializers.SlugRelatedField[AbstractUser]


class AlertSerializer(serializers.ModelSerializer):
    """One episode of one rule about one subject: firing, then resolved."""

    evidence = serializers.JSONField(
        help_text="What the rule saw: figures, the unit's journal lines, the matching log lines (by rule)."
    )

    class Meta:
        model = Alert
        fields = ["id", "rule", "subject", "severity", "state", "started_at", "resolved_at", "summary", "evidence"]
        read_only_fields = fields


class AlertFilter(django_filters.FilterSet):
    class Meta:
        model = Alert
        fields = ["state"]


@extend_schema_view(
    list=extend_schema(
        summary="Alerts, newest first",
        description="One row per episode. `?state=firing` for what is wrong now, `?state=resolved` for history.",
        responses={
            200: AlertSerializer(many=True),
            400: OpenApiResponse(description="an unknown state in the filter"),
        },
    ),
    retrieve=extend_schema(
        summary="One alert",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The alert's id.")],
        responses={200: AlertSerializer, 404: OpenApiResponse(ErrorSerializer, description="no such alert")},
    ),
)
class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """What the watcher noticed (`manage.py watch`): read by any signed-in user."""

    serializer_class = AlertSerializer
    queryset = Alert.objects.order_by("-started_at", "-id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilter
    lookup_value_regex = r"[0-9]+"


class SilenceSerializer(serializers.ModelSerializer):
    created_by: UserName = serializers.SlugRelatedField(slug_field="username", read_only=True)
    ended_by: UserName = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AlertSilence
        fields = ["id", "rule", "subject", "until", "reason", "created_by", "created_at", "ended_by", "ended_at"]
        read_only_fields = fields


class SilenceRequestSerializer(serializers.Serializer):
    rule = serializers.CharField(max_length=64, required=False, allow_blank=True, default="", help_text="Empty: any.")
    subject = serializers.CharField(
        max_length=512, required=False, allow_blank=True, default="", help_text="Empty: any."
    )
    until = serializers.DateTimeField(help_text="When the silence ends (within 90 days).")
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="Silences, newest first", responses={200: SilenceSerializer(many=True)}),
    retrieve=extend_schema(
        summary="One silence",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The silence's id.")],
        responses={200: SilenceSerializer, 404: OpenApiResponse(ErrorSerializer, description="no such silence")},
    ),
)
class SilenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Silences of alerts: read by any signed-in user; made and ended with `server_monitor.silence_alerts`."""

    serializer_class = SilenceSerializer
    queryset = AlertSilence.objects.select_related("created_by", "ended_by").order_by("-created_at", "-id")
    lookup_value_regex = r"[0-9]+"

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action in {"create", "end"}:
            return [CheckedByTheWorkflow()]
        return super().get_permissions()

    @extend_schema(
        summary="Silence a rule, a subject, or one rule on one subject",
        description="Its messages are held back until `until`; the alerts are still recorded and shown. "
        "Needs `server_monitor.silence_alerts`. Recorded with who and when.",
        request=SilenceRequestSerializer,
        responses={
            201: SilenceSerializer,
            400: OpenApiResponse(description="neither rule nor subject, or until not within 90 days"),
            401: OpenApiResponse(ErrorSerializer, description="not signed in"),
            403: OpenApiResponse(ErrorSerializer, description="no silence permission"),
        },
    )
    def create(self, request: Request) -> Response:
        body = SilenceRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            row = silences.silence(request.user, data["rule"], data["subject"], data["until"], data["reason"])
        except ValueError as error:
            raise serializers.ValidationError({"detail": str(error)}) from None
        return Response(SilenceSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="End a silence now",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The silence's id.")],
        request=None,
        responses={
            200: SilenceSerializer,
            401: OpenApiResponse(ErrorSerializer, description="not signed in"),
            403: OpenApiResponse(ErrorSerializer, description="no silence permission"),
            404: OpenApiResponse(ErrorSerializer, description="no such silence"),
        },
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str) -> Response:
        return Response(SilenceSerializer(silences.end(request.user, pk)).data)

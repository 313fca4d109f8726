"""The JSON API: one ViewSet per resource. Thin: read the request, call a workflow or
an adapter's read, serialize. Errors become answers in server_monitor.web.errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

import django_filters
from django.db.models import QuerySet
from django.utils.cache import add_never_cache_headers
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from server_monitor.adapters import systemd
from server_monitor.adapters.logs import tail
from server_monitor.errors import Unavailable
from server_monitor.models import RestartAction
from server_monitor.web.api.permissions import CheckedByTheWorkflow
from server_monitor.web.api.serializers import (
    ErrorSerializer,
    LogSourceSerializer,
    LogTailQuerySerializer,
    LogTailSerializer,
    MetricsQuerySerializer,
    MetricsRangeErrorSerializer,
    MetricsSerializer,
    QueryParameters,
    RestartActionSerializer,
    RestartConflictSerializer,
    RestartOutcomeSerializer,
    RestartRejectSerializer,
    RestartUnavailableSerializer,
    ServiceStatusSerializer,
    tail_answer,
)
from server_monitor.web.client import came_through_proxy, client_address
from server_monitor.workflows import metrics, pending, restart
from server_monitor.workflows.logs import sources
from server_monitor.workflows.restart import Outcome

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

# --- services and restarts -------------------------------------------------------------
# Status is read from adapters.systemd; restarts go through workflows.restart, which
# checks, logs refusals and audits. Errors become answers in server_monitor.web.errors.

_UNAVAILABLE = OpenApiResponse(
    ErrorSerializer, description="systemd cannot be asked (e.g. “systemd is not running on this host”)"
)
_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="An allowlisted unit name, e.g. nginx or php8.2-fpm."
)
_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The restart's id.")
_ACTION_OR_ERROR = PolymorphicProxySerializer(
    component_name="RestartFailedOrUnavailable",
    serializers=[RestartOutcomeSerializer, RestartUnavailableSerializer],
    resource_type_field_name=None,
)


def outcome_response(outcome: Outcome) -> Response:
    """202 while its outcome is to come (awaiting approval, or running in the background),
    200 when it went through, 503 when it failed.

    The body is the services plan's {"success", "message"} on top of the audit row,
    and `recorded`: false when the restart's outcome is not in the audit yet (the
    status and the row's fields are then the outcome as judged); a 503 also carries
    `detail`, like every other error answer.
    """
    code: int
    if not outcome.success:
        code = status.HTTP_503_SERVICE_UNAVAILABLE
    else:
        code = status.HTTP_200_OK if outcome.finished else status.HTTP_202_ACCEPTED
    body = {
        "success": outcome.success,
        "message": outcome.message,
        "recorded": outcome.recorded,
        **RestartActionSerializer(outcome.action).data,
    }
    body["message"] = outcome.message  # the answer's words, not the row's (a detached run says where to look)
    if not outcome.success:
        body["detail"] = outcome.message
    return Response(body, status=code)


def not_run_response(name: str, error: Unavailable) -> Response:
    """systemd could not be asked: nothing ran and no row was written, yet the answer
    has the plan's shape, so a client reading `success` learns it failed and why."""
    message = f"Restart of {name} failed: {error.detail}"
    return Response({"success": False, "message": message, "detail": error.detail}, status=503)


@extend_schema_view(
    list=extend_schema(
        summary="Installed allowlisted services",
        description="One `systemctl show` for the whole allowlist; units that are not installed are left out "
        "and an alias (mysql → mariadb.service) is listed once.",
        responses={200: ServiceStatusSerializer(many=True), 503: _UNAVAILABLE},
    ),
    retrieve=extend_schema(
        summary="One service",
        parameters=[_NAME],
        responses={
            200: ServiceStatusSerializer,
            400: OpenApiResponse(ErrorSerializer, description="not in the allowlist"),
            404: OpenApiResponse(ErrorSerializer, description="not installed on this host"),
            503: _UNAVAILABLE,
        },
    ),
)
class ServiceViewSet(viewsets.ViewSet):
    """The allowlisted systemd units (WPDASH_SERVICES): status for any signed-in user, restart with permission."""

    lookup_field = "name"
    # Any text up to a final /restart, so a hostile name (../../etc/passwd, nginx;id,
    # a NUL) reaches the allowlist check and gets its 400 instead of a router 404.
    lookup_value_regex = r"(?:(?!/restart/?$)[\s\S])+?"

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action == "restart":
            return [CheckedByTheWorkflow()]
        return super().get_permissions()

    def list(self, request: Request) -> Response:
        return Response(ServiceStatusSerializer(systemd.list_statuses(), many=True).data)

    def retrieve(self, request: Request, name: str) -> Response:
        return Response(ServiceStatusSerializer(systemd.get_status(name)).data)

    @extend_schema(
        summary="Restart a service (audited)",
        description="Writes the audit row first. Immediate mode: runs `[sudo -n] systemctl restart -- NAME` "
        "(30 s timeout) and verifies the unit is active again with a new MainPID; 200 when it is, 503 with "
        "the action when it failed or timed out. Approval mode (WPDASH_RESTART_APPROVAL=on): 202 with the "
        "pending action. A restart of the proxy this request comes through (a unit of WPDASH_PROXY_UNITS, "
        "default nginx, asked with WPDASH_HTTPS=on or through a forwarding proxy) would cut its own answer: "
        "it is answered 202 with the `running` action, `success: true` and a message saying so, then runs; "
        "its outcome lands in the action (poll `GET /api/v1/server/restarts/{id}` until `status` is no "
        "longer `running`). Needs the `server_monitor.restart_service` permission.",
        parameters=[_NAME],
        request=None,
        responses={
            200: OpenApiResponse(RestartOutcomeSerializer, description="restarted and verified"),
            202: OpenApiResponse(
                RestartOutcomeSerializer,
                description="waiting for approval (`pending`), or restarting the proxy this request came "
                "through (`running`; the outcome lands in the action)",
            ),
            400: OpenApiResponse(ErrorSerializer, description="not in the allowlist"),
            403: OpenApiResponse(ErrorSerializer, description="no restart permission"),
            404: OpenApiResponse(ErrorSerializer, description="not installed on this host"),
            409: OpenApiResponse(RestartConflictSerializer, description="a restart of this unit is pending or running"),
            503: OpenApiResponse(
                _ACTION_OR_ERROR, description="the restart failed or timed out (the action), or systemd is unavailable"
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def restart(self, request: Request, name: str) -> Response:
        try:
            outcome = restart.request_restart(
                name, request.user, client_address(request), via_proxy=came_through_proxy(request)
            )
        except Unavailable as error:
            return not_run_response(name, error)
        return outcome_response(outcome)


class RestartActionFilter(django_filters.FilterSet):
    class Meta:
        model = RestartAction
        fields = ["service", "status"]


@extend_schema_view(
    list=extend_schema(
        summary="The restart audit log, newest first",
        responses={
            200: RestartActionSerializer(many=True),
            400: OpenApiResponse(description="an unknown status in the filter"),
        },
    ),
    retrieve=extend_schema(
        summary="One restart",
        parameters=[_ID],
        responses={
            200: RestartActionSerializer,
            404: OpenApiResponse(ErrorSerializer, description="no such restart"),
        },
    ),
)
class RestartActionViewSet(viewsets.ReadOnlyModelViewSet):
    """The restart audit log (RestartAction): read by any signed-in user; approve/reject with permission,
    withdraw by the requester."""

    serializer_class = RestartActionSerializer
    queryset = RestartAction.objects.select_related("requested_by", "approved_by", "rejected_by").order_by(
        "-requested_at", "-id"
    )
    filter_backends = [DjangoFilterBackend]
    filterset_class = RestartActionFilter
    lookup_value_regex = r"[0-9]+"

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action in {"approve", "reject", "withdraw"}:
            return [CheckedByTheWorkflow()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[RestartAction]:
        pending.expire_overdue()  # a row read says `expired` once its time is up, whoever looks first
        return super().get_queryset()

    @extend_schema(
        summary="Approve a pending restart and run it",
        description="Needs `server_monitor.approve_restart`; nobody approves their own request. "
        "200 when the restart succeeded, 503 with the action when it failed or timed out; 202 with the "
        "`running` action when it restarts the proxy this request came through (as for a restart request). "
        "A request older than WPDASH_RESTART_APPROVAL_MINUTES has expired: 409, and nothing runs.",
        parameters=[_ID],
        request=None,
        responses={
            200: RestartOutcomeSerializer,
            202: OpenApiResponse(
                RestartOutcomeSerializer, description="approved; restarting the proxy this request came through"
            ),
            403: OpenApiResponse(ErrorSerializer, description="no approve permission, or your own request"),
            404: OpenApiResponse(ErrorSerializer, description="no such restart"),
            409: OpenApiResponse(RestartConflictSerializer, description="not pending (also: expired)"),
            503: OpenApiResponse(RestartOutcomeSerializer, description="approved, but the restart failed or timed out"),
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        address, via_proxy = client_address(request), came_through_proxy(request)
        return outcome_response(restart.approve(pk, request.user, address, via_proxy=via_proxy))

    @extend_schema(
        summary="Reject a pending restart",
        parameters=[_ID],
        request=RestartRejectSerializer,
        responses={
            200: RestartOutcomeSerializer,
            400: OpenApiResponse(description="reason longer than 1000 characters"),
            403: OpenApiResponse(ErrorSerializer, description="no approve permission"),
            404: OpenApiResponse(ErrorSerializer, description="no such restart"),
            409: OpenApiResponse(RestartConflictSerializer, description="not pending"),
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        body = RestartRejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        return outcome_response(restart.reject(pk, request.user, client_address(request), reason))

    @extend_schema(
        summary="Withdraw your own pending restart",
        description="Only the person who requested it, while it waits for approval; the row becomes `withdrawn` "
        "with `withdrawn_at`, and the unit is free for a new request.",
        parameters=[_ID],
        request=None,
        responses={
            200: RestartOutcomeSerializer,
            403: OpenApiResponse(ErrorSerializer, description="not your request"),
            404: OpenApiResponse(ErrorSerializer, description="no such restart"),
            409: OpenApiResponse(RestartConflictSerializer, description="not pending (also: expired)"),
        },
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return outcome_response(restart.withdraw(pk, request.user, client_address(request)))


# --- logs ------------------------------------------------------------------------------


class InvalidQuery(APIException):
    status_code = 400
    default_code = "invalid_query"


class JSONOnly(BaseContentNegotiation):
    """JSON whatever the client's Accept says: DRF's documented way to skip content
    negotiation (api-guide/content-negotiation.md) for the reads a dashboard polls all
    day, which have nothing to show a browser that JSON does not."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


TAIL_QUERY = QueryParameters(LogTailQuerySerializer)
METRICS_QUERY = QueryParameters(MetricsQuerySerializer)


class LogViewSet(viewsets.ViewSet):
    """The configured logs and the last lines of one. Paths come from settings only."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    lookup_field = "log_type"
    # Anything up to the optional trailing slash, so a traversal attempt such as
    # ..%2F..%2Fetc%2Fpasswd reaches the view and is answered 400, not 404.
    lookup_value_regex = r".+?"

    @extend_schema(responses={200: LogSourceSerializer(many=True)}, summary="The log sources and their availability")
    def list(self, request: Request) -> Response:
        return Response(LogSourceSerializer(sources.all_statuses(), many=True).data)

    @extend_schema(
        summary="The last lines of a log, or the last lines that contain a text",
        description="Without `q`, the last `lines` lines. With `q`, the last `lines` lines that contain it "
        "(ignoring case), read backwards from the end for at most WPDASH_LOG_SEARCH_BYTES; the answer then "
        "also has `scanned_bytes` and `reached_start`.",
        parameters=[
            OpenApiParameter("log_type", OpenApiTypes.STR, OpenApiParameter.PATH, description="A configured log name."),
            LogTailQuerySerializer,
        ],
        responses={
            200: OpenApiResponse(LogTailSerializer, description="Also when the file is missing or unreadable."),
            400: OpenApiResponse(
                ErrorSerializer,
                description="Unknown log type, lines outside 1..500, or q too long or with a NUL or line break.",
            ),
        },
    )
    def retrieve(self, request: Request, log_type: str | None = None) -> Response:
        source = sources.get_source(log_type)
        try:
            query = TAIL_QUERY.validate(request.query_params)  # an empty ?lines= is an error, not the default
        except ValidationError as invalid:
            errors = cast("dict[str, list[str]]", invalid.detail)
            if "lines" in errors:
                raise InvalidQuery(f"lines must be a whole number from 1 to {tail.MAX_TAIL_LINES}.") from None
            raise InvalidQuery(str(errors["q"][0])) from None
        found = source.tail(query["lines"], tail.parse_query(query.get("q", "")))
        return Response(tail_answer(found))


# --- metrics -------------------------------------------------------------------------


class MetricsViewSet(viewsets.ViewSet):
    """CPU, RAM, disk, disk I/O and network of this server, as sparkline series."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    @extend_schema(
        operation_id="server_metrics",
        parameters=[MetricsQuerySerializer],
        responses={
            200: MetricsSerializer,
            400: OpenApiResponse(MetricsRangeErrorSerializer, description="Unknown range."),
            503: OpenApiResponse(
                ErrorSerializer,
                description="WPDASH_METRICS_SOURCE=netdata and Netdata is down, too slow or answered nonsense.",
            ),
        },
    )
    def list(self, request: Request) -> Response:
        range_name = METRICS_QUERY.validate(request.query_params)["range"]  # {"range": [why]} as a 400
        # MetricsUnavailable becomes 503 in server_monitor.web.errors.
        response = Response(metrics.get_metrics(range_name))
        add_never_cache_headers(response)  # numbers change every second
        return response

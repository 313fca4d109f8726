"""DRF serializers: the JSON shapes of the API (README.md, "API"; docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from server_monitor.adapters.logs import tail
from server_monitor.adapters.logs.tail import DEFAULT_TAIL_LINES, MAX_QUERY_CHARS, MAX_TAIL_LINES
from server_monitor.models import RestartAction
from server_monitor.workflows import metrics, pending
from server_monitor.workflows.logs.sources import Tail
from server_monitor.workflows.restart import Outcome

# --- query parameters --------------------------------------------------------------------


class QueryParameters:
    """A query string read by a serializer's fields, built once, not once per request.

    A serializer made per request deep-copies every declared field before it reads one
    value; for the dashboard's polled reads that cost more than the answer to a small
    tail. The fields are bound once here and only read from (DRF's fields keep no state
    while they validate), so the rules, defaults and messages are the serializer's own,
    and the serializer still documents the parameters in the OpenAPI schema. The last of
    a repeated parameter counts, as DRF reads a QueryDict.
    """

    def __init__(self, serializer_class: type[serializers.Serializer]) -> None:
        self.fields = dict(serializer_class().fields)

    def validate(self, query: QueryDict) -> dict[str, Any]:
        """The validated values by name, or ValidationError({name: [message]})."""
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, field in self.fields.items():
            try:
                values[name] = field.run_validation(query.get(name, empty))
            except SkipField:  # absent, with no default
                continue
            except serializers.ValidationError as invalid:
                errors[name] = invalid.detail
        if errors:
            raise serializers.ValidationError(errors)
        return values


# --- services and restarts -------------------------------------------------------------


class ServiceStatusSerializer(serializers.Serializer):
    """One installed allowlisted unit, from `systemctl show` (adapters.systemd.ServiceStatus)."""

    name = serializers.CharField(help_text="The allowlisted name.")
    unit = serializers.CharField(help_text="systemd's Id for it (mysql answers as mariadb.service).")
    active = serializers.BooleanField(help_text="true exactly when systemd's ActiveState is active.")
    active_state = serializers.CharField(help_text="systemd's ActiveState: active, inactive, failed, activating, …")
    sub_state = serializers.CharField(help_text="systemd's SubState: running, dead, exited, failed, …")
    memory_bytes = serializers.IntegerField(allow_null=True, help_text="MemoryCurrent; null when systemd has none.")
    uptime_seconds = serializers.IntegerField(
        allow_null=True, help_text="Seconds since it became active; null unless active."
    )
    main_pid = serializers.IntegerField(allow_null=True, help_text="MainPID; null without a main process.")


if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser

    UserName = serializers.SlugRelatedField[AbstractUser]  # a user, shown by username


class RestartActionSerializer(serializers.ModelSerializer):
    """One row of the restart audit log."""

    requested_by: UserName = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by: UserName = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    rejected_by: UserName = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    message = serializers.SerializerMethodField(
        help_text="The outcome in words, as the restart's answer words it once the row ends "
        '("Service nginx restarted", or what failed and the lines of its journal that say why).'
    )

    expires_at = serializers.SerializerMethodField(
        help_text="While the request waits for approval: when it expires (WPDASH_RESTART_APPROVAL_MINUTES after "
        "it was made; an expired request never runs and its status becomes `expired`). Otherwise null."
    )

    def get_message(self, action: RestartAction) -> str:
        return Outcome.of(action).message

    def get_expires_at(self, action: RestartAction) -> datetime | None:
        awaiting = action.status == RestartAction.Status.PENDING and action.runner_pid is None
        return pending.expires_at(action) if awaiting else None

    class Meta:
        model = RestartAction
        fields = [
            "id",
            "service",
            "unit",
            "command",
            "status",
            "requested_by",
            "requested_at",
            "client_address",
            "approved_by",
            "approved_at",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "withdrawn_at",
            "expires_at",
            "started_at",
            "finished_at",
            "exit_code",
            "output",
            "journal",
            "note",
            "state_before",
            "main_pid_before",
            "state_after",
            "main_pid_after",
            "message",
        ]
        read_only_fields = fields


class RestartOutcomeSerializer(RestartActionSerializer):
    """The answer to restart, approve and reject: the services plan's {success, message}
    on top of the audit row (documents the shape; views.outcome_response builds it)."""

    success = serializers.BooleanField(
        help_text="true when it went through (restarted, queued for approval, running in the background, "
        "rejected); false when it failed."
    )
    # Documents the answer's words; views.outcome_response puts the Outcome's own there.
    message = serializers.SerializerMethodField(
        help_text='The outcome in words, e.g. "Service nginx restarted"; for a restart running in the '
        "background, that it runs and where its outcome will be."
    )
    detail = serializers.CharField(required=False, help_text="On a 503 only: what failed (the same as message).")
    recorded = serializers.BooleanField(
        help_text="false when the outcome is not in the audit yet (the database failed): it is written, and the "
        "unit's lock released, as soon as the database answers; status and the row's fields are the outcome as judged."
    )

    class Meta(RestartActionSerializer.Meta):
        fields = [
            "success",
            "message",
            "recorded",
            "detail",
            *(field for field in RestartActionSerializer.Meta.fields if field != "message"),
        ]
        read_only_fields = fields


class RestartUnavailableSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="false")
    message = serializers.CharField()
    detail = serializers.CharField()


class RestartRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API: {"detail": "in words"}."""

    detail = serializers.CharField()


class RestartConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    existing_action_id = serializers.IntegerField(
        allow_null=True, help_text="The pending or running restart of that unit (null if it ended meanwhile)."
    )


# --- logs ------------------------------------------------------------------------------


class LogSourceSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The log type, as used in the URLs below.")
    path = serializers.CharField(help_text="Where the log is read from (configured by WPDASH_LOGS).")
    exists = serializers.BooleanField(allow_null=True, help_text="null when a folder on the way is closed to us.")
    readable = serializers.BooleanField()
    size = serializers.IntegerField(allow_null=True, help_text="Bytes.")
    modified = serializers.DateTimeField(allow_null=True)
    available = serializers.BooleanField(help_text="exists and readable.")
    reason = serializers.CharField(allow_null=True, help_text="Why it is not available, and what to do.")


class SearchTermField(serializers.CharField):
    """`q`, checked by tail.parse_query before DRF's own checks, so the REST answer and
    the live tail's {"error"} say the same words."""

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str):
            try:
                tail.parse_query(data)
            except ValueError as error:
                raise serializers.ValidationError(str(error)) from None
        return super().run_validation(data)


class LogTailQuerySerializer(serializers.Serializer):
    lines = serializers.IntegerField(
        min_value=1,
        max_value=MAX_TAIL_LINES,
        default=DEFAULT_TAIL_LINES,
        help_text=f"How many of the last lines, 1..{MAX_TAIL_LINES}.",
    )
    q = SearchTermField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_QUERY_CHARS,
        help_text="Only lines that contain this text, ignoring case (a plain substring, not a pattern); "
        "`lines` is then how many of the last matches. Empty: no filter. At most "
        f"{MAX_QUERY_CHARS} characters, no NUL and no line break. The file is read backwards for at most "
        "WPDASH_LOG_SEARCH_BYTES (default 256 MiB); the answer adds `scanned_bytes` and `reached_start`.",
    )


class LogTailSerializer(serializers.Serializer):
    log_type = serializers.CharField()
    lines = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="Oldest first; UTF-8 with replacement characters; a line over 16 KiB is cut and marked.",
    )
    timestamp = serializers.IntegerField(help_text="When the lines were read: Unix time in whole seconds (UTC).")
    available = serializers.BooleanField(help_text="false when the log is missing or unreadable (lines is then empty).")
    reason = serializers.CharField(allow_null=True)
    # Only in the answer to a search (?q=), so a plain tail answers exactly as before.
    scanned_bytes = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="With q only: bytes read backwards from the end of the file, at most WPDASH_LOG_SEARCH_BYTES.",
    )
    reached_start = serializers.BooleanField(
        required=False,
        help_text="With q only: true when the search read the whole file. false with fewer matches than "
        "`lines` means older matches may lie beyond the budget.",
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name in ("scanned_bytes", "reached_start"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


def tail_answer(found: Tail) -> dict[str, Any]:
    """LogTailSerializer's JSON, built directly: DRF's field-by-field copy of up to 500
    lines cost more than reading them (tests/api check the two never differ)."""
    data: dict[str, Any] = {
        "log_type": found.log_type,
        "lines": found.lines,
        "timestamp": found.timestamp,
        "available": found.available,
        "reason": found.reason,
    }
    if found.scanned_bytes is not None:
        data["scanned_bytes"] = found.scanned_bytes
    if found.reached_start is not None:
        data["reached_start"] = found.reached_start
    return data


# --- metrics -------------------------------------------------------------------------
# The metrics adapter builds the response dict itself; these serializers validate the
# query and document the shape in the OpenAPI schema.


def _one_of(choices: list[str]) -> str:
    """ "5m, 1h or 24h": the allowed values, as a person would list them."""
    return f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]


class MetricsQuerySerializer(serializers.Serializer):
    range = serializers.ChoiceField(
        choices=list(metrics.RANGES),
        default=metrics.DEFAULT_RANGE,
        error_messages={"invalid_choice": '"{input}" is not a range: use ' + _one_of(list(metrics.RANGES)) + "."},
        help_text="Window: 5m and 1h give 60 points (5 s and 1 min each), 24h gives 144 (10 min each).",
    )


class MetricPointSerializer(serializers.Serializer):
    timestamp = serializers.IntegerField(
        help_text="Unix time in seconds (UTC): the end of the interval this point averages."
    )
    value = serializers.FloatField(allow_null=True, help_text="null where the source has no data (not zero).")


class MetricSeriesSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Display name, e.g. CPU or Network in.")
    current = serializers.FloatField(
        allow_null=True,
        help_text="The newest value, the same for every range (it comes from the 5m window); null if none.",
    )
    average = serializers.FloatField(allow_null=True, help_text="The mean of this window's values; null if none.")
    unit = serializers.CharField(help_text="%, KiB/s or kbit/s.")
    points = MetricPointSerializer(many=True, help_text="Oldest first.")


@extend_schema_serializer(many=False)  # a single object, although the view's action is `list`
class MetricsSerializer(serializers.Serializer):
    # The contract names this field "source", which is also a Field attribute in DRF's stubs.
    source = serializers.ChoiceField(choices=list(metrics.SOURCES), help_text="Which source answered.")  # type: ignore[assignment]
    range = serializers.ChoiceField(choices=list(metrics.RANGES))
    cpu = MetricSeriesSerializer(help_text="Busy CPU, % (100 - idle; iowait counts as busy).")
    ram = MetricSeriesSerializer(help_text="Used RAM / total, % (buffers and page cache are not used).")
    disk = MetricSeriesSerializer(help_text="Root file system used / (used + available), %.")
    disk_io = MetricSeriesSerializer(help_text="Disk read + write, KiB/s.")
    network_in = MetricSeriesSerializer(help_text="Received on physical interfaces, kbit/s.")
    network_out = MetricSeriesSerializer(help_text="Sent on physical interfaces, kbit/s.")
    filled_from_local = serializers.IntegerField(
        min_value=0,
        help_text="Points of this window that Netdata had no data for (it was away, or came back without its "
        "history) and that come from this server's own sampling instead (auto mode); the most of any series. "
        "0 when there are none, and always 0 when `source` is local.",
    )


class MetricsRangeErrorSerializer(serializers.Serializer):
    range = serializers.ListField(child=serializers.CharField())

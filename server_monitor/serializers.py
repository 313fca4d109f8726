"""API serializers: request validation and the documented response shapes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from server_monitor import metrics

# --- metrics -------------------------------------------------------------------------
# The metrics adapter builds the response dict itself; these serializers validate the
# query and document the shape in the OpenAPI schema.


class MetricsQuerySerializer(serializers.Serializer):
    range = serializers.ChoiceField(
        choices=list(metrics.RANGES),
        default=metrics.DEFAULT_RANGE,
        help_text="Window: 5m and 1h give 60 points (5 s and 1 min each), 24h gives 144 (10 min each).",
    )


class MetricPointSerializer(serializers.Serializer):
    timestamp = serializers.IntegerField(
        help_text="Unix time in seconds (UTC): the end of the interval this point averages."
    )
    value = serializers.FloatField(allow_null=True, help_text="null where the source has no data (not zero).")


class MetricSeriesSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Display name, e.g. CPU or Network in.")
    current = serializers.FloatField(allow_null=True, help_text="The newest non-null value; null if none.")
    unit = serializers.CharField(help_text="%, KiB/s or kbit/s.")
    points = MetricPointSerializer(many=True, help_text="Oldest first.")


@extend_schema_serializer(many=False)  # a single object, although the view's action is `list`
class MetricsSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=list(metrics.SOURCES), help_text="Which source answered.")
    range = serializers.ChoiceField(choices=list(metrics.RANGES))
    cpu = MetricSeriesSerializer(help_text="Busy CPU, % (100 - idle; iowait counts as busy).")
    ram = MetricSeriesSerializer(help_text="Used RAM / total, % (buffers and page cache are not used).")
    disk = MetricSeriesSerializer(help_text="Root file system used / (used + available), %.")
    disk_io = MetricSeriesSerializer(help_text="Disk read + write, KiB/s.")
    network_in = MetricSeriesSerializer(help_text="Received on physical interfaces, kbit/s.")
    network_out = MetricSeriesSerializer(help_text="Sent on physical interfaces, kbit/s.")


class MetricsRangeErrorSerializer(serializers.Serializer):
    range = serializers.ListField(child=serializers.CharField())


class MetricsUnavailableSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why the metrics source could not answer.")

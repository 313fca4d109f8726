"""DRF serializers: the API's shapes, one block per resource."""

from __future__ import annotations

from rest_framework import serializers

from server_monitor.logs import MAX_TAIL_LINES

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


class LogTailQuerySerializer(serializers.Serializer):
    lines = serializers.IntegerField(
        min_value=1, max_value=MAX_TAIL_LINES, default=50, help_text=f"How many of the last lines, 1..{MAX_TAIL_LINES}."
    )


class LogTailSerializer(serializers.Serializer):
    log_type = serializers.CharField()
    lines = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="Oldest first; UTF-8 with replacement characters; a line over 16 KiB is cut and marked.",
    )
    timestamp = serializers.DateTimeField(help_text="When the lines were read.")
    available = serializers.BooleanField(help_text="false when the log is missing or unreadable (lines is then empty).")
    reason = serializers.CharField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()

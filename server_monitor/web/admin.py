"""The restart audit and the alerts in the Django admin: read-only, searchable, with actions.

Nobody adds, edits or deletes a row here (the model has no such permissions at
all). Approve and reject go through workflows.restart, exactly as the API's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from server_monitor.errors import DomainError
from server_monitor.models import Alert, AlertMessage, AlertSilence, RestartAction
from server_monitor.templatetags.dashboard import tone
from server_monitor.web.client import came_through_proxy, client_address
from server_monitor.web.errors import admin_message
from server_monitor.workflows import restart
from server_monitor.workflows.alerts import silences
from server_monitor.workflows.alerts.messages import evidence_text
from server_monitor.workflows.restart import Outcome


@admin.register(RestartAction)
class RestartActionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "requested_at",
        "service",
        "status_badge",
        "requested_by",
        "client_address",
        "approved_by",
        "finished_at",
        "exit_code",
    )
    list_display_links = ("id", "requested_at")
    # A date filter, not date_hierarchy: the hierarchy groups by day in SQL with CONVERT_TZ, which
    # MariaDB answers with NULL unless its time zone tables are loaded (Debian does not load them),
    # and the audit log's list then fails with a 500 whenever WPDASH_TIME_ZONE is not UTC.
    list_filter = ("requested_at", "status", "service", "requested_by")
    search_fields = ("service", "unit", "requested_by__username", "client_address", "note", "output", "journal")
    list_select_related = ("requested_by", "approved_by")
    actions = ["approve_selected", "reject_selected"]
    fieldsets = (
        (None, {"fields": ("service", "unit", "command", "status_badge", "note")}),
        ("Request", {"fields": ("requested_by", "requested_at", "client_address")}),
        ("Approval", {"fields": ("approved_by", "approved_at", "rejected_by", "rejected_at", "rejection_reason")}),
        (
            "Run",
            {
                "fields": (
                    "started_at",
                    "finished_at",
                    "exit_code",
                    "state_before",
                    "main_pid_before",
                    "state_after",
                    "main_pid_after",
                    "output",
                    "journal",
                )
            },
        ),
    )
    readonly_fields = [field for fieldset in fieldsets for field in fieldset[1]["fields"] if isinstance(field, str)]

    @admin.display(description="status", ordering="status")
    def status_badge(self, action: RestartAction) -> str:
        # The word is always there: colour alone would not say it.
        return format_html(
            '<span class="wpdash-badge wpdash-badge--{}">{}</span>', tone(action.status), action.get_status_display()
        )

    # --- an audit: nothing is added, changed or deleted here -------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RestartAction | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RestartAction | None = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return restart.may_approve(request.user)

    # --- approval, through the API's code path --------------------------------------
    @admin.action(description="Approve and run the selected pending restarts", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[RestartAction]) -> None:
        address, via_proxy = client_address(request), came_through_proxy(request)
        self._each(request, queryset, lambda action: restart.approve(action.pk, request.user, address, via_proxy))

    @admin.action(description="Reject the selected pending restarts", permissions=["approve"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[RestartAction]) -> None:
        reason = f"rejected in the admin by {request.user.get_username()}"
        address = client_address(request)
        self._each(request, queryset, lambda action: restart.reject(action.pk, request.user, address, reason))

    def _each(
        self, request: HttpRequest, queryset: QuerySet[RestartAction], step: Callable[[RestartAction], Outcome]
    ) -> None:
        for action in queryset.order_by("pk"):
            try:
                outcome = step(action)
            except DomainError as error:
                self.message_user(request, admin_message(error, action.pk, action.service), messages.ERROR)
                continue
            done = outcome.action
            if not outcome.finished:  # the proxy in front restarts in the background: say where to look
                self.message_user(request, f"Restart #{done.pk} ({done.service}): {outcome.message}.", messages.INFO)
                continue
            level = messages.SUCCESS if done.status in {"succeeded", "rejected"} else messages.WARNING
            self.message_user(request, f"Restart #{done.pk} ({done.service}): {done.get_status_display()}.", level)


# --- alerts: episodes and their messages read-only; silences made through the workflow ----


class AlertMessageInline(admin.TabularInline):
    model = AlertMessage
    fields = ("event", "channel", "target", "created_at", "attempts", "sent_at", "last_error", "next_attempt_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("id", "started_at", "rule", "subject", "severity_badge", "state", "resolved_at", "summary")
    list_display_links = ("id", "started_at")
    list_filter = ("started_at", "state", "severity", "rule")  # not date_hierarchy: see RestartActionAdmin
    search_fields = ("rule", "subject", "summary")
    fields = ("rule", "subject", "severity", "state", "started_at", "resolved_at", "summary", "evidence_text")
    readonly_fields = fields
    inlines = [AlertMessageInline]

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, alert: Alert) -> str:
        tone_name = "failed" if alert.severity == Alert.Severity.CRITICAL else "pending"
        return format_html('<span class="wpdash-badge wpdash-badge--{}">{}</span>', tone(tone_name), alert.severity)

    @admin.display(description="evidence")
    def evidence_text(self, alert: Alert) -> str:
        return format_html('<pre class="mono">{}</pre>', evidence_text(alert.evidence))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False


class SilenceForm(forms.ModelForm):
    class Meta:
        model = AlertSilence
        fields = ("rule", "subject", "until", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("rule") or "").strip() and not (data.get("subject") or "").strip():
            raise forms.ValidationError("Name a rule, a subject, or both: a silence of everything is not allowed.")
        return data


@admin.register(AlertSilence)
class AlertSilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = ("id", "rule", "subject", "until", "created_by", "created_at", "ended_by", "ended_at", "reason")
    list_filter = ("rule",)
    search_fields = ("rule", "subject", "reason", "created_by__username")
    actions = ["end_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return silences.may_silence(request.user)

    def has_change_permission(self, request: HttpRequest, obj: AlertSilence | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AlertSilence | None = None) -> bool:
        return False

    def has_silence_permission(self, request: HttpRequest) -> bool:
        return silences.may_silence(request.user)

    def save_model(self, request: HttpRequest, obj: AlertSilence, form: Any, change: bool) -> None:
        """Made by the workflow (who and when recorded, the rules checked), never saved as the form has it."""
        try:
            made = silences.silence(request.user, obj.rule, obj.subject, obj.until, obj.reason)
        except (ValueError, DomainError) as error:
            detail = error.detail if isinstance(error, DomainError) else str(error)
            raise PermissionDenied(detail) from None
        obj.pk, obj.created_by, obj.created_at = made.pk, made.created_by, made.created_at

    @admin.action(description="End the selected silences now", permissions=["silence"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[AlertSilence]) -> None:
        for row in queryset.order_by("pk"):
            try:
                silences.end(request.user, row.pk)
            except DomainError as error:
                self.message_user(request, f"Silence #{row.pk}: {error.detail}", messages.ERROR)
        self.message_user(request, "The selected silences have ended.", messages.SUCCESS)

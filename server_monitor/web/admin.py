"""The restart audit in the Django admin: read-only, searchable, with approve/reject actions.

Nobody adds, edits or deletes a row here (the model has no such permissions at
all). Approve and reject go through workflows.restart, exactly as the API's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from server_monitor.errors import DomainError
from server_monitor.models import RestartAction
from server_monitor.templatetags.dashboard import tone
from server_monitor.web.client import came_through_proxy, client_address
from server_monitor.web.errors import admin_message
from server_monitor.workflows import restart
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
    list_filter = ("status", "service", "requested_by")
    search_fields = ("service", "unit", "requested_by__username", "client_address", "note", "output", "journal")
    date_hierarchy = "requested_at"
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

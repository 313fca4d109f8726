"""The server-rendered status page and the fragments its script refreshes.

Everything here works without JavaScript: the range switch is a link, a restart is
a form with a confirmation page. The script (static/server_monitor/status.js) only
swaps in the same fragments and adds the live log tail.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from server_monitor.adapters import systemd
from server_monitor.adapters.logs import tail
from server_monitor.errors import DomainError
from server_monitor.models import Alert, AlertMessage, RestartAction
from server_monitor.web.client import came_through_proxy, client_address
from server_monitor.web.errors import answer_for, restart_page_message
from server_monitor.web.pages.approvals import approvals_context
from server_monitor.web.pages.sites import sites_context
from server_monitor.workflows import doctor, metrics, restart
from server_monitor.workflows.alerts import disk_trend
from server_monitor.workflows.logs import sources

RECENT_RESTARTS = 10
SHOWN_ALERTS = 20
PAGE_TAIL_LINES = 50

# Metrics and service status come from different outside systems: fetch them side
# by side so the page costs the slower of the two, not their sum.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wpdash-page")


def _range(request: HttpRequest) -> str:
    wanted = request.GET.get("range", metrics.DEFAULT_RANGE)
    return wanted if wanted in metrics.RANGES else metrics.DEFAULT_RANGE


def metrics_context(range_name: str) -> dict[str, Any]:
    ranges = list(metrics.RANGES)
    try:
        data = metrics.get_metrics(range_name)
    except DomainError as error:
        return {"range": range_name, "ranges": ranges, "metrics_error": error.detail, "cards": []}
    cards = [{"key": key, **data[key], "ceiling": 100 if data[key]["unit"] == "%" else None} for key in metrics.SERIES]
    return {
        "range": range_name,
        "ranges": ranges,
        "source": data["source"],
        # Auto mode answers locally only while Netdata does not: a change of source the
        # page says in a banner, not only in the small "Source:" line.
        "netdata_down": data["source"] == "local" and metrics.configured_source() == "auto",
        "filled_from_local": data.get("filled_from_local", 0),
        "cards": cards,
        "disk_forecast": disk_trend.current(),
    }


def services_context(can_restart: bool) -> dict[str, Any]:
    """Runs in a worker thread: it must not touch the database (the permission is
    looked up in the request's thread, whose connection Django closes)."""
    try:
        statuses = systemd.list_statuses()
    except DomainError as error:
        return {"services_error": error.detail, "services": []}
    return {"services": statuses, "can_restart": can_restart}


def alerts_context() -> dict[str, Any]:
    """The firing alerts, and the messages that could not be sent (the page says so)."""
    firing = list(Alert.objects.filter(state=Alert.State.FIRING)[:SHOWN_ALERTS])
    failing = AlertMessage.objects.filter(sent_at__isnull=True, attempts__gt=0).order_by("-last_error_at")[:10]
    return {"firing_alerts": firing, "failing_messages": list(failing)}


def restarts_context() -> dict[str, Any]:
    recent = RestartAction.objects.select_related("requested_by")[:RECENT_RESTARTS]
    return {"recent_restarts": list(recent)}


def logs_context(request: HttpRequest) -> dict[str, Any]:
    """The log panel: every configured source marked available or not, and the one
    shown: the one asked for, else the first that can be read (else the first).

    One asked for stays chosen when it cannot be read (its banner says why): a reload
    never swaps the log under the reader. One no longer configured is said (`log_missing`).
    """
    statuses = sources.all_statuses()
    names = [status.name for status in statuses]
    chosen = request.GET.get("log")
    missing = bool(chosen) and chosen not in names
    if chosen not in names:
        chosen = next((status.name for status in statuses if status.available), names[0] if names else None)
    query_error: str | None = None
    try:
        match = tail.parse_query(request.GET.get("q", ""))
    except ValueError as error:  # the page still shows the log, unfiltered, and says why
        match, query_error = None, str(error)
    shown = sources.get_source(chosen).tail(PAGE_TAIL_LINES, match) if chosen else None
    return {
        "log_sources": statuses,
        "log_chosen": chosen,
        "log_missing": missing,
        "log_tail": shown,
        "log_query": match.text if match else "",
        "log_query_error": query_error,
    }


@login_required
def status_page(request: HttpRequest) -> HttpResponse:
    range_name = _range(request)
    metrics_future = _executor.submit(metrics_context, range_name)
    services_future = _executor.submit(services_context, restart.may_restart(request.user))
    context = {
        # Admins see what is wrong with the set-up (sudo rules, log permissions, …).
        "setup_problems": doctor.cached_problems() if request.user.is_superuser else [],
        **alerts_context(),
        **approvals_context(request),
        **restarts_context(),
        **logs_context(request),
        **sites_context(range_name),
        **metrics_future.result(),
        **services_future.result(),
    }
    return render(request, "server_monitor/status.html", context)


@login_required
def metrics_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/fragments/metrics.html", metrics_context(_range(request)))


@login_required
def services_fragment(request: HttpRequest) -> HttpResponse:
    context = services_context(restart.may_restart(request.user))
    return render(request, "server_monitor/fragments/services.html", context)


@login_required
def alerts_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/fragments/alerts.html", alerts_context())


@login_required
def restarts_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/fragments/restarts.html", restarts_context())


@require_http_methods(["GET", "POST"])
def restart_form(request: HttpRequest, name: str) -> HttpResponse:
    """The no-JavaScript restart: GET asks for confirmation, POST runs it.

    Not @login_required: an anonymous POST is a restart attempt and is logged by the
    workflow like the API's; an anonymous look at the confirmation is not.
    """
    actor, address = request.user, client_address(request)
    if request.method == "GET" and not actor.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        if request.method == "GET":
            checked = restart.check_restart(name, actor, address)
            return render(request, "server_monitor/restart_confirm.html", {"service": checked})
        outcome = restart.request_restart(name, actor, address, via_proxy=came_through_proxy(request))
    except DomainError as error:
        return _refused(request, error, name)
    # Awaiting approval, or restarting the proxy in the background: the outcome is still to come.
    level = messages.SUCCESS if outcome.success and outcome.finished else messages.INFO
    if outcome.success and not outcome.recorded:
        level = messages.WARNING  # restarted, but the audit does not say so yet
    messages.add_message(
        request, level if outcome.success else messages.ERROR, f"{outcome.message} (audit #{outcome.action.pk})."
    )
    return redirect("status")


def _refused(request: HttpRequest, error: DomainError, name: str) -> HttpResponse:
    page = answer_for(error).page
    if page == "sign-in":
        return redirect_to_login(request.get_full_path())
    if page == "403":
        raise PermissionDenied(error.detail)
    if page == "404":
        raise Http404("No such service.")
    messages.add_message(
        request, messages.WARNING if page == "warning" else messages.ERROR, restart_page_message(error, name)
    )
    return redirect("status")

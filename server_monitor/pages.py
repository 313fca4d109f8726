"""The server-rendered status page and the fragments its script refreshes.

Everything here works without JavaScript: the range switch is a link, a restart is
a form with a confirmation page. The script (static/server_monitor/status.js) only
swaps in the same fragments and adds the live log tail.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from server_monitor import doctor, logs, metrics, restarts, services
from server_monitor.exceptions import AdapterError
from server_monitor.metrics.shape import DEFAULT_RANGE, RANGES, SERIES
from server_monitor.models import RestartAction

logger = logging.getLogger(__name__)

RECENT_RESTARTS = 10
PAGE_TAIL_LINES = 50
RESTART_PERMISSION = "server_monitor.restart_service"

# Metrics and service status come from different outside systems: fetch them side
# by side so the page costs the slower of the two, not their sum.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wpdash-page")


def _range(request: HttpRequest) -> str:
    wanted = request.GET.get("range", DEFAULT_RANGE)
    return wanted if wanted in RANGES else DEFAULT_RANGE


def metrics_context(range_name: str) -> dict[str, Any]:
    try:
        data = metrics.get_metrics(range_name)
    except AdapterError as error:
        return {"range": range_name, "ranges": list(RANGES), "metrics_error": error.detail, "cards": []}
    cards = [{"key": key, **data[key], "ceiling": 100 if data[key]["unit"] == "%" else None} for key in SERIES]
    return {"range": range_name, "ranges": list(RANGES), "source": data["source"], "cards": cards}


def services_context(can_restart: bool) -> dict[str, Any]:
    """Runs in a worker thread: it must not touch the database (the permission is
    looked up in the request's thread, whose connection Django closes)."""
    try:
        statuses = [status for status in services.list_statuses() if status.installed]
    except AdapterError as error:
        return {"services_error": error.detail, "services": []}
    return {"services": statuses, "can_restart": can_restart}


def restarts_context() -> dict[str, Any]:
    recent = RestartAction.objects.select_related("requested_by")[:RECENT_RESTARTS]
    return {"recent_restarts": list(recent)}


def logs_context(request: HttpRequest) -> dict[str, Any]:
    sources = logs.configured_sources()
    names = [source.name for source in sources]
    chosen = request.GET.get("log")
    chosen = chosen if chosen in names else (names[0] if names else None)
    tail = logs.tail(logs.get_source(chosen), PAGE_TAIL_LINES) if chosen else None
    return {"log_names": names, "log_chosen": chosen, "log_tail": tail}


@login_required
def status_page(request: HttpRequest) -> HttpResponse:
    range_name = _range(request)
    metrics_future = _executor.submit(metrics_context, range_name)
    services_future = _executor.submit(services_context, request.user.has_perm(RESTART_PERMISSION))
    context = {
        # Admins see what is wrong with the set-up (sudo rules, log permissions, …).
        "setup_problems": doctor.cached_problems() if request.user.is_superuser else [],
        **restarts_context(),
        **logs_context(request),
        **metrics_future.result(),
        **services_future.result(),
    }
    return render(request, "server_monitor/status.html", context)


@login_required
def metrics_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/snippets/metrics.html", metrics_context(_range(request)))


@login_required
def services_fragment(request: HttpRequest) -> HttpResponse:
    context = services_context(request.user.has_perm(RESTART_PERMISSION))
    return render(request, "server_monitor/snippets/services.html", context)


@login_required
def restarts_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/snippets/restarts.html", restarts_context())


@require_http_methods(["GET", "POST"])
def restart_form(request: HttpRequest, name: str) -> HttpResponse:
    """The no-JavaScript restart: GET asks for confirmation, POST runs it."""
    if not request.user.is_authenticated:
        # Not @login_required: an anonymous restart attempt belongs in the log like
        # the API's 401s (a session that expired, or someone probing).
        if request.method == "POST":
            restarts.log_refusal("not signed in", name, request.user, request.META.get("REMOTE_ADDR"))
        return redirect_to_login(request.get_full_path())
    if not request.user.has_perm(RESTART_PERMISSION):
        restarts.log_refusal("no restart permission", name, request.user, request.META.get("REMOTE_ADDR"))
        raise PermissionDenied("You may not restart services.")
    try:
        services.check_name(name)
    except AdapterError:
        restarts.log_refusal("not allowlisted", name, request.user, request.META.get("REMOTE_ADDR"))
        raise Http404("No such service.") from None
    if request.method == "GET":
        return render(request, "server_monitor/restart_confirm.html", {"service": name})
    try:
        action = restarts.request_restart(name, request.user, request.META.get("REMOTE_ADDR"))
    except restarts.RestartConflict as conflict:
        messages.warning(request, f"{conflict.detail} (audit #{conflict.existing_action_id}).")
        return redirect("status")
    except AdapterError as error:
        messages.error(request, f"Restart of {name} refused: {error.detail}")
        return redirect("status")
    success, message = restarts.describe(action)
    level = messages.ERROR if not success else messages.INFO if action.status == "pending" else messages.SUCCESS
    messages.add_message(request, level, f"{message} (audit #{action.pk}).")
    return redirect("status")

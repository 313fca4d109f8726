"""The status page's "Waiting for approval": its refreshed fragment and its plain forms.

Without JavaScript each button is a form POSTed here (CSRF-checked), answered with a
redirect back to the page and a message; with JavaScript
(static/server_monitor/js/approvals.js) the same buttons call the API after a
confirmation dialog. Who may do what, expiry and every transition are the restart
workflow's (workflows.restart, workflows.pending); these views only present.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from server_monitor.errors import DomainError
from server_monitor.web.client import came_through_proxy, client_address
from server_monitor.web.errors import answer_for
from server_monitor.workflows import restart
from server_monitor.workflows.restart import Outcome

REASON_CHARACTERS = 1000  # as the API's RestartRejectSerializer


def approvals_context(request: HttpRequest) -> dict[str, Any]:
    awaiting, recent = restart.waiting_for(request.user)
    return {
        "approvals_awaiting": awaiting,
        "approvals_recent": recent,
        # Without approval mode (and nothing left from it) the page neither shows nor refreshes it.
        "approvals_shown": settings.WPDASH_RESTART_APPROVAL or bool(awaiting or recent),
    }


@login_required
def approvals_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "server_monitor/fragments/approvals.html", approvals_context(request))


def _told(request: HttpRequest, outcome: Outcome) -> HttpResponse:
    level = messages.SUCCESS if outcome.success and outcome.finished else messages.INFO
    messages.add_message(
        request, level if outcome.success else messages.ERROR, f"{outcome.message} (audit #{outcome.action.pk})."
    )
    return redirect("status")


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    page = answer_for(error).page
    if page == "sign-in":
        return redirect_to_login(reverse("status"))  # back to the page: this address takes POSTs only
    if page == "403":
        raise PermissionDenied(error.detail)
    messages.add_message(request, messages.WARNING if page == "warning" else messages.ERROR, error.detail)
    return redirect("status")


# Not @login_required, as the restart form: an anonymous POST is an attempt the
# workflow logs; it is then sent to sign in.


@require_POST
def approve_form(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        outcome = restart.approve(pk, request.user, client_address(request), via_proxy=came_through_proxy(request))
    except DomainError as error:
        return _refused(request, error)
    return _told(request, outcome)


@require_POST
def reject_form(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "").strip()[:REASON_CHARACTERS]
    try:
        outcome = restart.reject(pk, request.user, client_address(request), reason)
    except DomainError as error:
        return _refused(request, error)
    return _told(request, outcome)


@require_POST
def withdraw_form(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        outcome = restart.withdraw(pk, request.user, client_address(request))
    except DomainError as error:
        return _refused(request, error)
    return _told(request, outcome)

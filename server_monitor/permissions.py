"""DRF permissions mapped onto the Django permissions of RestartAction.

Viewing needs only an active signed-in user (the default IsAuthenticated); acting
needs `server_monitor.restart_service` or `server_monitor.approve_restart`.
Superusers hold every permission; inactive users hold none.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

RESTART = "server_monitor.restart_service"
APPROVE = "server_monitor.approve_restart"


class CanRestartServices(BasePermission):
    message = "You do not have the permission to restart services."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm(RESTART))


class CanApproveRestarts(BasePermission):
    message = "You do not have the permission to approve or reject restarts."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm(APPROVE))

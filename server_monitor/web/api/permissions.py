"""DRF permissions of the API.

Viewing needs only an active signed-in user (the default IsAuthenticated). Restart,
approve and reject are checked by the restart workflow itself (sign-in, the
Django permissions, the allowlist), so that the API, the page and the admin refuse
alike and a refusal is logged once; DRF lets those requests through to it.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class CheckedByTheWorkflow(BasePermission):
    """Lets the request reach the view, whose workflow decides (and logs a refusal)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return True

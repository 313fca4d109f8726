"""The JWT token endpoint, aware of the brute-force lockout.

Django's authenticate() swallows the lockout raised by django-axes and simplejwt
then answers a plain 401, so a locked-out client could not tell it is locked out.
axes marks the request instead; this view turns that mark into a 429 with a reason.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenObtainPairView


class LockedOut(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class LockoutAwareTokenObtainPairView(TokenObtainPairView):
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            if getattr(request, "axes_locked_out", False):
                minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
                raise LockedOut(
                    f"Too many failed sign-in attempts for this user from this address. Try again in {minutes} minutes."
                ) from None
            raise

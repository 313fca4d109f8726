"""The JWT token endpoint, aware of the brute-force lockout.

Django's authenticate() swallows the lockout raised by django-axes and simplejwt
then answers a plain 401, so a locked-out client could not tell it is locked out.
axes marks the request instead; this view turns that mark into a 429 with a reason.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView


class LockedOut(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class BoundedTokenObtainPairSerializer(TokenObtainPairSerializer):
    """The username is refused (400) past the user model's own length.

    authenticate() hands a failed sign-in's username to django-axes, which stores it
    in a 255-character column: on MariaDB a longer one was a DataError, a 500 (found
    by fuzzing the token endpoint). The login form already bounds it the same way.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = get_user_model()._meta.get_field(self.username_field).max_length
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=limit)


class LockoutAwareTokenObtainPairView(TokenObtainPairView):
    serializer_class = BoundedTokenObtainPairSerializer

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

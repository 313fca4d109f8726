"""Sign-in for API clients: the JWT pair endpoint, the OAuth2 password grant (both aware of
the lockout), and the refresh that ends with the account.

Django's authenticate() swallows the lockout raised by django-axes and simplejwt
then answers a plain 401, so a locked-out client could not tell it is locked out.
axes marks the request instead; this view turns that mark into a 429 with a reason.

Every token they make carries the account claim of server_monitor.web.authentication,
and a refresh asks the database whether the account still matches it: a refresh token
issued before a password change, a deactivation or a deletion is refused (401).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from server_monitor.web.authentication import AccountRefreshToken, current_account
from server_monitor.workflows.restart import may_approve, may_restart

DJANGO_USERNAME_MAX_LENGTH = 150  # django.contrib.auth.models.User.username


class LockedOut(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class BoundedTokenObtainPairSerializer(TokenObtainPairSerializer):
    """The username is refused (400) past the user model's own length.

    authenticate() hands a failed sign-in's username to django-axes, which stores it
    in a 255-character column: on MariaDB a longer one was a DataError, a 500 (found
    by fuzzing the token endpoint). The login form already bounds it the same way.
    Its tokens carry the account claim (AccountRefreshToken), so the OAuth2 grant's do too.
    """

    token_class = AccountRefreshToken

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = get_user_model()._meta.get_field(self.username_field)
        limit: int = getattr(field, "max_length", None) or DJANGO_USERNAME_MAX_LENGTH
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


class AccountTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, with the account asked first (server_monitor.web.authentication).

    simplejwt's own looked the user up with objects.get, so a deleted user's refresh
    was a 500; and it never compared anything that a password change alters. Here a
    user gone, inactive or changed since the token was made is a 401 that says which.
    wpdash does not rotate refresh tokens (ROTATE_REFRESH_TOKENS is off): a refresh
    answers a new access token only.
    """

    token_class = AccountRefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])  # signature, expiry, type: TokenError, 401
        current_account(refresh)
        return {"access": str(refresh.access_token)}


class AccountTokenRefreshView(TokenRefreshView):
    """POST /api/v1/auth/token/refresh: {"refresh"} -> {"access"}, while the account is unchanged."""

    serializer_class = AccountTokenRefreshSerializer


# --- the OAuth2 password grant of the specification's world ---------------------------


class PasswordGrantSerializer(BoundedTokenObtainPairSerializer):
    """OAuth2's password grant (RFC 6749 §4.3), as FastAPI's OAuth2PasswordRequestForm
    takes it: form fields (or JSON) username and password, grant_type optional."""

    grant_type = serializers.ChoiceField(choices=["password"], required=False, write_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.pop("grant_type", None)
        pair = super().validate(attrs)  # authenticate() with the lockout, last_login, active users only
        lifetime: timedelta = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
        return {"access_token": pair["access"], "token_type": "bearer", "expires_in": int(lifetime.total_seconds())}


class PasswordGrantAnswerSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="A JWT access token: send it as `Authorization: Bearer …`.")
    token_type = serializers.ChoiceField(choices=["bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds the access token is valid.")


class PasswordGrantLoginView(LockoutAwareTokenObtainPairView):
    """POST /api/v1/auth/login: {"access_token", "token_type": "bearer"}.

    The same sign-in as /api/v1/auth/token/ (lockout, 429 with a reason, logging),
    answered in the shape clients of the specification's documents expect.
    """

    serializer_class = PasswordGrantSerializer

    @extend_schema(
        summary="Sign in (OAuth2 password grant)",
        request=PasswordGrantSerializer,
        responses={200: PasswordGrantAnswerSerializer},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    can_restart = serializers.BooleanField(help_text="Holds server_monitor.restart_service.")
    can_approve = serializers.BooleanField(help_text="Holds server_monitor.approve_restart.")


class MeView(APIView):
    """GET /api/v1/auth/me: who the credentials belong to, and what they may do."""

    @extend_schema(summary="The signed-in user", responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "username": user.get_username(),
                "can_restart": may_restart(user),
                "can_approve": may_approve(user),
            }
        )

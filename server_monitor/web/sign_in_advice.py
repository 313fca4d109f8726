"""A refused API request says how to sign in right, in its top-level `detail`.

DRF and simplejwt answer 401 correctly but in words a person has to decode: a token
sent as `Authorization: Token …` is ignored, and the answer says that no credentials
were given; an expired token's "Token is expired" sits in a nested `messages` list
under "Given token not valid for any token type". Only `detail` changes here: the
status, `code`, `messages` and the WWW-Authenticate challenge stay as they were.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.exceptions import APIException, NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings

SCHEME_SHOWN = 20  # characters of a foreign scheme repeated in the answer
# simplejwt's words for ExpiredTokenError, which it raises only once the signature has
# held: a forged or altered token is "Token is invalid", never expired.
SIMPLEJWT_EXPIRED = "Token is expired"
EXPIRED = (
    "The access token has expired: get a new one with the refresh token "
    "(POST /api/v1/auth/token/refresh) or sign in again."
)


def advise(response: Response, exc: APIException, request: Request | None) -> None:
    """Reword `response`'s detail in place when the refusal has a plainer reason."""
    if request is None or response.status_code != 401 or not isinstance(response.data, dict):
        return
    scheme = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")[0]
    if isinstance(exc, NotAuthenticated) and scheme and scheme not in jwt_settings.AUTH_HEADER_TYPES:
        response.data["detail"] = (
            f"The Authorization scheme {scheme[:SCHEME_SHOWN]!r} is not accepted: the scheme is Bearer. "
            "Send 'Authorization: Bearer <access token>'."
        )
    elif isinstance(exc, InvalidToken) and _expired(response.data.get("messages")):
        response.data["detail"] = EXPIRED


def _expired(messages: Any) -> bool:
    """simplejwt tried each token class, and the access token's own answer is "expired"."""
    if not isinstance(messages, list):
        return False
    expired = gettext(SIMPLEJWT_EXPIRED)  # in the language simplejwt answered in
    return any(
        isinstance(message, dict) and message.get("token_type") == "access" and str(message.get("message")) == expired
        for message in messages
    )

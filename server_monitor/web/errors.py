"""The one table that turns a domain error into what each edge answers.

Adapters and workflows raise the plain errors of server_monitor.errors; the API,
the WebSocket consumers, the pages and the admin look the answer up here and never
translate an error themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler

from server_monitor.errors import Conflict, DomainError, NotAllowed, NotFound, NotPermitted, NotSignedIn, Unavailable
from server_monitor.web import sign_in_advice


@dataclass(frozen=True)
class Answer:
    http_status: int
    close_code: int  # a WebSocket refused for this reason is closed with it
    page: str  # what a page does: "sign-in", "403", "404", or a message level ("warning", "error")


# Most specific first: a subclass of a kind answers as that kind.
ANSWERS: tuple[tuple[type[DomainError], Answer], ...] = (
    (NotSignedIn, Answer(status.HTTP_401_UNAUTHORIZED, 4001, "sign-in")),
    (NotPermitted, Answer(status.HTTP_403_FORBIDDEN, 4003, "403")),
    (NotAllowed, Answer(status.HTTP_400_BAD_REQUEST, 4000, "404")),  # a page has no such thing to show
    (NotFound, Answer(status.HTTP_404_NOT_FOUND, 4004, "error")),
    (Conflict, Answer(status.HTTP_409_CONFLICT, 4009, "warning")),
    (Unavailable, Answer(status.HTTP_503_SERVICE_UNAVAILABLE, 1011, "error")),
)
FALLBACK = Answer(status.HTTP_503_SERVICE_UNAVAILABLE, 1011, "error")


def answer_for(error: DomainError) -> Answer:
    return next((answer for kind, answer in ANSWERS if isinstance(error, kind)), FALLBACK)


def payload(error: DomainError) -> dict[str, Any]:
    """The JSON body: {"detail"}, and a conflict's {"existing_action_id"} (the
    restart-action plan's DuplicateActionError)."""
    body: dict[str, Any] = {"detail": error.detail}
    if isinstance(error, Conflict):
        body["existing_action_id"] = error.existing_action_id
    return body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: domain errors by the table, the rest as DRF does."""
    if not isinstance(exc, DomainError):
        response = exception_handler(exc, context)
        if response is not None and isinstance(exc, APIException):
            sign_in_advice.advise(response, exc, context.get("request"))
        return response
    answer = answer_for(exc)
    response = Response(payload(exc), status=answer.http_status)
    if answer.http_status == status.HTTP_401_UNAUTHORIZED:
        view, request = context.get("view"), context.get("request")
        challenge = view.get_authenticate_header(request) if view is not None and request is not None else None
        if challenge:
            response["WWW-Authenticate"] = challenge  # as DRF's own 401s: how to sign in
    return response


def close_code(error: DomainError) -> int:
    return answer_for(error).close_code


def restart_page_message(error: DomainError, service: object) -> str:
    """A refused restart as the page's banner says it."""
    if isinstance(error, Conflict):
        return f"{error.detail} (audit #{error.existing_action_id})."
    return f"Restart of {service} refused: {error.detail}"


def admin_message(error: DomainError, action_id: object, service: str) -> str:
    return f"Restart #{action_id} ({service}): {error.detail}"

"""The one place where adapter errors become HTTP answers.

Adapters (services, logs, metrics) raise their own small error types carrying a
human-readable reason; this handler turns each into the status code the API
contract names, so views never translate errors themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class AdapterError(Exception):
    """Base for errors an adapter raises; `http_status` is the API's answer to it."""

    http_status: int = status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        """The JSON body of the answer; a subclass may add fields beside `detail`."""
        return {"detail": self.detail}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, AdapterError):
        return Response(exc.payload(), status=exc.http_status)

    return exception_handler(exc, context)

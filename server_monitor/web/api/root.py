"""GET /api/v1/: the API's front door, linking every resource (browsable in a browser)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# name in the answer -> URL name. Resources first, then signing in and the schema.
LINKS = {
    "services": "service-list",
    "restarts": "restart-list",
    "logs": "logs-list",
    "metrics": "metrics-list",
    "sites": "sites-list",
    "alerts": "alert-list",
    "silences": "silence-list",
    "me": "me",
    "login": "password_login",
    "token": "token_obtain_pair",
    "schema": "schema",
    "docs": "docs",
}


class ApiRootView(APIView):
    """wpdash's API. Every path works with or without a trailing slash; the live tail
    is a WebSocket at `/api/v1/server/logs/{name}/ws` (see the README, "API")."""

    name = "wpdash API"  # the page's title and first breadcrumb (DRF would say "Api Root")

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({name: reverse(url_name, request=request) for name, url_name in LINKS.items()})

"""Who is asking, as the audit and the logs record it."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR as an IP address (daphne --proxy-headers puts the real client
    there behind nginx; a client-supplied X-Forwarded-For is never read), or None
    for a unix socket peer or nothing."""
    address = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


# Headers a reverse proxy adds (deploy/nginx-wpdash.conf sets the first two); daphne
# --proxy-headers reads X-Forwarded-For but leaves every header in the request.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_VIA")


def came_through_proxy(request: HttpRequest) -> bool:
    """Whether a proxy stands between the client and us: what the restart workflow needs to
    know to keep a restart of that proxy from cutting this very request (workflows.detach).
    A client may send such a header itself; all it gains is a 202 instead of a 200."""
    return any(request.META.get(header) for header in FORWARDING_HEADERS)

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

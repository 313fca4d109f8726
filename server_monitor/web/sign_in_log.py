"""Every failed sign-in as one log line, for the operator and for fail2ban.

The login page, the admin's and the API's token endpoints (/api/v1/auth/token and the
OAuth2 password grant at /api/v1/auth/login) all sign in through authenticate(), which
sends `user_login_failed` when no backend accepts the credentials, django-axes' lockout
included. Each becomes one WARNING line on `server_monitor.signin`:

    failed sign-in from 203.0.113.7 on /accounts/login/ user='bob'

and a lockout by django-axes one more:

    sign-in lockout from 203.0.113.7 on /accounts/login/ user='bob': 5 failures, locked for 15 minutes

The address comes first, straight after fixed words, so fail2ban's filter
(deploy/fail2ban/filter.d/wpdash.conf) anchors on it and nothing a client types can
move it: the username comes last, cut to the user model's length and repr'd (no line
break, no quote of its own survives). The address is the one the audit records
(client_address: REMOTE_ADDR, which daphne --proxy-headers takes from nginx). The
password is never in the signal's credentials in clear, and never logged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest

from server_monitor.web.client import client_address

logger = logging.getLogger("server_monitor.signin")

USERNAME_SHOWN = 150  # django.contrib.auth's username length: longer ones are cut, and say so
PATH_SHOWN = 100


def _shown_username(value: object) -> str:
    if value is None:
        return "None"
    text = str(value)
    return repr(text if len(text) <= USERNAME_SHOWN else text[:USERNAME_SHOWN] + "…")


def _where(request: HttpRequest | None) -> tuple[str, str]:
    """(address, path) of the attempt; "unknown" where there is none (a unix socket, no request)."""
    if request is None:
        return "unknown", "unknown"
    path = getattr(request, "path", "") or "unknown"
    # A path that reaches authenticate() is one of our routes; escaped anyway, so it stays one word on one line.
    shown_path = path[:PATH_SHOWN].encode("unicode_escape").decode("ascii").replace(" ", "%20")
    return client_address(request) or "unknown", shown_path


def log_failure(sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    address, path = _where(request)
    username = credentials.get(get_user_model().USERNAME_FIELD)
    logger.warning("failed sign-in from %s on %s user=%s", address, path, _shown_username(username))


def log_lockout(sender: object, request: HttpRequest | None = None, username: object = None, **_: Any) -> None:
    address, path = _where(request)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    logger.warning(
        "sign-in lockout from %s on %s user=%s: %s failures, locked for %s minutes",
        address,
        path,
        _shown_username(username),
        settings.AXES_FAILURE_LIMIT,
        minutes,
    )


def connect_signals() -> None:
    """Called once from AppConfig.ready()."""
    from axes.signals import user_locked_out

    user_login_failed.connect(log_failure, dispatch_uid="wpdash-log-failed-sign-in")
    user_locked_out.connect(log_lockout, dispatch_uid="wpdash-log-sign-in-lockout")

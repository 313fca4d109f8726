"""The watchdog (WPDASH_AUTORESTART): a failed unit restarted through the same audited
`request_restart` as a person's, by the system user "watchdog", at most LIMIT times in
WINDOW per unit; then it stops and the rule autorestart-gave-up fires.

The count is read from the audit (the restart rows the watchdog requested), so a watcher
that takes over from another knows what was already tried. In approval mode the request
waits for a second person like anyone's: a pending row counts as an attempt, and no new
request is made while one of the unit is open.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone

from server_monitor.adapters import systemd
from server_monitor.errors import DomainError
from server_monitor.models import RestartAction
from server_monitor.workflows import restart

logger = logging.getLogger("server_monitor.alerts")

USERNAME = "watchdog"
LIMIT = 3
WINDOW = timedelta(minutes=15)

# Restarts wait for the unit to settle (seconds): never in the tick's own thread.
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wpdash-watchdog")
_in_flight: set[str] = set()
_lock = threading.Lock()


class WatchdogAccountTaken(DomainError):
    """A user called "watchdog" exists that can sign in: it is not ours to act as."""


def watchdog_user() -> object:
    """The system user the audit names: no usable password, no staff, only the restart permission."""
    users = get_user_model()
    user, created = users.objects.get_or_create(
        username=USERNAME, defaults={"is_staff": False, "is_superuser": False, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        permission = Permission.objects.get(codename="restart_service", content_type__app_label="server_monitor")
        user.user_permissions.add(permission)
    elif user.has_usable_password() or user.is_staff or user.is_superuser:
        raise WatchdogAccountTaken(
            f"A user {USERNAME!r} that can sign in exists; the watchdog will not act as it (rename that user)."
        )
    return user


def recent_attempts(name: str) -> list[int]:
    """The ids of the watchdog's restarts of `name` within WINDOW, pending ones included."""
    since = timezone.now() - WINDOW
    rows = RestartAction.objects.filter(requested_by__username=USERNAME, service=name, requested_at__gte=since)
    return list(rows.order_by("id").values_list("id", flat=True))


def consider(statuses: list[systemd.ServiceStatus]) -> None:
    """Ask for a restart of each failed unit of WPDASH_AUTORESTART that may have one now."""
    for status in statuses:
        name = status.name
        if name not in settings.WPDASH_AUTORESTART or status.active_state != "failed":
            continue
        with _lock:
            if name in _in_flight:
                continue
        if len(recent_attempts(name)) >= LIMIT:
            continue  # autorestart-gave-up says so
        if RestartAction.objects.filter(lock=status.unit).exists():
            continue  # a restart of it is pending (approval) or running
        with _lock:
            _in_flight.add(name)
        _pool.submit(_restart, name)


def _restart(name: str) -> None:
    try:
        user = watchdog_user()
        outcome = restart.request_restart(name, user, None)  # type: ignore[arg-type]
        logger.warning("watchdog: restart #%s of %s: %s", outcome.action.pk, name, outcome.message)
    except DomainError as error:
        logger.warning("watchdog: no restart of %s: %s", name, error.detail)
    except Exception:
        logger.exception("watchdog: the restart of %s failed", name)
    finally:
        with _lock:
            _in_flight.discard(name)
        connections.close_all()  # this pool's thread keeps no connection between restarts

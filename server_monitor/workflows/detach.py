"""Restarts that would cut their own answer: the proxy the request came through.

Behind nginx, nginx holds the client's connection until wpdash answers. A restart of
nginx stops nginx, and nginx's graceful stop waits for the requests in flight: the one
waiting for the restart is among them. Debian's unit gives up after 5 s (SIGQUIT, then
SIGTERM), the connection is cut and the client gets no answer for a restart that
worked. So a restart of a unit in WPDASH_PROXY_UNITS, asked through a proxy, is
answered first (the running row) and run and verified here, in a thread of this
process (the row's runner), a moment later; the outcome lands in the row, where the
page and API clients read it. docs/architecture.md, "A restart of the proxy answers first".
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections

from server_monitor.adapters import systemd
from server_monitor.models import RestartAction
from server_monitor.workflows import verify

logger = logging.getLogger("server_monitor.restarts")

# The answer leaves daphne within milliseconds, and nginx's graceful stop would still
# relay it. The pause is for what comes right after the answer: the no-JavaScript
# form's redirect, loaded on a new connection, which a stopped proxy would refuse.
GRACE_SECONDS = 0.5
# One restart per unit at a time (the audit's lock), and only proxy units come here.
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="wpdash-detached-restart")


def proxy_units() -> set[str]:
    """The unit names of WPDASH_PROXY_UNITS ("nginx" is nginx.service)."""
    return {systemd.unit_file_name(name) for name in settings.WPDASH_PROXY_UNITS}


def detaches(before: systemd.ServiceStatus, via_proxy: bool) -> bool:
    """Whether this restart must answer before it runs: its unit carries the request.

    A request carries a proxy's mark (via_proxy: a forwarding header, which the web edge
    sees), or every request does (WPDASH_HTTPS=on means TLS ends in a proxy on this host).
    A forged header only turns a 200 into a 202 with the same row: nothing to gain.
    """
    named = {before.unit, systemd.unit_file_name(before.name)}  # its Id, or the name it was asked by
    return bool(named & proxy_units()) and (settings.HTTPS or via_proxy)


def start(action: RestartAction, before: systemd.ServiceStatus) -> None:
    """Run and verify the (running) row's restart in the background; it ends in the row."""
    _executor.submit(_run, action, before)


def _run(action: RestartAction, before: systemd.ServiceStatus) -> None:
    try:
        time.sleep(GRACE_SECONDS)
        verify.run(action, before)  # records every outcome, its own crashes included
    except Exception:
        logger.exception("detached restart #%s of %s crashed", action.pk, action.service)
    finally:
        connections.close_all()  # this thread's connections: no request closes them

from django.apps import AppConfig
from django.conf import settings


class ServerMonitorConfig(AppConfig):
    name = "server_monitor"
    verbose_name = "Server monitor"

    def ready(self) -> None:
        # Once per process: which configured log paths went through a link (pinned or refused).
        from server_monitor.workflows.logs.sources import log_pin_notes

        log_pin_notes()
        if not settings.WPDASH_WEB_EDGE:
            return  # the watcher (wpdash/watch_settings.py): no admin, no sign-ins, no sockets
        # The admin lives with the rest of the web edge (server_monitor/web/), not in
        # the admin.py that autodiscovery looks for.
        from server_monitor.web import admin, sign_in_log  # noqa: F401
        from server_monitor.web.authentication import connect_signals as forget_changed_users
        from server_monitor.web.sockets.revocation import connect_signals as close_revoked_sockets

        forget_changed_users()
        close_revoked_sockets()
        sign_in_log.connect_signals()  # each failed sign-in as one line, for fail2ban

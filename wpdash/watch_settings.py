"""The watcher's settings (`manage.py watch` loads these): the dashboard's, without the web edge.

The watcher serves no request, so it loads none of what serves them: daphne (and Twisted
with it), Channels, DRF, the admin, the API schema, the sign-in lockout. They cost a
process about 45 MiB, three quarters of the watcher's budget (bench/, "Alerts"). The
database, the allowlists, the logs and every alert setting are the dashboard's own,
read from the same environment by the same readers.
"""

from __future__ import annotations

from wpdash.settings import *  # noqa: F403 (the same settings, then only what differs)

INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "server_monitor"]
MIDDLEWARE = []
WPDASH_WEB_EDGE = False  # server_monitor.apps: no admin, no sign-in or socket signals to connect
ROOT_URLCONF = "wpdash.watch_settings"  # it serves nothing: this module is its URL map
urlpatterns: list[object] = []

"""WSGI entry point (HTTP only; WebSockets need the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

from wpdash.env import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wpdash.settings")
settings_or_exit()  # a bad setting: one line naming it, not a traceback
application = get_wsgi_application()

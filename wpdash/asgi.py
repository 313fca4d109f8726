"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSockets are signed in by a JWT access token, or by the session cookie when their
Origin is one of ALLOWED_HOSTS (see server_monitor.web.sockets.auth); under daphne a socket's sends wait
while its client is not reading, and a client stalled too long is closed with 4008
(see wpdash.ws_backpressure).
"""

import os

import django

from wpdash.env import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wpdash.settings")
settings_or_exit()  # a bad setting: one line naming it, not daphne's traceback
# Set up Django before importing anything that touches models (get_asgi_application's
# set-up, with our handler: one thread hop per request, see wpdash.handler).
django.setup(set_prefix=False)

from wpdash.handler import ASGIHandler  # noqa: E402

django_asgi_app = ASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from server_monitor.web.sockets.auth import WebSocketAuth  # noqa: E402
from server_monitor.web.sockets.routing import websocket_urlpatterns  # noqa: E402
from wpdash.ws_backpressure import WebSocketBackpressure  # noqa: E402

# Outermost, so every send of every WebSocket waits while its client is not reading (wpdash.ws_backpressure).
websocket_application = WebSocketBackpressure(WebSocketAuth(URLRouter(websocket_urlpatterns)))

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})

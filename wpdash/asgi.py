"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSockets are checked against ALLOWED_HOSTS (Origin header), then authenticated by
the session cookie or, for API clients, a JWT access token (see wpdash.ws_auth).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wpdash.settings")
# Set up Django before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from server_monitor.routing import websocket_urlpatterns  # noqa: E402
from wpdash.ws_auth import TokenAuthMiddleware  # noqa: E402

websocket_application = AllowedHostsOriginValidator(
    AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})

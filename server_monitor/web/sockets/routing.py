"""WebSocket routes (the HTTP ones are in wpdash/urls.py and web/api/urls.py)."""

from typing import Any

from django.urls import path

from server_monitor.web.sockets import consumers

# Any: django-stubs types path() for Django views, while Channels routes ASGI
# applications through the same function (channels.routing.URLRouter takes these).
websocket_urlpatterns: list[Any] = [
    # <path:…> takes slashes too, so a traversal attempt reaches the consumer and gets 4000.
    path("api/v1/server/logs/<path:log_type>/ws", consumers.LogTailConsumer.as_asgi()),  # type: ignore[arg-type]
]

from django.urls import path

from server_monitor import consumers

websocket_urlpatterns = [
    # <path:…> takes slashes too, so a traversal attempt reaches the consumer and gets 4000.
    path("api/v1/server/logs/<path:log_type>/ws", consumers.LogTailConsumer.as_asgi()),
]

from django.urls import path

from server_monitor import consumers

websocket_urlpatterns = [
    path("api/v1/server/logs/<str:log_type>/ws", consumers.LogTailConsumer.as_asgi()),
]

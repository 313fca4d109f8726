from django.apps import AppConfig


class ServerMonitorConfig(AppConfig):
    name = "server_monitor"
    verbose_name = "Server monitor"

"""API routes under /api/v1/server/."""

from rest_framework.routers import DefaultRouter

from server_monitor.web.api import alerts, sites, views
from server_monitor.web.api.browsable import ServerRootView

# No format-suffix twins (services.json, restarts/1/approve.json): the API speaks JSON
# only, the viewsets' actions take no `format` argument (each twin was a 500), and a
# suffix would be ambiguous with names that contain dots.
router = DefaultRouter()
router.APIRootView = ServerRootView  # "Server" in the breadcrumb, not a second "Api Root"
router.include_format_suffixes = False
# The trailing slash is optional (the API contract writes paths without it). DRF 3.15+
# turns any true trailing_slash argument into "/", so "/?" has to be set afterwards.
router.trailing_slash = "/?"
router.register("services", views.ServiceViewSet, basename="service")
router.register("restarts", views.RestartActionViewSet, basename="restart")
router.register("logs", views.LogViewSet, basename="logs")
router.register("metrics", views.MetricsViewSet, basename="metrics")
router.register("sites", sites.SiteViewSet, basename="sites")
router.register("alerts", alerts.AlertViewSet, basename="alert")
router.register("silences", alerts.SilenceViewSet, basename="silence")

urlpatterns = router.urls

"""API routes under /api/v1/server/."""

from rest_framework.routers import DefaultRouter

from server_monitor.views import LogViewSet

router = DefaultRouter(trailing_slash="/?")
router.register("logs", LogViewSet, basename="logs")

urlpatterns = router.urls

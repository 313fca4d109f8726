"""API routes under /api/v1/server/."""

from rest_framework.routers import DefaultRouter

from server_monitor.views import LogViewSet

router = DefaultRouter(trailing_slash="/?")
# DRF >= 3.15 turns any true trailing_slash argument into "/", so GET server/logs
# (the contract's spelling) was redirected; the attribute keeps the slash optional.
router.trailing_slash = "/?"
router.register("logs", LogViewSet, basename="logs")

urlpatterns = router.urls

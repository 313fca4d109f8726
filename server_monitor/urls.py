"""API routes under /api/v1/server/."""

from rest_framework.routers import DefaultRouter

from server_monitor import views

router = DefaultRouter(trailing_slash="/?")
# DRF 3.15+ reduces any true `trailing_slash` to "/", so "/?" must be set after
# construction for /api/v1/server/metrics to answer without a slash (no 301 to "/").
router.trailing_slash = "/?"
router.register("metrics", views.MetricsViewSet, basename="metrics")

urlpatterns = router.urls

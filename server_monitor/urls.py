"""API routes under /api/v1/server/."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter(trailing_slash="/?")

urlpatterns = router.urls

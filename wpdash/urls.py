from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from server_monitor.web import health, sessions
from server_monitor.web.api.browsable import SchemaView
from server_monitor.web.api.root import ApiRootView
from server_monitor.web.pages import approvals
from server_monitor.web.pages import sites as site_pages
from server_monitor.web.pages import views as pages
from wpdash.auth_views import (
    AccountTokenRefreshView,
    LockoutAwareTokenObtainPairView,
    MeView,
    PasswordGrantLoginView,
)

sign_in = auth_views.LoginView.as_view(redirect_authenticated_user=True)
sign_out = auth_views.LogoutView.as_view()
# The browsable API's "Log in" and "Log out" links lead to the dashboard's own pages
# (the namespace DRF's templates reverse), not to a second login form of DRF's.
browsable_api_auth = (
    [path("accounts/login/", sign_in, name="login"), path("accounts/logout/", sign_out, name="logout")],
    "rest_framework",
)

urlpatterns = [
    # First: the API is what open dashboards and scripts ask all day, and Django tries
    # the patterns in order.
    path("api/v1/server/", include("server_monitor.web.api.urls")),
    path("", pages.status_page, name="status"),
    path("fragments/metrics", pages.metrics_fragment, name="fragment-metrics"),
    path("fragments/services", pages.services_fragment, name="fragment-services"),
    path("fragments/restarts", pages.restarts_fragment, name="fragment-restarts"),
    path("fragments/alerts", pages.alerts_fragment, name="fragment-alerts"),
    path("fragments/sites", site_pages.sites_fragment, name="fragment-sites"),
    path("fragments/approvals", approvals.approvals_fragment, name="fragment-approvals"),
    path("restarts/<int:pk>/approve", approvals.approve_form, name="approval-approve"),
    path("restarts/<int:pk>/reject", approvals.reject_form, name="approval-reject"),
    path("restarts/<int:pk>/withdraw", approvals.withdraw_form, name="approval-withdraw"),
    path("sites/<str:name>", site_pages.site_page, name="site-page"),
    path("services/<str:name>/restart", pages.restart_form, name="restart-form"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", sign_in, name="login"),
    path("accounts/logout/", sign_out, name="logout"),
    path("accounts/still-here", sessions.still_here, name="still-here"),
    path("admin/", admin.site.urls),
    # Every API path works with or without its trailing slash (the documents write none).
    re_path(r"^api/v1/?$", ApiRootView.as_view(), name="api-v1-root"),
    re_path(r"^api/v1/auth/token/?$", LockoutAwareTokenObtainPairView.as_view(), name="token_obtain_pair"),
    re_path(r"^api/v1/auth/token/refresh/?$", AccountTokenRefreshView.as_view(), name="token_refresh"),
    re_path(r"^api/v1/auth/login/?$", PasswordGrantLoginView.as_view(), name="password_login"),
    re_path(r"^api/v1/auth/me/?$", MeView.as_view(), name="me"),
    path("", include(browsable_api_auth)),
    re_path(r"^api/v1/schema/?$", SchemaView.as_view(), name="schema"),
    re_path(r"^api/v1/docs/?$", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

handler400 = "wpdash.errors.bad_request"
handler404 = "wpdash.errors.page_not_found"
handler500 = "wpdash.errors.server_error"

"""Every route by every kind of caller → the expected answer, and nothing runs without permission.

The routes are walked from Django's resolver, so a new route that is not listed in
ROUTES fails test_every_route_is_in_the_matrix: whoever adds one decides here who
may reach it. Admin's own model pages are represented by a few of them.

Callers: anonymous; viewer (view only), operator (restart), approver (approve),
superuser; an inactive user's session; and three bad JWTs (expired, tampered
signature, a refresh token offered as an access token), which must count for
nothing anywhere. Restarts go to the stand-in systemctl, which records them.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from server_monitor.models import Alert, AlertSilence, RestartAction
from server_monitor.workflows import restart
from tests.support.identities import IDENTITIES, SIGNED_IN, bad_tokens
from tests.support.sites import NginxLayout
from tests.support.users import PASSWORD, user_with

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    expect: dict[str, int | str]  # identity → status code, or "login"/"admin-login" for a redirect there
    data: dict = field(default_factory=dict)


def everyone(answer: int | str) -> dict[str, int | str]:
    return dict.fromkeys(IDENTITIES, answer)


def api(ok: int = 200, allowed: tuple[str, ...] = SIGNED_IN) -> dict[str, int | str]:
    """JSON API: 401 for every kind of nobody, 403 for the signed-in without permission."""
    return {**everyone(401), **dict.fromkeys(SIGNED_IN, 403), **dict.fromkeys(allowed, ok)}


def page(ok: int | str = 200, allowed: tuple[str, ...] = SIGNED_IN) -> dict[str, int | str]:
    """Server-rendered page: nobody is sent to sign in (a JWT is no session), others 403 without permission."""
    return {**everyone("login"), **dict.fromkeys(SIGNED_IN, 403), **dict.fromkeys(allowed, ok)}


def admin(ok: int = 200) -> dict[str, int | str]:
    """Admin pages: only staff (here the superuser); everyone else goes to the admin's sign-in."""
    return {**everyone("admin-login"), "superuser": ok}


RESTARTERS = ("operator", "superuser")
APPROVERS = ("approver", "superuser")
SILENCERS = ("superuser",)
UNTIL = {"until": (timezone.now() + timedelta(days=1)).isoformat(), "reason": "matrix"}  # within 90 days
S = "api/v1/server/"

# Keyed by the route's qualified name (".fmt" would mark a DRF format-suffix twin; there are none).
ROUTES: dict[str, Route] = {
    "status": Route("GET", "/", page()),
    "fragment-metrics": Route("GET", "/fragments/metrics", page()),
    "fragment-services": Route("GET", "/fragments/services", page()),
    "fragment-restarts": Route("GET", "/fragments/restarts", page()),
    "fragment-sites": Route("GET", "/fragments/sites", page()),
    "fragment-approvals": Route("GET", "/fragments/approvals", page()),
    # The page's plain forms for a pending request (made by someone else: nobody here may withdraw it).
    "approval-approve": Route("POST", "/restarts/{pending}/approve", page(ok="status", allowed=APPROVERS)),
    "approval-reject": Route("POST", "/restarts/{pending}/reject", page(ok="status", allowed=APPROVERS)),
    "approval-withdraw": Route("POST", "/restarts/{pending}/withdraw", page(allowed=())),
    "site-page": Route("GET", "/sites/example.com", page()),
    "restart-form": Route("POST", "/services/nginx/restart", page(ok="status", allowed=RESTARTERS)),
    "healthz": Route("GET", "/healthz", everyone(200)),
    "login": Route("GET", LOGIN, {**everyone(200), **dict.fromkeys(SIGNED_IN, "status")}),
    "logout": Route("POST", "/accounts/logout/", everyone("login")),
    "admin:index": Route("GET", "/admin/", admin()),
    "admin:login": Route("GET", ADMIN_LOGIN, {**everyone(200), "superuser": "admin-index"}),
    "admin:logout": Route("POST", "/admin/logout/", {**everyone("admin-index"), "superuser": "login"}),
    "admin:password_change": Route("GET", "/admin/password_change/", admin()),
    "admin:app_list": Route("GET", "/admin/server_monitor/", admin()),
    "admin:server_monitor_restartaction_changelist": Route("GET", "/admin/server_monitor/restartaction/", admin()),
    "admin:<catch-all>": Route("GET", "/admin/no-such-page/", admin(404)),
    "token_obtain_pair": Route("POST", "/api/v1/auth/token/", everyone(401), {"username": "viewer", "password": "x"}),
    "token_refresh": Route("POST", "/api/v1/auth/token/refresh/", everyone(401), {"refresh": "not-a-token"}),
    "password_login": Route("POST", "/api/v1/auth/login", everyone(401), {"username": "viewer", "password": "x"}),
    "me": Route("GET", "/api/v1/auth/me", api()),
    "rest_framework:login": Route("GET", LOGIN, {**everyone(200), **dict.fromkeys(SIGNED_IN, "status")}),
    "rest_framework:logout": Route("POST", "/accounts/logout/", everyone("login")),
    "still-here": Route("POST", "/accounts/still-here", page(204)),
    "schema": Route("GET", "/api/v1/schema/", api()),
    "docs": Route("GET", "/api/v1/docs/", api()),
    "api-root": Route("GET", f"/{S}", api()),
    "api-v1-root": Route("GET", "/api/v1/", api()),
    "service-list": Route("GET", f"/{S}services", api()),
    "service-detail": Route("GET", f"/{S}services/nginx", api()),
    "service-restart": Route("POST", f"/{S}services/nginx/restart", api(allowed=RESTARTERS)),
    "restart-list": Route("GET", f"/{S}restarts", api()),
    "restart-detail": Route("GET", f"/{S}restarts/{{pending}}", api()),
    "restart-approve": Route("POST", f"/{S}restarts/{{pending}}/approve", api(allowed=APPROVERS)),
    "restart-reject": Route("POST", f"/{S}restarts/{{pending}}/reject", api(allowed=APPROVERS)),
    "restart-withdraw": Route("POST", f"/{S}restarts/{{pending}}/withdraw", api(allowed=())),
    "logs-list": Route("GET", f"/{S}logs", api()),
    "logs-detail": Route("GET", f"/{S}logs/nginx-access", api()),
    "metrics-list": Route("GET", f"/{S}metrics", api()),
    "sites-list": Route("GET", f"/{S}sites", api()),
    "sites-detail": Route("GET", f"/{S}sites/example.com", api()),
    "fragment-alerts": Route("GET", "/fragments/alerts", page()),
    "alert-list": Route("GET", f"/{S}alerts", api()),
    "alert-detail": Route("GET", f"/{S}alerts/{{alert}}", api()),
    "silence-list": Route("POST", f"/{S}silences", api(201, allowed=SILENCERS), {"rule": "unit-failed", **UNTIL}),
    "silence-detail": Route("GET", f"/{S}silences/{{silence}}", api()),
    "silence-end": Route("POST", f"/{S}silences/{{silence}}/end", api(allowed=SILENCERS)),
}


def route_keys(resolver: URLResolver | None = None, namespace: str = "") -> set[str]:
    keys: set[str] = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            keys |= route_keys(pattern, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or "<catch-all>"
            suffix = ".fmt" if "format" in pattern.pattern.regex.groupindex else ""
            keys.add(f"{namespace}{name}{suffix}")
    return keys


def test_every_route_is_in_the_matrix():
    # Admin's per-model pages are admin's own; they share the admin's check (has_permission).
    admin_internals = {key for key in route_keys() if key.startswith("admin:") and key not in ROUTES}
    assert route_keys() - admin_internals - set(ROUTES) == set()
    assert set(ROUTES) - route_keys() == set()  # and no stale entry outlives its route


def client_for(identity: str) -> APIClient:
    client = APIClient()
    if identity in SIGNED_IN or identity == "inactive":
        codenames = {"operator": ("restart_service",), "approver": ("approve_restart",)}.get(identity, ())
        flags = {"inactive": {"is_active": False}, "superuser": {"is_superuser": True, "is_staff": True}}
        user = user_with(f"matrix-{identity}", *codenames, **flags.get(identity, {}))
        client.force_login(user)
    elif identity != "anonymous":
        # Bad tokens of a user who could do everything: only the token's flaw stops them.
        user = user_with(f"matrix-{identity}", is_superuser=True, is_staff=True)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bad_tokens(user)[identity]}")
    return client


def pending_restart(settings) -> RestartAction:
    settings.WPDASH_RESTART_APPROVAL = True
    requester = user_with("matrix-requester", "restart_service")
    action = restart.request_restart("nginx", requester, "192.0.2.1").action
    assert action.status == RestartAction.Status.PENDING
    return action


def an_alert() -> Alert:
    return Alert.objects.create(rule="unit-failed", subject="nginx", severity="critical", summary="nginx failed")


def a_silence() -> AlertSilence:
    owner = user_with("matrix-silencer", is_superuser=True)
    return AlertSilence.objects.create(subject="nginx", until=timezone.now() + timedelta(hours=1), created_by=owner)


def path_for(route: Route, settings) -> str:
    """The route's path with its placeholders filled by rows made for this test only."""
    makers: dict[str, Callable[[], int]] = {
        "pending": lambda: pending_restart(settings).pk,  # a pending restart by someone else, approval mode
        "alert": lambda: an_alert().pk,
        "silence": lambda: a_silence().pk,
    }
    needed = {name for _, name, _, _ in string.Formatter().parse(route.path) if name}
    return route.path.format(**{name: makers[name]() for name in needed})


REDIRECTS: dict[str, Callable[[str], bool]] = {
    "login": lambda location: location.startswith(LOGIN),
    "admin-login": lambda location: location.startswith(ADMIN_LOGIN),
    "status": lambda location: location == "/",
    "admin-index": lambda location: location == "/admin/",
}


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("key", sorted(ROUTES))
def test_each_caller_gets_exactly_what_the_matrix_says(key, identity, fake_systemd, settings, tmp_path, db):
    route = ROUTES[key]
    settings.WPDASH_METRICS_SOURCE = "local"
    log = tmp_path / "access.log"
    log.write_text("one line\n")
    settings.WPDASH_LOGS = {"nginx-access": str(log)}
    NginxLayout(tmp_path / "sites", settings).add_site("example.com")
    path = path_for(route, settings)
    get_user_model().objects.create_user("viewer", password=PASSWORD)  # the token endpoint's target
    client = client_for(identity)
    expected = route.expect[identity]

    response = getattr(client, route.method.lower())(path, route.data, format="json" if route.data else None)

    if isinstance(expected, int):
        assert response.status_code == expected, (key, identity, response.status_code, response.content[:300])
    else:
        assert response.status_code == 302, (key, identity, response.status_code, response.content[:300])
        assert REDIRECTS[expected](response["Location"]), (key, identity, response["Location"])
    restart_allowed = expected in (200, "status") and key.startswith(("service-restart", "restart-approve"))
    restart_allowed = restart_allowed or (key in ("restart-form", "approval-approve") and expected == "status")
    assert bool(fake_systemd.restarts()) == restart_allowed, (key, identity, fake_systemd.restarts())

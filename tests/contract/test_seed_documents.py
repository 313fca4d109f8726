"""The specification documents (../shared/seeds/), line by line, against the real URL router.

Every "truths" line and success criterion of the metrics, services and logs plans,
the services summary's error table and the restart-action plan's acceptance
criteria is a test here, its words in the test's docstring. The HTTP rows go
through Django's real URL router and DRF; the WebSocket rows through a real daphne
with a real WebSocket client that, like the documents' clients, sends no Origin.

Where wpdash deliberately differs, the test pins wpdash's behaviour and says why
(the README's API section lists the same differences in one table).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websockets
from drf_spectacular.generators import SchemaGenerator

from server_monitor.adapters import systemd
from server_monitor.models import RestartAction
from server_monitor.workflows import metrics
from tests.support.netdata import metrics_with_values
from tests.support.servers import free_port, live_server
from tests.support.users import PASSWORD

METRICS = "/api/v1/server/metrics"
SERVICES = "/api/v1/server/services"
LOGS = "/api/v1/server/logs"
SEED_LOG_TYPES = ("nginx-access", "nginx-error", "php-fpm", "mysql")


def schema_paths() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- the metrics plan (004) --------------------------------------------------------------


@pytest.fixture
def from_netdata(settings, netdata) -> Iterator[None]:
    """Metrics from the session's real Netdata only, with nothing cached from before."""
    settings.NETDATA_URL = netdata.url
    settings.WPDASH_METRICS_SOURCE = "netdata"
    metrics.reset()
    yield
    metrics.reset()


def assert_metric_data(series: dict, unit: str) -> None:
    """MetricData {name: str, current: float, unit: str, points: [MetricPoint {timestamp: int, value: float}]}."""
    assert isinstance(series["name"], str) and series["unit"] == unit
    assert series["current"] is None or is_number(series["current"])
    assert series["points"], "no points for a sparkline"
    for point in series["points"]:
        assert type(point["timestamp"]) is int
        assert point["value"] is None or is_number(point["value"])


def test_api_returns_cpu_percentage_from_netdata(viewer_client, from_netdata):
    """Truth: "API returns CPU percentage from Netdata"."""
    body = metrics_with_values(viewer_client, "cpu")

    assert body["source"] == "netdata"
    assert_metric_data(body["cpu"], "%")
    assert 0 <= body["cpu"]["current"] <= 100


def test_api_returns_ram_usage_from_netdata(viewer_client, from_netdata):
    """Truth: "API returns RAM usage from Netdata"."""
    body = metrics_with_values(viewer_client, "ram")

    assert_metric_data(body["ram"], "%")
    assert 0 < body["ram"]["current"] < 100


def test_api_returns_disk_usage_from_netdata_as_the_root_file_system_percent_used(viewer_client, from_netdata):
    """Truth: "API returns disk usage from Netdata".

    Deliberate difference: the plan fetches system.io for `disk`; wpdash's `disk` is
    the root file system's % used (what "disk usage" means to an operator, from
    Netdata's disk_space._, or measured here when Netdata has no chart for /) and
    disk I/O is its own series, `disk_io` in KiB/s.
    """
    body = metrics_with_values(viewer_client, "disk")

    assert_metric_data(body["disk"], "%")
    assert 0 < body["disk"]["current"] < 100
    assert_metric_data(body["disk_io"], "KiB/s")


def test_api_returns_network_io_from_netdata(viewer_client, from_netdata):
    """Truth: "API returns network I/O from Netdata"."""
    body = metrics_with_values(viewer_client, "network_in", "network_out")

    assert_metric_data(body["network_in"], "kbit/s")
    assert_metric_data(body["network_out"], "kbit/s")
    assert body["network_in"]["current"] >= 0 and body["network_out"]["current"] >= 0


@pytest.mark.parametrize(("range_name", "points", "seconds"), [("5m", 60, 300), ("1h", 60, 3600), ("24h", 144, 86400)])
def test_metrics_include_historical_data_points_for_sparklines_and_the_range_controls_the_window(
    viewer_client, from_netdata, range_name, points, seconds
):
    """Truths: "Metrics include historical data points for sparklines" and "Time range
    parameter controls data window (5m, 1h, 24h)"; points 5m=60, 1h=60, 24h=144."""
    body = viewer_client.get(METRICS, {"range": range_name}).json()

    assert body["range"] == range_name
    stamps = [point["timestamp"] for point in body["cpu"]["points"]]
    assert len(stamps) == points
    assert stamps == sorted(stamps)  # oldest first
    assert seconds - 2 * seconds // points <= stamps[-1] - stamps[0] <= seconds


def test_a_missing_value_is_null_never_a_made_up_zero(viewer_client, settings):
    """MetricPoint.value is a float in the plan. Deliberate difference: where there is
    no data (before the source started, a gap) it is null, since a 0 would draw a
    false "idle" on the sparkline; `current` is then the newest known value, or null."""
    settings.WPDASH_METRICS_SOURCE = "local"
    metrics.reset()
    try:
        body = viewer_client.get(METRICS, {"range": "24h"}).json()
    finally:
        metrics.reset()

    values = [point["value"] for point in body["cpu"]["points"]]
    assert None in values  # a fresh process has no 24 hours of history
    assert 0 not in values[: values.index(None) + 1]


def test_get_metrics_is_registered_in_the_schema_and_requires_authentication(anonymous_client, db):
    """Success criterion: "GET /api/v1/server/metrics endpoint registered and requires authentication"."""
    assert "get" in schema_paths()["/api/v1/server/metrics"]
    assert anonymous_client.get(METRICS).status_code == 401


def test_the_endpoint_returns_cpu_ram_disk_and_network_when_netdata_is_available(viewer_client, from_netdata):
    """Success criterion: "Endpoint returns SystemMetrics with CPU, RAM, disk, network data
    when Netdata available" (wpdash adds `source`, `range`, `disk_io` and `filled_from_local`)."""
    body = viewer_client.get(METRICS).json()

    assert {"cpu", "ram", "disk", "network_in", "network_out"} <= set(body)
    assert set(body) - {"cpu", "ram", "disk", "network_in", "network_out"} == {
        "source",
        "range",
        "disk_io",
        "filled_from_local",
    }


def test_the_endpoint_returns_503_with_a_descriptive_error_when_netdata_is_unavailable(viewer_client, settings):
    """Success criterion: "Endpoint returns 503 with descriptive error when Netdata unavailable".

    With WPDASH_METRICS_SOURCE=netdata. Deliberate difference: the default, auto,
    falls back to sampling this host and says so in `source`, because a dashboard
    whose Netdata is down should still show the box's health.
    """
    settings.NETDATA_URL = f"http://127.0.0.1:{free_port()}"
    settings.WPDASH_METRICS_SOURCE = "netdata"
    metrics.reset()
    try:
        netdata_only = viewer_client.get(METRICS)
        settings.WPDASH_METRICS_SOURCE = "auto"
        automatic = viewer_client.get(METRICS)
    finally:
        metrics.reset()

    assert netdata_only.status_code == 503
    assert "Netdata" in netdata_only.json()["detail"] and "unavailable" in netdata_only.json()["detail"]
    assert (automatic.status_code, automatic.json()["source"]) == (200, "local")


def test_the_time_range_parameter_is_accepted_and_an_unknown_one_is_400(viewer_client, settings):
    """Success criterion: "Time range parameter accepted (5m, 1h, 24h)". An unknown range
    is 400 naming the parameter (FastAPI's enum would answer 422; DRF's validation
    answers 400, like every other bad parameter here)."""
    settings.WPDASH_METRICS_SOURCE = "local"
    metrics.reset()
    try:
        codes = {name: viewer_client.get(METRICS, {"range": name}).status_code for name in ("5m", "1h", "24h")}
        bad = viewer_client.get(METRICS, {"range": "7d"})
    finally:
        metrics.reset()

    assert codes == {"5m": 200, "1h": 200, "24h": 200}
    assert bad.status_code == 400 and "range" in bad.json()


# --- the services plan (000) and its summary (001) ------------------------------------------


@pytest.fixture
def three_states(fake_systemd):
    """The stand-in systemctl with nginx running, php8.2-fpm failed and redis-server inactive."""
    fake_systemd.set(
        "php8.2-fpm.service", ActiveState="failed", SubState="failed", MainPID="0", MemoryCurrent="[not set]"
    )
    fake_systemd.set(
        "redis-server.service", ActiveState="inactive", SubState="dead", MainPID="0", MemoryCurrent="[not set]"
    )
    return fake_systemd


def by_name(services: list[dict]) -> dict[str, dict]:
    return {service["name"]: service for service in services}


def test_api_returns_status_for_nginx_php_fpm_mariadb_and_redis(viewer_client, fake_systemd):
    """Truths: "API returns status for nginx service", "… for php-fpm service(s)",
    "… for mariadb/mysql service", "… for redis service"."""
    listed = by_name(viewer_client.get(SERVICES).json())

    assert {"nginx", "php8.2-fpm", "mariadb", "redis-server"} <= set(listed)
    # mysql is an alias of mariadb.service: listed once, and still answered by its name.
    assert "mysql" not in listed
    assert viewer_client.get(f"{SERVICES}/mysql").json()["unit"] == "mariadb.service"


def test_service_status_includes_active_state_and_memory_usage(viewer_client, three_states):
    """Truth: "Service status includes active state and memory usage": `active` is the
    plan's bool (true exactly when systemd's ActiveState is active); systemd's own
    word is kept beside it in `active_state`, next to `sub_state`."""
    listed = by_name(viewer_client.get(SERVICES).json())

    for name, active, active_state, sub_state in [
        ("nginx", True, "active", "running"),
        ("php8.2-fpm", False, "failed", "failed"),
        ("redis-server", False, "inactive", "dead"),
    ]:
        one = viewer_client.get(f"{SERVICES}/{name}").json()
        for service in (listed[name], one):
            assert service["active"] is active, (name, service)
            assert (service["active_state"], service["sub_state"]) == (active_state, sub_state)
    assert type(listed["nginx"]["memory_bytes"]) is int and listed["nginx"]["memory_bytes"] > 0
    assert listed["redis-server"]["memory_bytes"] is None  # systemd's [not set]


def test_the_service_status_model_captures_state_memory_uptime_and_pid(viewer_client, fake_systemd):
    """Success criterion: "ServiceStatus model captures service state, memory, uptime";
    the plan's fields with their types: name str, active bool, sub_state str,
    memory_bytes int|None, uptime_seconds int|None, main_pid int|None."""
    nginx = viewer_client.get(f"{SERVICES}/nginx").json()

    assert {"name", "active", "sub_state", "memory_bytes", "uptime_seconds", "main_pid"} <= set(nginx)
    assert isinstance(nginx["name"], str) and isinstance(nginx["sub_state"], str)
    assert nginx["active"] is True
    assert all(type(nginx[key]) is int for key in ("memory_bytes", "uptime_seconds", "main_pid"))


def test_service_restart_endpoint_restarts_a_service(signed_in, operator, fake_systemd):
    """Truth: "Service restart endpoint restarts a service"; the plan's answer
    {"success": true, "message": "Service nginx restarted"}, here on top of the audit row."""
    response = signed_in(operator).post(f"{SERVICES}/nginx/restart")

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["message"]) == (True, "Service nginx restarted")
    assert fake_systemd.restarts() == [["restart", "--", "nginx"]]
    assert fake_systemd.unit("nginx.service")["MainPID"] != "337"
    assert body["status"] == "succeeded" and body["id"] == RestartAction.objects.get().pk


def test_a_failing_restart_is_503_with_success_false_and_the_reason(signed_in, operator, fake_systemd):
    """Summary's error table: "Restart failure → 503"; the answer says what failed in
    `detail` and `message`, and `success` is false."""
    fake_systemd.on_restart("nginx.service", "fail")

    response = signed_in(operator).post(f"{SERVICES}/nginx/restart")

    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["detail"] == body["message"]
    assert "nginx" in body["detail"] and "exited with 1" in body["detail"]


def test_a_restart_that_times_out_is_503(signed_in, operator, fake_systemd, monkeypatch):
    """Summary's error table: "Systemctl timeout → 503"."""

    monkeypatch.setattr(systemd, "RESTART_TIMEOUT", 0.5)
    fake_systemd.on_restart("nginx.service", sleep=30)

    response = signed_in(operator).post(f"{SERVICES}/nginx/restart")

    assert (response.status_code, response.json()["success"], response.json()["status"]) == (503, False, "timed_out")


def test_a_status_query_that_times_out_is_503(viewer_client, fake_systemd, monkeypatch):
    """The plan's 5 s limit for status queries: a hanging systemctl show answers 503."""

    monkeypatch.setattr(systemd, "STATUS_TIMEOUT", 0.3)
    fake_systemd.misbehave_on_show("hang", sleep=30)

    assert viewer_client.get(SERVICES).status_code == 503


@pytest.mark.parametrize("name", ["sshd", "../../../etc/passwd", "nginx;reboot", "-nginx", "nginx\x00"])
def test_only_allowlisted_services_can_be_queried_or_restarted(signed_in, operator, fake_systemd, name):
    """Truth: "Only allowlisted services can be queried or restarted"; success criterion
    "Strict allowlist prevents arbitrary service access" (path traversal included):
    400, and nothing runs."""
    client = signed_in(operator)

    assert client.get(f"{SERVICES}/{name}").status_code == 400
    assert client.post(f"{SERVICES}/{name}/restart").status_code == 400
    assert fake_systemd.invocations() == []


def test_get_services_returns_all_installed_services(viewer_client, three_states):
    """Success criterion: "GET /api/v1/server/services returns all installed services".
    Installed means LoadState is not not-found: a failed or stopped unit is listed too
    (the plan's rule "inactive and no PID" would hide exactly the units to restart)."""
    listed = by_name(viewer_client.get(SERVICES).json())

    assert set(listed) == {"nginx", "php8.2-fpm", "mariadb", "redis-server", "netdata"}


def test_get_one_service_returns_its_status(viewer_client, fake_systemd):
    """Success criterion: "GET /api/v1/server/services/{name} returns single service status"."""
    response = viewer_client.get(f"{SERVICES}/redis-server")

    assert (response.status_code, response.json()["name"], response.json()["main_pid"]) == (200, "redis-server", 290)


def test_restart_runs_sudo_n_systemctl_restart(signed_in, operator, fake_systemd, settings, monkeypatch, tmp_path):
    """Success criterion: "POST /api/v1/server/services/{name}/restart restarts service
    (requires sudo)": `sudo -n` (never a password prompt), list arguments."""
    from tests.support.systemd import install_fake_sudo

    sudo, sudo_log = install_fake_sudo(tmp_path / "sudo")
    monkeypatch.setattr(systemd, "SUDO", str(sudo))
    settings.WPDASH_SUDO = True

    assert signed_in(operator).post(f"{SERVICES}/nginx/restart").status_code == 200
    assert json.loads(sudo_log.read_text()) == ["-n", str(fake_systemd.path), "restart", "--", "nginx"]


def test_invalid_names_are_400_and_a_unit_that_is_not_installed_is_404(viewer_client, fake_systemd):
    """Success criterion: "Invalid service names return 400, not found returns 404"."""
    assert viewer_client.get(f"{SERVICES}/sshd").status_code == 400
    assert viewer_client.get(f"{SERVICES}/postfix").status_code == 404


def test_service_routes_are_in_the_schema_and_unauthenticated_requests_get_401(anonymous_client, fake_systemd):
    """Verification: "Routes registered: OpenAPI shows /api/v1/server/services endpoints"
    and "Auth required: Unauthenticated requests return 401"."""
    paths = schema_paths()
    assert {"/api/v1/server/services", "/api/v1/server/services/{name}"} <= set(paths)
    assert anonymous_client.get(SERVICES).status_code == 401
    assert anonymous_client.post(f"{SERVICES}/nginx/restart").status_code == 401
    assert fake_systemd.invocations() == []


def test_restarting_needs_the_restart_permission(signed_in, viewer, fake_systemd):
    """Deliberate difference: the plan lets any signed-in user restart. wpdash needs the
    `server_monitor.restart_service` permission (403 without it), so a read-only
    account cannot take a service down."""
    response = signed_in(viewer).post(f"{SERVICES}/nginx/restart")

    assert response.status_code == 403
    assert fake_systemd.restarts() == []


# --- the restart-action plan of the second project (002) ------------------------------------


@pytest.fixture
def approval_mode(settings, fake_systemd):
    settings.WPDASH_RESTART_APPROVAL = True
    return fake_systemd


def test_ac1_to_ac3_a_restart_action_is_queued_pending_with_its_service_and_command(signed_in, operator, approval_mode):
    """AC1 "Restart action can be queued", AC2 "Action includes service name and
    command", AC3 "Action starts in pending status" (approval mode, where an action
    waits as that plan's does). Differences: 202 Accepted rather than 201 (it is
    queued, not done), the id is `id` and the name `service` (the plan's `action_id`
    and `service_name` belong to its per-server URL, which wpdash has no use for)."""
    response = signed_in(operator).post(f"{SERVICES}/nginx/restart")

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["service"], body["success"]) == ("pending", "nginx", True)
    assert body["command"].endswith("systemctl restart -- nginx")
    assert "approval" in body["message"]
    assert approval_mode.restarts() == []  # queued: nothing ran


def test_ac5_no_duplicate_pending_actions_409_with_the_existing_action_id(signed_in, operator, approval_mode):
    """AC5 "No duplicate pending actions": 409 with the plan's DuplicateActionError
    {detail, existing_action_id}, and nothing else."""
    client = signed_in(operator)
    first = client.post(f"{SERVICES}/nginx/restart").json()

    second = client.post(f"{SERVICES}/nginx/restart")

    assert second.status_code == 409
    assert set(second.json()) == {"detail", "existing_action_id"}
    assert second.json()["existing_action_id"] == first["id"]


# --- the logs plan (003) -------------------------------------------------------------------


@pytest.fixture
def seed_logs(settings, tmp_path) -> dict[str, Path]:
    """The plan's four log types, two of them present."""
    paths = {name: tmp_path / f"{name}.log" for name in SEED_LOG_TYPES}
    paths["nginx-access"].write_text("".join(f"GET /{n}\n" for n in range(600)))
    paths["nginx-error"].write_text("one error\n")
    settings.WPDASH_LOGS = {name: str(path) for name, path in paths.items()}
    return paths


def test_log_types_nginx_access_nginx_error_php_fpm_and_mysql_are_supported(db):
    """Truth: "Log types nginx-access, nginx-error, php-fpm, mysql are supported" (the
    default WPDASH_LOGS), and success criterion "LogType enum with valid log types":
    the schema lists exactly the configured names."""
    from django.conf import settings

    assert tuple(settings.WPDASH_LOGS) == SEED_LOG_TYPES
    parameter = next(
        p for p in schema_paths()["/api/v1/server/logs/{log_type}"]["get"]["parameters"] if p["in"] == "path"
    )
    assert parameter["schema"]["enum"] == list(SEED_LOG_TYPES)


def test_the_rest_endpoint_returns_recent_log_lines_for_initial_load(viewer_client, seed_logs):
    """Truth: "REST endpoint returns recent log lines for initial load"; success
    criteria "tail_log reads last N lines" and "GET /api/v1/server/logs/{log_type}
    returns recent lines"; LogEntry {lines: list[str], log_type, timestamp: int}."""
    before = int(time.time())

    body = viewer_client.get(f"{LOGS}/nginx-access", {"lines": 20}).json()

    assert body["log_type"] == "nginx-access"
    assert body["lines"] == [f"GET /{n}" for n in range(580, 600)]
    assert type(body["timestamp"]) is int and before <= body["timestamp"] <= time.time()


def test_the_default_is_50_lines(viewer_client, seed_logs):
    """The plan's `lines: int = 50`."""
    assert len(viewer_client.get(f"{LOGS}/nginx-access").json()["lines"]) == 50


def test_more_than_500_lines_is_400_not_clamped(viewer_client, seed_logs):
    """The plan: "Limit lines to max 500". Deliberate difference: lines over 500 (or
    under 1) answer 400 saying the range, rather than silently giving fewer lines
    than asked, so a client never mistakes a clamp for the file's end."""
    response = viewer_client.get(f"{LOGS}/nginx-access", {"lines": 501})

    assert response.status_code == 400
    assert "1 to 500" in response.json()["detail"]
    assert len(viewer_client.get(f"{LOGS}/nginx-access", {"lines": 500}).json()["lines"]) == 500


def test_a_missing_log_is_an_empty_list_with_the_reason(viewer_client, seed_logs):
    """The plan: "Handle FileNotFoundError gracefully (return empty list with warning
    log)"; wpdash adds `available: false` and the `reason` in words."""
    body = viewer_client.get(f"{LOGS}/mysql").json()

    assert (body["lines"], body["available"]) == ([], False)
    assert "does not exist" in body["reason"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/shadow", "syslog"])
def test_only_allowlisted_log_paths_can_be_accessed(viewer_client, seed_logs, name):
    """Truth: "Only allowlisted log paths can be accessed"; success criteria
    "Hardcoded LOG_PATHS mapping prevents path traversal" and "Invalid log types
    return 400 (REST)"."""
    response = viewer_client.get(f"{LOGS}/{name}")

    assert response.status_code == 400
    assert "passwd" not in response.content.decode() and "shadow" not in response.content.decode()


def test_log_routes_are_in_the_schema_and_need_authentication(anonymous_client, seed_logs):
    """Verification: "REST route registered" and "Auth required: Unauthenticated requests return 401 (REST)"."""
    assert "/api/v1/server/logs/{log_type}" in schema_paths()
    assert anonymous_client.get(f"{LOGS}/nginx-access").status_code == 401


# --- the logs plan's WebSocket, through a real daphne -----------------------------------------


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    """One daphne for the WebSocket rows, as bin/run serves it (access log off)."""
    folder = tmp_path_factory.mktemp("contract")
    log = folder / "access.log"
    log.write_text("".join(f"first {n}\n" for n in range(80)))
    with live_server(folder, WPDASH_LOGS=f"nginx-access={log}", WPDASH_METRICS_SOURCE="local") as server:
        server.create_user("viewer", PASSWORD)
        yield server, log


def password_login(server) -> str:
    """The plan's clients sign in with an OAuth2 password form and send the token on."""
    response = requests.post(
        f"{server.url}/api/v1/auth/login", data={"username": "viewer", "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    return body["access_token"]


async def first_message(url: str, **options) -> dict:
    async with websockets.connect(url, open_timeout=10, **options) as socket:
        return json.loads(await asyncio.wait_for(socket.recv(), 10))


async def close_code(url: str, **options) -> int:
    async with websockets.connect(url, open_timeout=10, **options) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 10)
        return closed.value.rcvd.code


def test_the_oauth2_password_login_answers_a_bearer_access_token(daphne):
    """The documents' sign-in: POST /api/v1/auth/login with form fields username and
    password → {"access_token", "token_type": "bearer"}; GET /api/v1/auth/me names
    the user."""
    server, _ = daphne
    token = password_login(server)

    me = requests.get(f"{server.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    assert me.json()["username"] == "viewer"


def test_the_websocket_accepts_a_connection_with_token_in_the_query_and_no_origin(daphne):
    """Truths: "WebSocket endpoint accepts connection for log streaming" and "Client
    receives log lines as JSON messages"; success criterion "WebSocket auth via query
    param token". First the last 50 lines, then only new lines as {"lines": [...]}."""
    server, log = daphne
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws?token={password_login(server)}"

    async def scenario() -> tuple[dict, list[str]]:
        async with websockets.connect(url, open_timeout=10) as socket:  # no Origin header, like any script
            first = json.loads(await asyncio.wait_for(socket.recv(), 10))
            with log.open("a") as handle:
                handle.write("new 1\nnew 2\n")
            new: list[str] = []
            while len(new) < 2:
                new += json.loads(await asyncio.wait_for(socket.recv(), 10))["lines"]
            return first, new

    first, new = asyncio.run(scenario())

    assert first["lines"] == [f"first {n}" for n in range(30, 80)]
    assert new == ["new 1", "new 2"]


def test_the_bearer_subprotocol_also_signs_a_socket_in_without_origin(daphne):
    """wpdash's preferred token transport: a subprotocol, so the token is in no URL."""
    server, _ = daphne
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws"

    message = asyncio.run(first_message(url, subprotocols=["wpdash", f"bearer.{password_login(server)}"]))

    assert isinstance(message["lines"], list) and message["lines"]


def test_invalid_tokens_close_the_websocket_with_4001(daphne):
    """Success criterion: "Invalid tokens close WebSocket with 4001"."""
    server, _ = daphne
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws"

    assert asyncio.run(close_code(f"{url}?token=garbage")) == 4001
    assert asyncio.run(close_code(f"{url}?token=")) == 4001
    assert asyncio.run(close_code(url, subprotocols=["wpdash", "bearer.garbage"])) == 4001
    assert asyncio.run(close_code(url)) == 4001  # no credentials at all


def test_an_invalid_log_type_closes_the_connection_with_4000(daphne):
    """Truth: "Invalid log type closes connection with error code"; success criterion
    "Invalid log types return … 4000 (WebSocket)"."""
    server, _ = daphne
    token = password_login(server)

    for name in ("syslog", "..%2F..%2Fetc%2Fpasswd", "nested/../../x"):
        url = f"{server.ws_url}/api/v1/server/logs/{name}/ws?token={token}"
        assert asyncio.run(close_code(url)) == 4000, name


def test_a_session_cookie_socket_must_come_from_an_allowed_origin(daphne):
    """The Origin check guards cookie sockets against cross-site hijacking: a foreign
    Origin is refused at the handshake, our own is let in."""
    server, _ = daphne
    cookie = server.session("viewer", PASSWORD).cookies["sessionid"]
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws"
    headers = {"Cookie": f"sessionid={cookie}"}

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(first_message(url, origin="https://evil.example", additional_headers=headers))
    assert refused.value.response.status_code == 403
    # A made-up token does not smuggle the cookie past the origin check either.
    assert asyncio.run(close_code(f"{url}?token=x", origin="https://evil.example", additional_headers=headers)) == 4001
    assert "lines" in asyncio.run(first_message(url, origin=server.url, additional_headers=headers))


def test_the_token_never_appears_in_the_servers_output(daphne):
    """The logs plan puts the token in the URL; wpdash keeps it out of every log it
    controls (daphne's access log is off, our own lines never hold it)."""
    server, _ = daphne
    token = password_login(server)
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws?token={token}"
    asyncio.run(first_message(url))
    asyncio.run(close_code(f"{server.ws_url}/api/v1/server/logs/nope/ws?token={token}"))
    requests.get(f"{server.url}/api/v1/server/logs/nginx-access?token={token}", timeout=10)

    assert token not in server.log()
    assert token.split(".")[2] not in server.log()  # not even the signature


def test_the_websocket_route_streams_updates_only_after_the_first_lines(daphne):
    """Success criterion: "WebSocket /api/v1/server/logs/{log_type}/ws streams updates":
    a quiet log sends nothing after its first message (no re-sent tails, unlike the
    plan's 2-second re-read of the last 50)."""
    server, _ = daphne
    url = f"{server.ws_url}/api/v1/server/logs/nginx-access/ws?token={password_login(server)}"

    async def scenario() -> bool:
        async with websockets.connect(url, open_timeout=10) as socket:
            await asyncio.wait_for(socket.recv(), 10)
            try:
                await asyncio.wait_for(socket.recv(), 2.5)
            except TimeoutError:
                return True
            return False

    assert asyncio.run(scenario())


def test_the_browsers_session_also_works_for_the_rest_api(daphne):
    """Beside tokens, a signed-in browser session reads the API (DRF's browsable API)."""
    server, _ = daphne
    session = server.session("viewer", PASSWORD)

    assert session.get(f"{server.url}/api/v1/server/logs/nginx-access", timeout=10).json()["lines"]


def test_a_client_of_the_documents_needs_no_change(daphne):
    """The whole path a client written to the documents takes, with nothing but requests."""
    server, _ = daphne
    token = password_login(server)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    logs = api.get(f"{server.url}/api/v1/server/logs/nginx-access", params={"lines": 5}, timeout=10).json()
    metrics_answer = api.get(f"{server.url}/api/v1/server/metrics", params={"range": "5m"}, timeout=10).json()

    assert len(logs["lines"]) == 5 and type(logs["timestamp"]) is int
    assert {"cpu", "ram", "disk", "network_in", "network_out"} <= set(metrics_answer)


# Last in the module: while the browser fixture lives, asyncio.run() cannot (see tests/conftest.py).
@pytest.mark.browser
def test_ac4_the_restart_button_calls_the_api_and_shows_a_confirmation(browser, tmp_path):
    """AC4 "Restart button triggers action": the button asks for confirmation, calls
    the API and shows its message (here: waiting for approval)."""
    from tests.support.systemd import FakeSystemd

    systemd = FakeSystemd(tmp_path / "systemd")
    with live_server(
        tmp_path,
        WPDASH_SYSTEMCTL=str(systemd.path),
        WPDASH_SUDO="off",
        WPDASH_METRICS_SOURCE="local",
        WPDASH_RESTART_APPROVAL="on",
    ) as server:
        server.create_user("operator", PASSWORD, permissions=("restart_service",))
        page = browser.new_page()
        page.goto(server.url + "/accounts/login/")
        page.get_by_label("Username").fill("operator")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/")

        page.locator('[data-service="nginx"]').get_by_role("button", name="Restart").click()
        page.locator("#restart-dialog").get_by_role("button", name="Restart").click()

        page.wait_for_selector("#action-result:has-text('waiting for approval')", timeout=20000)
        page.close()
    assert systemd.restarts() == []

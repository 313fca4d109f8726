"""Restarting nginx through nginx: the real nginx in front of a real daphne, as deploy/ sets
them up, and nginx.service restarted by the stand-in the way Debian's unit does it
(SIGQUIT to the master, up to 5 s for its graceful stop, then SIGTERM; a new master).

nginx's graceful stop waits for the requests in flight, and a restart request that waits
for the restart is one of them: without an answer first, the client gets none at all.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
import requests

from tests.support.nginx import ProxiedDashboard, dashboard_behind_nginx
from tests.support.servers import port_open, wait_until
from tests.support.systemctl import running
from tests.support.users import PASSWORD

RESTART = "/api/v1/server/services/nginx/restart"


def ended(stack: ProxiedDashboard, headers: dict[str, str], path: str) -> dict:
    """The row at `path` (one restart, or the newest of a filtered list) once it has ended,
    read through nginx, which may be between its stop and its start meanwhile."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.ConnectionError):
            answer = requests.get(f"{stack.https}{path}", headers=headers, verify=stack.ca, timeout=10)
            row = answer.json()["results"][0] if "results" in answer.json() else answer.json()
            if answer.status_code == 200 and row["status"] != "running":
                return row
        time.sleep(0.2)
    raise AssertionError(f"{path} still running after 60 s:\n{stack.daphne.log()}")


@pytest.fixture
def stack(tmp_path: Path, request):
    with dashboard_behind_nginx(tmp_path, **getattr(request, "param", {})) as dashboard:
        dashboard.daphne.create_user("operator", PASSWORD, permissions=("restart_service",))
        yield dashboard


def test_restarting_nginx_through_nginx_is_answered_and_the_row_ends_succeeded(stack):
    headers = stack.bearer("operator", PASSWORD)
    old_master = stack.master_pid()

    answer = requests.post(f"{stack.https}{RESTART}", headers=headers, verify=stack.ca, timeout=60)

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert (body["success"], body["status"], body["service"]) == (True, "running", "nginx")
    assert f"restart #{body['id']}" in body["message"]
    row = ended(stack, headers, f"/api/v1/server/restarts/{body['id']}")
    assert row["status"] == "succeeded", row
    new_master = stack.master_pid()
    assert (row["main_pid_before"], row["main_pid_after"]) == (old_master, new_master)
    assert new_master != old_master and not running(old_master)
    assert row["message"] == "Service nginx restarted"
    # The new nginx serves the dashboard.
    assert requests.get(f"{stack.https}/healthz", verify=stack.ca, timeout=10).status_code == 200


@pytest.mark.parametrize("stack", [{"WPDASH_PROXY_UNITS": "none"}], indirect=True, ids=["not-detached"])
def test_without_answering_first_nginx_cuts_the_answer_of_a_restart_that_worked(stack):
    # Why the restart of a proxy unit answers first: run inline, the request waits for
    # nginx's stop, which waits for the request, until SIGTERM cuts the connection.
    headers = stack.bearer("operator", PASSWORD)

    with pytest.raises(requests.ConnectionError):
        requests.post(f"{stack.https}{RESTART}", headers=headers, verify=stack.ca, timeout=60)

    row = ended(stack, headers, "/api/v1/server/restarts?service=nginx")
    assert (row["status"], row["main_pid_after"]) == ("succeeded", stack.master_pid())


def test_a_restart_that_leaves_nginx_down_is_still_answered_and_ends_failed_in_the_row(stack):
    headers = stack.bearer("operator", PASSWORD)
    with (stack.folder / "site.conf").open("a") as site:
        site.write("garbage;\n")  # what issue 25 did to nginx.conf: nginx -t now fails

    answer = requests.post(f"{stack.https}{RESTART}", headers=headers, verify=stack.ca, timeout=60)

    assert (answer.status_code, answer.json()["status"]) == (202, "running")
    # nginx is gone for good now: read the row from daphne itself, as nginx would have asked.
    direct = {**headers, "X-Forwarded-Proto": "https"}
    url = f"{stack.daphne.url}/api/v1/server/restarts/{answer.json()['id']}"
    wait_until(lambda: requests.get(url, headers=direct, timeout=10).json()["status"] != "running", timeout=60)
    row = requests.get(url, headers=direct, timeout=10).json()
    assert (row["status"], row["note"]) == ("failed", "systemctl restart exited with 1")
    assert row["message"].startswith("Restart of nginx failed: systemctl restart exited with 1")
    assert not port_open(int(stack.https.rsplit(":", 1)[1]))

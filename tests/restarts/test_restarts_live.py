"""Restarts through a real daphne, on the suite's database (SQLite, or MariaDB when
DATABASE_URL is mysql://): the race, the non-blocking restart, hostile names, and a
server process dying mid-restart.

The stand-in's restarts wait on a gate the test opens, so every ordering asserted
here is forced by the test, not guessed from timings.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
import requests

from tests.support.names import HOSTILE
from tests.support.servers import LiveServer, live_server, wait_until
from tests.support.systemd import FakeSystemd
from tests.support.users import PASSWORD

RACERS = 20


def environment(fake: FakeSystemd) -> dict[str, str]:
    return {"WPDASH_SYSTEMCTL": str(fake.path), "WPDASH_SUDO": "off", "WPDASH_RESTART_APPROVAL": "off"}


def bearer(server: LiveServer, username: str) -> dict[str, str]:
    response = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


@pytest.fixture(scope="module")
def daphne(tmp_path_factory) -> Iterator[tuple[LiveServer, FakeSystemd]]:
    base = tmp_path_factory.mktemp("restarts-live")
    fake = FakeSystemd(base / "systemd")
    with live_server(base, **environment(fake)) as server:
        server.create_user("operator", PASSWORD, permissions=("restart_service",))
        yield server, fake


@pytest.fixture
def fake(daphne) -> FakeSystemd:
    daphne[1].reset()
    return daphne[1]


def test_twenty_simultaneous_restarts_make_one_restart_and_nineteen_409s(daphne, fake):
    server, _ = daphne
    headers = bearer(server, "operator")
    release = fake.gate_restart("nginx.service")  # the winner's restart waits until all others were answered
    start = threading.Barrier(RACERS)

    def race() -> requests.Response:
        start.wait(timeout=30)
        return requests.post(f"{server.url}/api/v1/server/services/nginx/restart", headers=headers, timeout=90)

    with ThreadPoolExecutor(RACERS) as pool:
        futures = [pool.submit(race) for _ in range(RACERS)]
        try:
            wait_until(lambda: sum(f.done() for f in futures) >= RACERS - 1, timeout=60, message="19 answers")
            losers = [future.result() for future in futures if future.done()]
        finally:
            release()
        answers = [future.result() for future in futures]

    winners = [answer for answer in answers if answer.status_code == 200]
    assert [answer.status_code for answer in losers] == [409] * (RACERS - 1), server.log()
    assert len(winners) == 1
    assert {answer.json()["existing_action_id"] for answer in losers} == {winners[0].json()["id"]}
    assert fake.restarts() == [["restart", "--", "nginx"]]
    audit = requests.get(f"{server.url}/api/v1/server/restarts/?service=nginx", headers=headers, timeout=10).json()
    assert [row["status"] for row in audit["results"]].count("succeeded") == 1
    assert "running" not in [row["status"] for row in audit["results"]]


def test_a_running_restart_stalls_nothing_else(daphne, fake):
    server, _ = daphne
    headers = bearer(server, "operator")
    browser = server.session("operator", PASSWORD)
    release = fake.gate_restart("nginx.service")

    with ThreadPoolExecutor(1) as pool:
        restarting = pool.submit(
            requests.post, f"{server.url}/api/v1/server/services/nginx/restart", headers=headers, timeout=90
        )
        try:
            wait_until(lambda: fake.restarts(), timeout=30, message="the restart to be under way")
            listed = requests.get(f"{server.url}/api/v1/server/services", headers=headers, timeout=10)
            page = browser.get(f"{server.url}/", timeout=10)
            other = requests.post(
                f"{server.url}/api/v1/server/services/redis-server/restart", headers=headers, timeout=30
            )
            audit = requests.get(f"{server.url}/api/v1/server/restarts/?service=nginx", headers=headers, timeout=10)
            # All of these were answered while the nginx restart was still held at its gate.
            still_running = not restarting.done()
        finally:
            release()
        restarted = restarting.result()

    assert still_running
    assert (listed.status_code, page.status_code, other.status_code) == (200, 200, 200)
    assert other.json()["status"] == "succeeded"  # restarts of different units do not queue behind each other
    row = audit.json()["results"][0]
    assert (row["status"], row["state_before"], row["main_pid_before"]) == ("running", "active (running)", 337)
    assert (restarted.status_code, restarted.json()["status"]) == (200, "succeeded")


def test_hostile_names_get_400_and_run_nothing(daphne, fake):
    server, _ = daphne
    headers = bearer(server, "operator")

    for name in HOSTILE:
        url = f"{server.url}/api/v1/server/services/{quote(name, safe='')}"
        shown = requests.get(url, headers=headers, timeout=10)
        restarted = requests.post(f"{url}/restart", headers=headers, timeout=10)
        assert (shown.status_code, restarted.status_code) == (400, 400), repr(name[:40])

    assert fake.invocations() == []


def audit_rows(server: LiveServer) -> list[dict]:
    """The audit as the database holds it (child_pid is in no answer), on SQLite or MariaDB."""
    code = (
        "import json; from server_monitor.models import RestartAction; print(json.dumps(list("
        "RestartAction.objects.order_by('pk').values('status', 'lock', 'child_pid', 'note', 'main_pid_after'))))"
    )
    return json.loads(server.manage("shell", "-c", code).strip().splitlines()[-1])


def restart_commands(fake: FakeSystemd) -> list[psutil.Process]:
    """The stand-in's `restart` processes still running (an exited one nobody reaped is a zombie: gone)."""
    return [
        process
        for process in psutil.process_iter(["cmdline", "status"])
        if (process.info["cmdline"] or [])[1:3] == [str(fake.path), "restart"]
        and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


def test_a_server_killed_mid_restart_keeps_the_unit_locked_while_its_systemctl_runs_then_records_it(tmp_path: Path):
    fake = FakeSystemd(tmp_path / "systemd")
    release = fake.gate_restart("nginx.service")
    with live_server(tmp_path, **environment(fake)) as server:
        server.create_user("operator", PASSWORD, permissions=("restart_service",))
        headers = bearer(server, "operator")
        path = "/api/v1/server/services/nginx/restart"
        try:
            with ThreadPoolExecutor(1) as pool:
                doomed = pool.submit(requests.post, f"{server.url}{path}", headers=headers, timeout=90)
                wait_until(lambda: audit_rows(server)[0]["child_pid"], timeout=30, interval=0.5, message="the command")
                assert server.process is not None
                server.process.kill()  # no clean shutdown: as in an OOM kill or a power cut
                server.process.wait()
                with pytest.raises(requests.ConnectionError):
                    doomed.result()
            assert restart_commands(fake), "the restart command runs on in its own session"

            recovered = server.manage("recover_restarts")  # what bin/run does before serving
            server.start()
            headers = bearer(server, "operator")
            blocked = requests.post(f"{server.url}{path}", headers=headers, timeout=30)
            (row,) = audit_rows(server)
        finally:
            release()

        assert "Left 1 restart(s) locked: still under way" in recovered
        assert (blocked.status_code, row["status"], row["lock"]) == (409, "running", "nginx.service")
        wait_until(lambda: not restart_commands(fake), timeout=30, message="the restart command to end")
        recorded = server.manage("recover_restarts")
        assert "Recorded 1 restart(s) from the unit's state" in recorded
        (row,) = audit_rows(server)
        assert (row["status"], row["lock"], row["main_pid_after"]) == ("succeeded", None, 1001)
        assert row["note"].startswith("the server process that ran this restart (pid ")
        assert row["note"].endswith(
            "ended mid-restart; the outcome was read from the unit afterwards: active again, MainPID 337 → 1001"
        )
        again = requests.post(f"{server.url}{path}", headers=headers, timeout=30)
        assert again.status_code == 200  # the unit is not locked for good
        assert fake.restarts() == [["restart", "--", "nginx"]] * 2  # never two at once: the 409 ran nothing

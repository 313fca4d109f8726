"""Benchmark 3 — services: GET /api/v1/server/services with the default 14-unit allowlist.

Processes spawned per request are counted from the stand-in systemctl's own
invocation log (goal: 1). Reference, measured in the same run: one bare process of
the stand-in run with exactly the arguments the server used (subprocess.run).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import requests

from bench.common import PASSWORD, Result, Row, bearer_token, environ_for_server, time_calls
from tests.support.servers import live_server
from tests.support.systemd import FakeSystemd

REPETITIONS = 100  # the stand-in is a Python script: ~0.1 s a process


def main() -> Result:
    result = Result(
        name="services",
        title="3. Services",
        method=(
            "GET /api/v1/server/services through a real daphne (JWT, one keep-alive requests.Session), default "
            f"14-unit allowlist, stand-in systemctl (tests/support/systemctl.py), WPDASH_SUDO=off; {REPETITIONS} "
            "requests after 3 warm-ups (time.perf_counter). Processes per request = lines the stand-in appended to "
            "its invocation log during the timed requests / requests. Reference: subprocess.run of the stand-in "
            f"with the same argv the server used, {REPETITIONS} runs (same child environment as the server's)."
        ),
    )
    with tempfile.TemporaryDirectory(prefix="wpdash-bench-services-") as tmp:
        tmp_path = Path(tmp)
        fake = FakeSystemd(tmp_path / "systemd")
        env = environ_for_server(WPDASH_SYSTEMCTL=str(fake.path), WPDASH_SUDO="off")
        env.pop("WPDASH_SERVICES", None)
        with live_server(tmp_path, **env) as server:
            server.create_user("bench", PASSWORD)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {bearer_token(server)}"
            url = f"{server.url}/api/v1/server/services"
            first = session.get(url, timeout=30)
            assert first.status_code == 200, first.text[:300]
            installed = first.json()
            assert len(installed) >= 4 and all("active" in unit for unit in installed), installed
            argv = fake.invocations()[-1]
            assert argv[0] == "show" and argv.count("--") == 1, argv
            units = argv[argv.index("--") + 1 :]
            assert len(units) == 14, f"expected the 14-unit default allowlist, the server asked for {units}"

            def get() -> None:
                response = session.get(url, timeout=30)
                assert response.status_code == 200 and len(response.json()) == len(installed), response.text[:300]

            for _ in range(3):
                get()
            before = len(fake.invocations())
            samples = time_calls(get, repetitions=REPETITIONS, warmup=0)
            spawned = (len(fake.invocations()) - before) / REPETITIONS
            result.rows.append(
                Row(
                    "ours: GET services (14 units)",
                    samples,
                    {"processes/request": f"{spawned:.2f}", "units shown": str(len(installed))},
                )
            )
        child_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "SYSTEMD_COLORS": "0"}

        def bare() -> None:
            done = subprocess.run([str(fake.path), *argv], capture_output=True, env=child_env, check=False)
            assert done.returncode == 0 and done.stdout.count(b"Id=") == 14, done.stderr[:300]

        samples = time_calls(bare, repetitions=REPETITIONS)
        result.rows.append(Row("reference: one bare stand-in `systemctl show`", samples, {"processes/request": "1"}))
    result.ratio("ours / one bare systemctl show", result.rows[0].case, result.rows[1].case)
    # One `systemctl show` for all units, never one per unit; the list is kept a few seconds
    # (systemd.STATUS_CACHE_SECONDS), so most requests run none.
    goal = "goal at most 1 process per request: " + ("met" if spawned <= 1 else "MISSED") + f" ({spawned:.2f})"
    result.notes.append(goal)
    result.notes.append(f"server argv: systemctl {json.dumps(argv)[:200]}")
    result.save()
    return result


if __name__ == "__main__":
    main()

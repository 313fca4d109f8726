"""`bin/run` still starts everything with one command: daphne and the watcher beside it;
Ctrl-C (SIGINT to the terminal's process group) stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import requests

from tests.support.servers import REPO, clean_environ, free_port, wait_until


def test_bin_run_starts_the_dashboard_and_the_watcher_and_ctrl_c_stops_both(tmp_path):
    port = free_port()
    output = tmp_path / "run.log"
    env = clean_environ(
        WPDASH_DATA_DIR=str(tmp_path / "data"),
        WPDASH_PORT=str(port),
        WPDASH_ADMIN_PASSWORD="a long admin password 123",
        WPDASH_SYSTEMCTL="/bin/false",
        PYTHONUNBUFFERED="1",
    )
    with output.open("wb") as log:
        run = subprocess.Popen(
            [str(REPO / "bin" / "run")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until(
            lambda: "acts (it holds the lease)" in output.read_text(errors="replace"), timeout=180, message="watcher"
        )
        wait_until(
            lambda: f"http://127.0.0.1:{port}/" in output.read_text(errors="replace"), timeout=60, message="daphne"
        )
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        family = [psutil.Process(run.pid), *psutil.Process(run.pid).children(recursive=True)]
        commands = [" ".join(process.cmdline()) for process in family]
        assert any("manage.py watch" in command for command in commands), commands
        assert any("daphne" in command for command in commands), commands

        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        run.wait(timeout=60)
        time.sleep(0.5)
        assert [process.pid for process in family if process.is_running() and process.status() != "zombie"] == []
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
